// Worker thread: the process's RSA operations (opening request signatures, signing tokens), in batches, off the event loop.
import { parentPort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { runRsaOperation, type RsaBatch, type RsaReply } from './rsa-protocol.js';

const keysById = new Map<number, KeyObject>();

parentPort?.on('message', (batch: RsaBatch) => {
  if (batch.resetKeys) keysById.clear();
  for (const [keyId, key] of batch.newKeys) keysById.set(keyId, key);
  const count = batch.keyIds.length;
  const outputs: Buffer[] = [];
  const ends = new Int32Array(count);
  const done = new Uint8Array(count);
  const inputs = Buffer.from(batch.inputBytes.buffer, batch.inputBytes.byteOffset, batch.inputBytes.byteLength);
  let outputLength = 0;
  for (let index = 0; index < count; index++) {
    const key = keysById.get(batch.keyIds[index] as number);
    const start = index === 0 ? 0 : (batch.ends[index - 1] as number);
    const output = key ? runRsaOperation(batch.operations[index] as number, inputs.subarray(start, batch.ends[index]), key) : null;
    if (output) {
      outputs.push(output);
      outputLength += output.length;
      done[index] = 1;
    }
    ends[index] = outputLength;
  }
  const outputBytes = new Uint8Array(outputLength);
  let offset = 0;
  for (const output of outputs) {
    outputBytes.set(output, offset);
    offset += output.length;
  }
  const reply: RsaReply = { batchId: batch.batchId, outputBytes, ends, done };
  parentPort?.postMessage(reply, [outputBytes.buffer, ends.buffer, done.buffer]);
});
