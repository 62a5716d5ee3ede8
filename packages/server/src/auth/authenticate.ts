// Bearer authentication for /v3: the access token, the app behind it, and the merchant it acts for.
import type { AuthContext } from '../app/auth-ports.js';
import type { Storage } from '../app/ports.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { AccessTokenService } from './access-tokens.js';

const bearerPattern = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i;
/** An RS256 JWT with our claims is ~900 bytes; anything far larger is not ours. */
const tokenCharsMax = 8_192;

export async function authenticateBearer(
  storage: Storage,
  tokens: AccessTokenService,
  authorizationHeader: string | undefined,
): Promise<AuthContext> {
  if (!authorizationHeader) throw new CatalogError('TOKEN_INVALID', 'Authorization header with a Bearer access token is required');
  const match = authorizationHeader.length <= tokenCharsMax ? bearerPattern.exec(authorizationHeader) : null;
  if (!match?.[1]) throw new CatalogError('TOKEN_INVALID', 'Authorization header must be "Bearer <accessToken>"');
  const claims = await tokens.verify(match[1]);
  // The app is read on every call so a deactivated app or merchant loses access at once.
  const app = await storage.apps.get(claims.clientId);
  if (!app || !app.isActive) throw new CatalogError('TOKEN_INVALID', 'The application behind this token is not active');
  if (!app.merchantIsActive) throw new CatalogError('MERCHANT_INACTIVE', 'Merchant account is inactive: its applications cannot call the API until it is activated again');
  return {
    principal: { clientId: app.clientId, merchantId: claims.merchantId, userId: claims.userId },
    app,
    scopes: claims.scopes,
  };
}
