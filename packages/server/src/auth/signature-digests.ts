// Recovers signature digests on a worker thread, batched per event-loop turn, so RSA never runs on the event loop.
import type { KeyObject } from 'node:crypto';
import { recoverDigestFromBytes } from '@tunai/client/signature';
import { startTypeScriptWorker } from '../lib/ts-worker.js';
import { turnBatches } from '../lib/turn-batches.js';
import type { DigestBatch, DigestReply } from './digest-protocol.js';

export interface SignatureDigests {
  /** The SHA-256 digest the signature commits to under this key, or null when it is not a valid signature block. */
  recover(signature: Buffer, publicKey: KeyObject): Promise<Buffer | null>;
  close(): Promise<void>;
}

interface Pending {
  publicKey: KeyObject;
  signature: Buffer;
  resolve: (digest: Buffer | null) => void;
}

/** A batch never grows past this, so one message stays small and its reply quick. */
const itemsPerBatchMax = 256;
/** The worker forgets every key after this many, so key churn cannot grow its memory without limit. */
const keysPerGenerationMax = 10_000;

/**
 * One worker thread serves the whole process: requests arriving in the same turn of the event loop share one
 * message each way, so the event loop pays a structured clone per batch instead of an RSA operation per request.
 * If the worker dies, pending and later requests are answered on the calling thread: slower, never wrong.
 */
export function startSignatureDigestWorker(onBroken: (error: unknown) => void = () => {}): SignatureDigests {
  const worker = startTypeScriptWorker(new URL('./digest-worker.ts', import.meta.url));
  worker.unref();
  const keyIds = new WeakMap<KeyObject, number>();
  /** The key generation in which each key was last sent to the worker. */
  const sentInGeneration = new WeakMap<KeyObject, number>();
  let generation = 0;
  let keysSentThisGeneration = 0;
  let nextKeyId = 1;
  let nextBatchId = 1;
  const inFlight = new Map<number, Pending[]>();
  let broken = false;

  const answerInline = (items: Pending[]) => {
    for (const item of items) item.resolve(recoverDigestFromBytes(item.signature, item.publicKey));
  };
  const fail = (error: unknown) => {
    if (!broken) onBroken(error);
    broken = true;
    for (const items of inFlight.values()) answerInline(items);
    inFlight.clear();
    answerInline(batches.takeQueued());
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`signature digest worker exited with code ${code}`)));
  worker.on('message', (reply: DigestReply) => {
    const items = inFlight.get(reply.batchId);
    if (!items) return;
    inFlight.delete(reply.batchId);
    const digests = Buffer.from(reply.digests.buffer, reply.digests.byteOffset, reply.digests.byteLength);
    items.forEach((item, index) => {
      item.resolve(reply.found[index] === 1 ? digests.subarray(index * 32, index * 32 + 32) : null);
    });
    if (inFlight.size === 0) worker.unref();
  });

  const batches = turnBatches<Pending>(itemsPerBatchMax, (items) => {
    if (broken) return answerInline(items);
    const keyIdsOfItems = new Int32Array(items.length);
    const ends = new Int32Array(items.length);
    const signatureBytes = new Uint8Array(items.reduce((sum, item) => sum + item.signature.length, 0));
    const batch: DigestBatch = { batchId: nextBatchId++, resetKeys: false, newKeys: [], keyIds: keyIdsOfItems, signatureBytes, ends };
    if (keysSentThisGeneration + items.length > keysPerGenerationMax) {
      generation++;
      keysSentThisGeneration = 0;
      batch.resetKeys = true;
    }
    let offset = 0;
    items.forEach((item, index) => {
      let keyId = keyIds.get(item.publicKey);
      if (keyId === undefined) {
        keyId = nextKeyId++;
        keyIds.set(item.publicKey, keyId);
      }
      if (sentInGeneration.get(item.publicKey) !== generation) {
        sentInGeneration.set(item.publicKey, generation);
        keysSentThisGeneration++;
        batch.newKeys.push([keyId, item.publicKey]);
      }
      keyIdsOfItems[index] = keyId;
      signatureBytes.set(item.signature, offset);
      offset += item.signature.length;
      ends[index] = offset;
    });
    inFlight.set(batch.batchId, items);
    // Referenced while answers are owed, so a short-lived script still gets them; unreferenced when idle.
    worker.ref();
    worker.postMessage(batch, [keyIdsOfItems.buffer, signatureBytes.buffer, ends.buffer]);
  });

  return {
    recover(signature, publicKey) {
      if (broken) return Promise.resolve(recoverDigestFromBytes(signature, publicKey));
      return new Promise((resolve) => batches.add({ publicKey, signature, resolve }));
    },
    async close() {
      worker.removeAllListeners('exit');
      worker.removeAllListeners('error');
      await worker.terminate();
      broken = true;
      answerInline(batches.takeQueued());
      for (const items of inFlight.values()) answerInline(items);
      inFlight.clear();
    },
  };
}
