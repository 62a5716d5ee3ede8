// Parsed public keys of client apps, so each PEM is parsed once per process, not once per request.
import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from '@tunai/client/signature';

/** Bounded so a stream of key uploads cannot grow memory without limit. */
const cachedKeysMax = 10_000;
const keysByPem = new Map<string, KeyObject>();

export function publicKeyFromPem(pem: string): KeyObject {
  const cached = keysByPem.get(pem);
  if (cached) return cached;
  const key = parsePublicKey(pem);
  if (keysByPem.size >= cachedKeysMax) keysByPem.clear();
  keysByPem.set(pem, key);
  return key;
}
