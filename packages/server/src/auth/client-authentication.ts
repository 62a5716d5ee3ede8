// Authenticates a developer application from an HTTP Basic header (clientId:clientSecret).
import type { Storage, StoredClientApp } from '../app/ports.js';
import { CatalogError } from '../lib/catalog-error.js';
import { digestsEqual, sha256Hex } from '../lib/secrets.js';

export function parseBasicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | null {
  if (!header) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // NUL is in no client id or secret (and PostgreSQL text cannot hold it): unknown credentials, not a fault.
  if (colon <= 0 || decoded.includes('\u0000')) return null;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

export async function authenticateClient(storage: Storage, header: string | undefined): Promise<StoredClientApp> {
  const credentials = parseBasicCredentials(header);
  if (!credentials) {
    throw new CatalogError('INVALID_CLIENT', 'Authorization header must be Basic base64(clientId:clientSecret)');
  }
  const app = await storage.apps.get(credentials.clientId);
  // Hash even when the app is unknown so the response time does not reveal which client ids exist.
  const presentedHash = sha256Hex(credentials.clientSecret);
  if (!app || !digestsEqual(presentedHash, app.clientSecretHash)) {
    throw new CatalogError('INVALID_CLIENT', 'Invalid client: unknown clientId or wrong clientSecret');
  }
  if (!app.isActive) throw new CatalogError('INACTIVE_CLIENT');
  if (!app.merchantIsActive) throw new CatalogError('MERCHANT_INACTIVE', 'Merchant account is inactive: no token is issued until it is activated again');
  return app;
}
