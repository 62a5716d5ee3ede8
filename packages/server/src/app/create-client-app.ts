// Use case: register a developer application (client credentials, scopes, public key) for a merchant.
import { allScopes, limits, type Scope } from '@tunai/client/contract';
import { parsePublicKey } from '@tunai/client/signature';
import { CatalogError } from '../lib/catalog-error.js';
import { keySizeProblem } from '../lib/rsa-keys.js';
import { sha256Hex } from '../lib/secrets.js';
import type { AppDeps } from './deps.js';
import type { ClientAppRecord } from './ports.js';

export interface CreateClientAppInput {
  merchantId: string;
  name?: string;
  publicKeyPem?: string | null;
  scopes?: readonly Scope[];
  redirectUris?: readonly string[];
  requireSignature?: boolean;
}

export interface CreatedClientApp {
  app: ClientAppRecord;
  /** Shown once; only its SHA-256 digest is stored. */
  clientSecret: string;
}

export async function createClientApp(deps: AppDeps, input: CreateClientAppInput): Promise<CreatedClientApp> {
  if (input.publicKeyPem) {
    let publicKey;
    try {
      publicKey = parsePublicKey(input.publicKeyPem);
    } catch {
      throw new CatalogError('INVALID_PUBLIC_KEY');
    }
    // Every signed request of the app opens its signature with this key, on the worker all apps share.
    const sizeProblem = keySizeProblem(publicKey, 'public');
    if (sizeProblem) throw new CatalogError('INVALID_PUBLIC_KEY', sizeProblem);
  }
  for (const uri of input.redirectUris ?? []) checkRedirectUri(uri);
  const merchant = await deps.storage.merchants.get(input.merchantId);
  if (!merchant) throw new CatalogError('MERCHANT_NOT_FOUND');
  // The app acts for the merchant's owner: the first user created with the merchant.
  const owner = await findOwner(deps, input.merchantId);
  const nowMs = deps.clock.nowMs();
  const clientSecret = deps.ids.clientSecret();
  const fields: Omit<ClientAppRecord, 'clientId'> = {
    merchantId: input.merchantId,
    userId: owner,
    name: input.name ?? 'Developer application',
    clientSecretHash: sha256Hex(clientSecret),
    publicKeyPem: input.publicKeyPem ?? null,
    scopes: [...(input.scopes ?? allScopes)],
    redirectUris: [...(input.redirectUris ?? [])],
    requireSignature: input.requireSignature ?? false,
    isActive: true,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
  // In a transaction so that a client id another process also drew is drawn again (see Storage.transaction).
  const app = await deps.storage.transaction(async (storage) => {
    const drawn: ClientAppRecord = { clientId: deps.ids.numericId(), ...fields };
    await storage.apps.insert(drawn);
    return drawn;
  });
  return { app, clientSecret };
}

async function findOwner(deps: AppDeps, merchantId: string): Promise<string> {
  const ownerId = await deps.storage.users.ownerOf(merchantId);
  if (!ownerId) throw new CatalogError('USER_NOT_FOUND');
  return ownerId;
}

/**
 * Schemes a browser runs or reads locally instead of navigating to an app: consent would hand the code to script.
 * http(s) and an app's own scheme (`com.example.app:/callback`, RFC 8252) are what redirect URIs are for.
 */
const scriptSchemes: ReadonlySet<string> = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

/** A registered redirect URI: absolute, no fragment (RFC 6749 §3.1.2), not a script scheme, within the length limit. */
function checkRedirectUri(uri: string): void {
  if (uri.length === 0 || uri.length > limits.redirectUriCharsMax) {
    throw new CatalogError('VALIDATION_ERROR', `redirect URI must be 1 to ${limits.redirectUriCharsMax} characters`);
  }
  if (!URL.canParse(uri)) throw new CatalogError('VALIDATION_ERROR', `redirect URI is not an absolute URL: ${uri}`);
  const url = new URL(uri);
  if (scriptSchemes.has(url.protocol)) {
    throw new CatalogError('VALIDATION_ERROR', `redirect URI must not use the ${url.protocol} scheme: ${uri}`);
  }
  if (uri.includes('#')) throw new CatalogError('VALIDATION_ERROR', `redirect URI must not contain a fragment (#): ${uri}`);
}
