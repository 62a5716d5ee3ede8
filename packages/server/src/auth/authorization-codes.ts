// The browser consent flow (/authorize): request validation, a tamper-proof consent ticket, and code issue.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { limits, type Scope } from '@tunai/client/contract';
import type { AuthorizeQuery } from '../app/auth-ports.js';
import type { ClientAppRecord, Storage } from '../app/ports.js';
import { grantedScopes, parseScopeList } from '../domain/scopes.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { Clock } from '../lib/clock.js';
import type { Ids } from '../lib/ids.js';
import { sha256Hex } from '../lib/secrets.js';

export interface AuthorizationRequest {
  app: ClientAppRecord;
  redirectUri: string;
  scopes: Scope[];
  state: string;
}

export async function validateAuthorizationRequest(storage: Storage, query: AuthorizeQuery): Promise<AuthorizationRequest> {
  if (query.responseType !== 'code') {
    throw new CatalogError('UNSUPPORTED_RESPONSE_TYPE', 'responseType must be "code"');
  }
  if (!query.clientId) throw new CatalogError('INVALID_REQUEST', 'clientId is required');
  const app = await storage.apps.get(query.clientId);
  if (!app) throw new CatalogError('INVALID_CLIENT');
  if (!app.isActive) throw new CatalogError('INACTIVE_CLIENT');
  if (!app.merchantIsActive) throw new CatalogError('MERCHANT_INACTIVE');
  const redirectUri = query.redirectUri ?? '';
  if (redirectUri.length === 0 || redirectUri.length > limits.redirectUriCharsMax || !app.redirectUris.includes(redirectUri)) {
    throw new CatalogError('INVALID_GRANT', 'redirectUri must be exactly one of the redirect URIs registered for this application');
  }
  // Refused whole, never cut: a cut can end inside a name and leave another scope ("manage_loyalty_voucher" →
  // "manage_loyalty") that the application never asked for.
  const scopeParam = query.scope ?? '';
  if (scopeParam.length > limits.scopeParamCharsMax) {
    throw new CatalogError('INVALID_SCOPE', `scope must be at most ${limits.scopeParamCharsMax} characters`);
  }
  const requested = parseScopeList(scopeParam);
  const scopes = requested ? grantedScopes(requested, app.scopes) : null;
  if (!scopes) throw new CatalogError('INVALID_SCOPE', 'scope must be a comma-separated list of scopes granted to this application');
  const state = query.state ?? '';
  if (state.length > limits.oauthStateCharsMax) throw new CatalogError('INVALID_REQUEST', 'state is too long');
  return { app, redirectUri, scopes, state };
}

interface TicketPayload {
  clientId: string;
  redirectUri: string;
  scopes: Scope[];
  state: string;
  expiresAtMs: number;
  /** Random: the ticket is spent (approved or denied) once, recorded like a request nonce. */
  ticketId: string;
}

/** Consent tickets are HMAC-signed so a forged POST cannot approve scopes the page never showed. */
export class ConsentTickets {
  private readonly hmacKey: Buffer;
  constructor(
    secretMaterial: Buffer,
    private readonly clock: Clock,
  ) {
    this.hmacKey = createHmac('sha256', 'tunai-consent-ticket').update(secretMaterial).digest();
  }

  issue(request: AuthorizationRequest, ttlSeconds: number, ticketId: string): string {
    const payload: TicketPayload = {
      clientId: request.app.clientId,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
      state: request.state,
      expiresAtMs: this.clock.nowMs() + ttlSeconds * 1000,
      ticketId,
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  open(ticket: string): TicketPayload {
    const [body, mac] = ticket.split('.');
    if (!body || !mac) throw new CatalogError('INVALID_REQUEST', 'Consent ticket is malformed');
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new CatalogError('INVALID_REQUEST', 'Consent ticket is invalid');
    }
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TicketPayload;
    if (typeof payload.ticketId !== 'string') throw new CatalogError('INVALID_REQUEST', 'Consent ticket is invalid; start again');
    if (payload.expiresAtMs <= this.clock.nowMs()) throw new CatalogError('INVALID_REQUEST', 'Consent ticket has expired; start again');
    return payload;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.hmacKey).update(body).digest('base64url');
  }
}

export interface IssueCodeDeps {
  storage: Storage;
  clock: Clock;
  ids: Ids;
}

/**
 * Spends the ticket: one consent page answers once, approved or denied, in every process. Spent tickets share the
 * request-nonce table under a client id no app can have, and expire with the ticket.
 */
async function spendTicket(deps: Pick<IssueCodeDeps, 'storage' | 'clock'>, payload: TicketPayload): Promise<void> {
  const fresh = await deps.storage.nonces.claim(`consent:${payload.clientId}`, payload.ticketId, deps.clock.nowMs(), payload.expiresAtMs);
  if (!fresh) throw new CatalogError('INVALID_REQUEST', 'This consent page was already answered; start again from the application');
}

/** Approves a consent ticket: stores a single-use code and returns the redirect target. */
export async function approveConsent(deps: IssueCodeDeps, tickets: ConsentTickets, ticket: string): Promise<string> {
  const payload = tickets.open(ticket);
  await spendTicket(deps, payload);
  const app = await deps.storage.apps.get(payload.clientId);
  if (!app || !app.isActive) throw new CatalogError('INVALID_CLIENT');
  if (!app.merchantIsActive) throw new CatalogError('MERCHANT_INACTIVE');
  const code = deps.ids.authorizationCode();
  const nowMs = deps.clock.nowMs();
  // In the sandbox the consenting merchant is the application's own merchant and its owner user.
  await deps.storage.authorizationCodes.insert({
    codeHash: sha256Hex(code),
    clientId: app.clientId,
    merchantId: app.merchantId,
    userId: app.userId,
    redirectUri: payload.redirectUri,
    scopes: payload.scopes.filter((s) => app.scopes.includes(s)),
    expiresAtMs: nowMs + limits.authorizationCodeTtlSeconds * 1000,
    createdAtMs: nowMs,
    usedAtMs: null,
  });
  return withQuery(payload.redirectUri, { code, state: payload.state });
}

export async function denyConsent(deps: Pick<IssueCodeDeps, 'storage' | 'clock'>, tickets: ConsentTickets, ticket: string): Promise<string> {
  const payload = tickets.open(ticket);
  await spendTicket(deps, payload);
  return withQuery(payload.redirectUri, { error: 'access_denied', state: payload.state });
}

function withQuery(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [key, value] of Object.entries(params)) {
    if (value !== '' || key !== 'state') url.searchParams.set(key, value);
  }
  return url.toString();
}
