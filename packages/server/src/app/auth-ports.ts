// Ports the HTTP and web layers use to authenticate callers; auth/ implements them, main/ wires them.
import type { Scope, TokenResponse } from '@tunai/client/contract';
import type { Principal } from './deps.js';
import type { ClientAppRecord } from './ports.js';

export interface AuthContext {
  principal: Principal;
  app: ClientAppRecord;
  scopes: Scope[];
}

export interface SignedRequestParts {
  method: string;
  rawBody: string | undefined;
  parsedBody: unknown;
  signatureHeader: string | undefined;
  nonceHeader: string | undefined;
  timestampHeader: string | undefined;
  /** Absolute URL candidates, most likely first (configured public URLs, then as received). */
  requestUrls: string[];
}

export type SignatureOutcome = 'verified' | 'absent';

export interface OpenApiGuard {
  authenticate(authorizationHeader: string | undefined): Promise<AuthContext>;
  /** Throws a catalog error when a present signature fails, or when one is required and absent. */
  checkSignature(auth: AuthContext, request: SignedRequestParts, required: boolean): Promise<SignatureOutcome>;
}

export interface TokenRequestBody {
  grantType: string;
  refreshToken?: string | undefined;
  code?: string | undefined;
  redirectUri?: string | undefined;
}

export interface AuthorizeQuery {
  responseType?: string | undefined;
  clientId?: string | undefined;
  redirectUri?: string | undefined;
  scope?: string | undefined;
  state?: string | undefined;
}

/** What the consent page shows, and the signed ticket its form posts back. */
export interface ConsentView {
  appName: string;
  clientId: string;
  merchantName: string;
  redirectUri: string;
  scopes: Scope[];
  ticket: string;
}

export interface OAuthService {
  token(basicAuthorizationHeader: string | undefined, body: TokenRequestBody): Promise<TokenResponse>;
  prepareConsent(query: AuthorizeQuery): Promise<ConsentView>;
  /** Returns the URL to redirect the browser to (with code or error, and state). */
  decideConsent(ticket: string, approved: boolean): Promise<string>;
}
