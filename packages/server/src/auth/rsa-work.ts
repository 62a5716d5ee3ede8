// The process's RSA operations on a worker thread, batched as they arrive, so RSA never runs on the event loop.
import type { KeyObject } from 'node:crypto';
import { startTypeScriptWorker } from '../lib/ts-worker.js';
import { turnBatches } from '../lib/turn-batches.js';
import { rsaOperations, runRsaOperation, type RsaBatch, type RsaOperation, type RsaReply } from './rsa-protocol.js';

export interface RsaWork {
  /** The SHA-256 digest the signature commits to under this key, or null when it is not a valid signature block. */
  recoverDigest(signature: Buffer, publicKey: KeyObject): Promise<Buffer | null>;
  /** RSASSA-PKCS1-v1_5 with SHA-256 over the bytes (an RS256 JWT's signature). */
  signSha256(data: Buffer, privateKey: KeyObject): Promise<Buffer>;
  close(): Promise<void>;
}

interface Pending {
  operation: RsaOperation;
  key: KeyObject;
  input: Buffer;
  resolve: (output: Buffer | null) => void;
}

/**
 * Eight items to a message, sent as soon as there are eight: at 32 connections that lifted signed GETs from ~11.8k
 * to ~13.9k req/s against one message per turn of up to 256 (2026-11-22).
 */
const itemsPerBatch = 8;
/** The worker forgets every key after this many, so key churn cannot grow its memory without limit. */
const keysPerGenerationMax = 10_000;

function signedOrThrow(output: Buffer | null): Buffer {
  if (!output) throw new Error('RSA signing failed');
  return output;
}

/**
 * One worker thread serves the whole process: operations asked for in the same turn of the event loop share one
 * message each way (up to itemsPerBatch per message), so the event loop pays a structured clone per batch
 * instead of an RSA operation per request.
 * If the worker dies, pending and later operations run on the calling thread: slower, never wrong.
 */
export function startRsaWorker(onBroken: (error: unknown) => void = () => {}): RsaWork {
  const worker = startTypeScriptWorker(new URL('./rsa-worker.ts', import.meta.url));
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

  /** The fallback when the worker is gone: the same operation on the calling thread. */
  const answerInline = (items: Pending[]) => {
    for (const item of items) item.resolve(runRsaOperation(item.operation, item.input, item.key));
  };
  const fail = (error: unknown) => {
    if (!broken) onBroken(error);
    broken = true;
    for (const items of inFlight.values()) answerInline(items);
    inFlight.clear();
    answerInline(batches.takeQueued());
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`RSA worker exited with code ${code}`)));
  worker.on('message', (reply: RsaReply) => {
    const items = inFlight.get(reply.batchId);
    if (!items) return;
    inFlight.delete(reply.batchId);
    const outputs = Buffer.from(reply.outputBytes.buffer, reply.outputBytes.byteOffset, reply.outputBytes.byteLength);
    items.forEach((item, index) => {
      const start = index === 0 ? 0 : (reply.ends[index - 1] as number);
      item.resolve(reply.done[index] === 1 ? outputs.subarray(start, reply.ends[index]) : null);
    });
    if (inFlight.size === 0) worker.unref();
  });

  const batches = turnBatches<Pending>(itemsPerBatch, (items) => {
    if (broken) return answerInline(items);
    const operations = new Uint8Array(items.length);
    const keyIdsOfItems = new Int32Array(items.length);
    const ends = new Int32Array(items.length);
    const inputBytes = new Uint8Array(items.reduce((sum, item) => sum + item.input.length, 0));
    const batch: RsaBatch = { batchId: nextBatchId++, resetKeys: false, newKeys: [], operations, keyIds: keyIdsOfItems, inputBytes, ends };
    if (keysSentThisGeneration + items.length > keysPerGenerationMax) {
      generation++;
      keysSentThisGeneration = 0;
      batch.resetKeys = true;
    }
    let offset = 0;
    items.forEach((item, index) => {
      let keyId = keyIds.get(item.key);
      if (keyId === undefined) {
        keyId = nextKeyId++;
        keyIds.set(item.key, keyId);
      }
      if (sentInGeneration.get(item.key) !== generation) {
        sentInGeneration.set(item.key, generation);
        keysSentThisGeneration++;
        batch.newKeys.push([keyId, item.key]);
      }
      operations[index] = item.operation;
      keyIdsOfItems[index] = keyId;
      inputBytes.set(item.input, offset);
      offset += item.input.length;
      ends[index] = offset;
    });
    inFlight.set(batch.batchId, items);
    // Referenced while answers are owed, so a short-lived script still gets them; unreferenced when idle.
    worker.ref();
    worker.postMessage(batch, [operations.buffer, keyIdsOfItems.buffer, inputBytes.buffer, ends.buffer]);
  });

  const submit = (operation: RsaOperation, input: Buffer, key: KeyObject): Promise<Buffer | null> => {
    if (broken) return Promise.resolve(runRsaOperation(operation, input, key));
    // A signature takes ~0.5 ms: the worker starts on it at once rather than idling until the turn ends.
    return new Promise((resolve) => batches.add({ operation, key, input, resolve }, operation === rsaOperations.signSha256));
  };

  return {
    recoverDigest: (signature, publicKey) => submit(rsaOperations.recoverDigest, signature, publicKey),
    signSha256: async (data, privateKey) => signedOrThrow(await submit(rsaOperations.signSha256, data, privateKey)),
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
