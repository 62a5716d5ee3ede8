// Assembles the auth ports (OpenApiGuard, OAuthService) from the token, grant, consent and signature parts.
import type { AuthContext, OAuthService, OpenApiGuard } from '../app/auth-ports.js';
import type { Storage } from '../app/ports.js';
import type { Clock } from '../lib/clock.js';
import type { Ids } from '../lib/ids.js';
import { createAccessTokenService } from './access-tokens.js';
import { authenticateBearer } from './authenticate.js';
import { approveConsent, ConsentTickets, denyConsent, validateAuthorizationRequest } from './authorization-codes.js';
import { authenticateClient } from './client-authentication.js';
import { checkRequestSignature } from './request-signatures.js';
import type { ServerKeys } from './server-keys.js';
import type { RsaWork } from './rsa-work.js';
import { grantToken, type TokenLifetimes } from './token-grants.js';

export interface AuthConfig {
  issuer: string;
  lifetimes: TokenLifetimes;
  timestampWindowSeconds: number;
  sandbox: boolean;
  /** Where RSA runs (request signatures opened, tokens signed): the process's RSA worker thread. */
  rsa: RsaWork;
  /** Reads the sandbox's shared clock offset now (see SignatureCheckDeps.catchUpClock). */
  catchUpClock?: () => Promise<void>;
}

/** Consent pages are filled in by a person; ten minutes is plenty and keeps tickets short-lived. */
const consentTicketTtlSeconds = 600;

export function createAuthServices(
  storage: Storage,
  clock: Clock,
  ids: Ids,
  keys: ServerKeys,
  config: AuthConfig,
): { guard: OpenApiGuard; oauth: OAuthService } {
  const tokens = createAccessTokenService(keys, config.rsa, clock, ids, config.issuer);
  // Keyed from the private key, which every process shares and nobody outside holds.
  const tickets = new ConsentTickets(keys.privateKey.export({ type: 'pkcs8', format: 'der' }), clock);
  const signatureDeps = {
    storage,
    clock,
    timestampWindowSeconds: config.timestampWindowSeconds,
    rsa: config.rsa,
    includeDebug: config.sandbox,
    ...(config.catchUpClock ? { catchUpClock: config.catchUpClock } : {}),
  };

  const guard: OpenApiGuard = {
    authenticate: (header) => authenticateBearer(storage, tokens, header),
    checkSignature: (auth: AuthContext, request, required) =>
      checkRequestSignature(signatureDeps, auth.app, request, required || auth.app.requireSignature),
  };

  const oauth: OAuthService = {
    async token(header, body) {
      const app = await authenticateClient(storage, header);
      return grantToken({ storage, clock, ids, tokens, lifetimes: config.lifetimes }, app, body);
    },
    async prepareConsent(query) {
      const request = await validateAuthorizationRequest(storage, query);
      const merchant = await storage.merchants.get(request.app.merchantId);
      return {
        appName: request.app.name,
        clientId: request.app.clientId,
        merchantName: merchant?.companyName ?? '',
        redirectUri: request.redirectUri,
        scopes: request.scopes,
        ticket: tickets.issue(request, consentTicketTtlSeconds, ids.tokenId()),
      };
    },
    async decideConsent(ticket, approved) {
      return approved ? approveConsent({ storage, clock, ids }, tickets, ticket) : denyConsent({ storage, clock }, tickets, ticket);
    },
  };
  return { guard, oauth };
}
