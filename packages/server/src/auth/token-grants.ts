// The /v1/token grants: client credentials, refresh-token rotation and authorization-code exchange.
import { grantTypes, limits, type GrantType, type Scope, type TokenResponse } from '@tunai/client/contract';
import type { TokenRequestBody } from '../app/auth-ports.js';
import type { ClientAppRecord, Storage } from '../app/ports.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { Clock } from '../lib/clock.js';
import type { Ids } from '../lib/ids.js';
import { sha256Hex } from '../lib/secrets.js';
import type { AccessTokenService } from './access-tokens.js';

export interface TokenLifetimes {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export interface TokenGrantDeps {
  storage: Storage;
  clock: Clock;
  ids: Ids;
  tokens: AccessTokenService;
  lifetimes: TokenLifetimes;
}

function isGrantType(value: string): value is GrantType {
  return (grantTypes as readonly string[]).includes(value);
}

interface Grant {
  merchantId: string;
  userId: string;
  scopes: Scope[];
  familyId: string;
}

/** Raised inside the grant transaction so the revocation can run after its rollback. */
class CredentialReused extends Error {
  constructor(
    readonly familyId: string,
    readonly refusal: CatalogError,
  ) {
    super('credential reused');
  }
}

/**
 * The refresh-token family an authorization code starts, named after the code: a replayed code can then revoke
 * what the first exchange issued (RFC 6749 §4.1.2).
 */
function familyOfCode(codeHash: string): string {
  return `code-${codeHash.slice(0, 40)}`;
}

export async function grantToken(deps: TokenGrantDeps, app: ClientAppRecord, body: TokenRequestBody): Promise<TokenResponse> {
  const grantType = body.grantType;
  if (!isGrantType(grantType)) {
    throw new CatalogError('UNSUPPORTED_GRANT_TYPE', `Unsupported grant type "${grantType}"; use client_credentials, refresh_token or authorization_code`);
  }
  const refreshToken = deps.ids.refreshToken();
  let grant: Grant;
  try {
    // Spending the presented credential and storing its successor commit together: a racing reuse then
    // either waits for the successor (and revokes it with the family) or finds nothing to spend.
    const grantAndStore = async (storage: Storage) => {
      const txDeps = { ...deps, storage };
      const resolved = await resolveGrant(txDeps, app, grantType, body);
      await storeRefreshToken(txDeps, app, resolved, refreshToken);
      return resolved;
    };
    // client_credentials spends nothing: storing the new refresh token is its one write, atomic alone, so it needs
    // no db transaction (on PostgreSQL that saves `begin` and `commit`).
    grant = grantType === 'client_credentials' ? await grantAndStore(deps.storage) : await deps.storage.transaction(grantAndStore);
  } catch (error) {
    if (!(error instanceof CredentialReused)) throw error;
    // A rotated token or a spent code presented again means it leaked: revoke every refresh token descended from it.
    // A rotation of the same family may be in flight. Its new token is not in a statement's view (PostgreSQL
    // re-checks only the rows a statement started with), but the statement waits on the rotation's lock of the token
    // it spends, so it ends after that commit. Passes repeat until one revokes nothing: a pass that found no live
    // token saw no rotation in flight either, since a rotation spends a live token.
    for (let pass = 0; pass < limits.familyRevokePassesMax; pass += 1) {
      const revoked = await deps.storage.refreshTokens.revokeFamily(error.familyId, deps.clock.nowMs());
      if (revoked === 0) break;
    }
    throw error.refusal;
  }
  return tokenResponse(deps, app, grant, refreshToken);
}

async function resolveGrant(deps: TokenGrantDeps, app: ClientAppRecord, grantType: GrantType, body: TokenRequestBody): Promise<Grant> {
  const nowMs = deps.clock.nowMs();
  switch (grantType) {
    case 'client_credentials':
      return { merchantId: app.merchantId, userId: app.userId, scopes: [...app.scopes], familyId: deps.ids.tokenId() };
    case 'refresh_token': {
      if (!body.refreshToken) throw new CatalogError('INVALID_REQUEST', 'refreshToken is required for grantType refresh_token');
      // Only the app the token was issued to can spend it (RFC 6749 §6); another app's attempt changes nothing.
      const result = await deps.storage.refreshTokens.consume(sha256Hex(body.refreshToken), app.clientId, nowMs);
      if (result.kind === 'already-used') {
        throw new CredentialReused(result.record.familyId, new CatalogError('INVALID_GRANT', 'Refresh token was already used or revoked'));
      }
      if (result.kind === 'missing') {
        throw new CatalogError('INVALID_GRANT', 'Refresh token is invalid or expired');
      }
      const record = result.record;
      // Scopes never grow on refresh: keep only what the app still holds.
      const scopes = record.scopes.filter((s) => app.scopes.includes(s));
      return { merchantId: record.merchantId, userId: record.userId, scopes, familyId: record.familyId };
    }
    case 'authorization_code': {
      if (!body.code) throw new CatalogError('INVALID_REQUEST', 'code is required for grantType authorization_code');
      if (!body.redirectUri) throw new CatalogError('INVALID_REQUEST', 'redirectUri is required for grantType authorization_code');
      const codeHash = sha256Hex(body.code);
      const result = await deps.storage.authorizationCodes.consume(codeHash, app.clientId, nowMs);
      const refusal = new CatalogError('INVALID_CODE', 'Authorization code is invalid, expired or already used');
      if (result.kind === 'already-used') throw new CredentialReused(familyOfCode(codeHash), refusal);
      if (result.kind !== 'consumed') throw refusal;
      if (result.record.redirectUri !== body.redirectUri) {
        throw new CatalogError('INVALID_GRANT', 'redirectUri must be exactly the one used to obtain the code');
      }
      const scopes = result.record.scopes.filter((s) => app.scopes.includes(s));
      return { merchantId: result.record.merchantId, userId: result.record.userId, scopes, familyId: familyOfCode(codeHash) };
    }
  }
}

async function storeRefreshToken(deps: TokenGrantDeps, app: ClientAppRecord, grant: Grant, refreshToken: string): Promise<void> {
  const nowMs = deps.clock.nowMs();
  await deps.storage.refreshTokens.insert({
    tokenHash: sha256Hex(refreshToken),
    familyId: grant.familyId,
    clientId: app.clientId,
    merchantId: grant.merchantId,
    userId: grant.userId,
    scopes: grant.scopes,
    expiresAtMs: nowMs + deps.lifetimes.refreshTokenTtlSeconds * 1000,
    createdAtMs: nowMs,
    usedAtMs: null,
    revokedAtMs: null,
  });
}

/** The access token is signed after the commit: no database lock is held during RSA work. */
async function tokenResponse(deps: TokenGrantDeps, app: ClientAppRecord, grant: Grant, refreshToken: string): Promise<TokenResponse> {
  const { accessTokenTtlSeconds, refreshTokenTtlSeconds } = deps.lifetimes;
  const accessToken = await deps.tokens.issue(
    { clientId: app.clientId, merchantId: grant.merchantId, userId: grant.userId, scopes: grant.scopes },
    accessTokenTtlSeconds,
  );
  return {
    accessToken,
    tokenType: 'Bearer',
    expiresIn: Math.min(accessTokenTtlSeconds, limits.tokenTtlSecondsMax),
    refreshToken,
    refreshTokenExpiresIn: Math.min(refreshTokenTtlSeconds, limits.tokenTtlSecondsMax),
  };
}
