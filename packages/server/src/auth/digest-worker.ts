// Worker thread: opens RSA signatures (recovers the SHA-256 digest they commit to) in batches, off the event loop.
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { recoverDigestFromBytes } from '@tunai/client/signature';
import type { DigestBatch, DigestReply } from './digest-protocol.js';

const keysById = new Map<number, KeyObject>();

/** SHA-256 digests are this long; the reply packs one per item. */
const digestBytes = 32;

parentPort?.on('message', (batch: DigestBatch) => {
  if (batch.resetKeys) keysById.clear();
  for (const [keyId, key] of batch.newKeys) keysById.set(keyId, key);
  const count = batch.keyIds.length;
  const digests = new Uint8Array(count * digestBytes);
  const found = new Uint8Array(count);
  const all = Buffer.from(batch.signatureBytes.buffer, batch.signatureBytes.byteOffset, batch.signatureBytes.byteLength);
  for (let index = 0; index < count; index++) {
    const key = keysById.get(batch.keyIds[index] as number);
    const start = index === 0 ? 0 : (batch.ends[index - 1] as number);
    const digest = key ? recoverDigestFromBytes(all.subarray(start, batch.ends[index]), key) : null;
    if (digest) {
      digests.set(digest, index * digestBytes);
      found[index] = 1;
    }
  }
  const reply: DigestReply = { batchId: batch.batchId, digests, found };
  parentPort?.postMessage(reply, [digests.buffer, found.buffer]);
});
