// Access tokens: RS256 JWTs naming the app, merchant, user and scopes; issued and verified here only.
import { errors as joseErrors, jwtVerify } from 'jose';
import { isScope, type Scope } from '@tunai/client/contract';
import { CatalogError } from '../lib/catalog-error.js';
import type { Clock } from '../lib/clock.js';
import type { Ids } from '../lib/ids.js';
import type { RsaWork } from './rsa-work.js';
import type { ServerKeys } from './server-keys.js';

export interface AccessTokenClaims {
  clientId: string;
  merchantId: string;
  userId: string;
  scopes: Scope[];
}

export interface AccessTokenService {
  issue(claims: AccessTokenClaims, ttlSeconds: number): Promise<string>;
  verify(token: string): Promise<AccessTokenClaims>;
}

/** Verified tokens are remembered (bounded) so the RSA check runs once per token, not once per request. */
const verifiedTokensMax = 10_000;

interface VerifiedToken {
  claims: AccessTokenClaims;
  notBeforeSeconds: number;
  expiresAtSeconds: number;
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Tokens are signed by the RSA worker (a compact JWS is two base64url JSON parts and a signature, so jose's builder
 * is not needed for it); jose verifies them. WebCrypto's signing, which jose would use, runs each signature on the
 * libuv pool and cost this process about half as much CPU again per token as one thread signing synchronously.
 */
export function createAccessTokenService(keys: ServerKeys, rsa: RsaWork, clock: Clock, ids: Ids, issuer: string): AccessTokenService {
  const header = base64url({ alg: 'RS256', kid: keys.keyId, typ: 'JWT' });
  const verified = new Map<string, VerifiedToken>();

  function fromCache(token: string): AccessTokenClaims | null {
    const entry = verified.get(token);
    if (!entry) return null;
    // Time checks still run on every use, against the injected clock.
    const nowSeconds = clock.nowMs() / 1000;
    if (nowSeconds >= entry.expiresAtSeconds) throw new CatalogError('TOKEN_EXPIRED', 'Access token has expired');
    if (nowSeconds < entry.notBeforeSeconds) throw new CatalogError('TOKEN_INVALID');
    return entry.claims;
  }

  return {
    async issue(claims, ttlSeconds) {
      const nowSeconds = Math.floor(clock.nowMs() / 1000);
      const payload = base64url({
        cid: claims.clientId,
        mid: claims.merchantId,
        uid: claims.userId,
        scp: claims.scopes,
        iss: issuer,
        sub: `${claims.merchantId}:${claims.userId}`,
        aud: [`api_client@${claims.clientId}`],
        jti: ids.tokenId(),
        iat: nowSeconds,
        nbf: nowSeconds,
        exp: nowSeconds + ttlSeconds,
      });
      const signingInput = `${header}.${payload}`;
      const signature = await rsa.signSha256(Buffer.from(signingInput), keys.privateKey);
      return `${signingInput}.${signature.toString('base64url')}`;
    },
    async verify(token) {
      const cached = fromCache(token);
      if (cached) return cached;
      try {
        const { payload, protectedHeader } = await jwtVerify(token, keys.verifyingKey, {
          algorithms: ['RS256'],
          currentDate: new Date(clock.nowMs()),
        });
        if (protectedHeader.kid !== keys.keyId) throw new CatalogError('TOKEN_INVALID');
        const { cid, mid, uid, scp } = payload as Record<string, unknown>;
        if (typeof cid !== 'string' || typeof mid !== 'string' || typeof uid !== 'string' || !Array.isArray(scp)) {
          throw new CatalogError('TOKEN_INVALID');
        }
        const claims: AccessTokenClaims = {
          clientId: cid,
          merchantId: mid,
          userId: uid,
          scopes: scp.filter((s): s is Scope => typeof s === 'string' && isScope(s)),
        };
        if (verified.size >= verifiedTokensMax) verified.clear();
        verified.set(token, { claims, notBeforeSeconds: payload.nbf ?? 0, expiresAtSeconds: payload.exp ?? 0 });
        return claims;
      } catch (error) {
        if (error instanceof CatalogError) throw error;
        if (error instanceof joseErrors.JWTExpired) throw new CatalogError('TOKEN_EXPIRED', 'Access token has expired');
        throw new CatalogError('TOKEN_INVALID');
      }
    },
  };
}
