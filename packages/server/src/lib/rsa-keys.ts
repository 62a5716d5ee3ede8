// RSA key-pair generation in the PEM forms RM's portal and SDKs use (PKCS#1 private, SPKI public).
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { limits } from '@tunai/client/contract';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface RsaKeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export async function generateRsaKeyPairPem(modulusBits = 2048): Promise<RsaKeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: modulusBits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** An RSA key's modulus in bits (0 when the key says nothing, which no RSA key does). */
function modulusBitsOf(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0;
}

/**
 * A message for a key whose modulus is outside [minBits, limits.rsaModulusBitsMax], or null when its size is accepted.
 * Checking a signature works with any key size (RM's own verify example uses a 511-bit key), so the tool's verify
 * passes 0; making or expecting working signatures needs limits.rsaModulusBitsMin.
 */
export function keySizeProblem(key: KeyObject, what: 'private' | 'public', minBits: number = limits.rsaModulusBitsMin): string | null {
  const bits = modulusBitsOf(key);
  if (bits >= minBits && bits <= limits.rsaModulusBitsMax) return null;
  const accepted = minBits > 0 ? `${minBits} to ${limits.rsaModulusBitsMax}` : `at most ${limits.rsaModulusBitsMax}`;
  return `Invalid ${what} key: RSA keys of ${accepted} bits are accepted, this one has ${bits}`;
}
