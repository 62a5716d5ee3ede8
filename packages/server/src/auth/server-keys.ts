// The server's own RSA key pair: signs access tokens and outgoing callbacks; shared by all processes via the db.
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { importSPKI, type CryptoKey } from 'jose';
import type { Storage } from '../app/ports.js';
import type { Clock } from '../lib/clock.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface ServerKeys {
  keyId: string;
  /** WebCrypto handle for jose's token verification (imported once at start-up). */
  verifyingKey: CryptoKey;
  /** Node handles: token and callback signing, the RM algorithm's checks. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
}

export async function loadServerKeys(storage: Storage, clock: Clock): Promise<ServerKeys> {
  let record = await storage.serverKeys.getNewest();
  if (!record) {
    const pair = await generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const createdAtMs = clock.nowMs();
    record = await storage.serverKeys.insertIfNone({
      keyId: new Date(createdAtMs).toISOString().slice(0, 10),
      privateKeyPem: pair.privateKey,
      publicKeyPem: pair.publicKey,
      createdAtMs,
    });
  }
  return {
    keyId: record.keyId,
    verifyingKey: await importSPKI(record.publicKeyPem, 'RS256'),
    privateKey: createPrivateKey(record.privateKeyPem),
    publicKey: createPublicKey(record.publicKeyPem),
    publicKeyPem: record.publicKeyPem,
  };
}
