// The messages between the event loop and the RSA worker thread, and the operation both sides can run.
import { sign, type KeyObject } from 'node:crypto';
import { recoverDigestFromBytes } from '@tunai/client/signature';

/** What the worker does with one item's bytes and key. */
export const rsaOperations = {
  /** Open a signature with a public key: the SHA-256 digest it commits to (32 bytes), or nothing. */
  recoverDigest: 0,
  /** Sign the bytes with a private key: RSASSA-PKCS1-v1_5 over SHA-256. */
  signSha256: 1,
} as const;
export type RsaOperation = (typeof rsaOperations)[keyof typeof rsaOperations];

export interface RsaBatch {
  batchId: number;
  /** Forget every key held so far before reading newKeys (bounds the worker's memory). */
  resetKeys: boolean;
  /** Keys the worker has not been sent yet; a KeyObject is cloned into the worker once, then named by id. */
  newKeys: [number, KeyObject][];
  /** Per item, its operation (an RsaOperation). */
  operations: Uint8Array;
  /** Per item, the key it uses. */
  keyIds: Int32Array;
  /** All inputs back to back (transferred, not copied); item i is inputBytes[ends[i-1] .. ends[i]). */
  inputBytes: Uint8Array;
  ends: Int32Array;
}

export interface RsaReply {
  batchId: number;
  /** All outputs back to back; item i is outputBytes[ends[i-1] .. ends[i]), empty when it has none. */
  outputBytes: Uint8Array;
  ends: Int32Array;
  /** 0 where the item has no output: not a PKCS#1 v1.5 SHA-256 signature under the key, or the signing failed. */
  done: Uint8Array;
}

/** One item's operation: its output, or null (not a valid signature block under the key; a key that cannot sign). */
export function runRsaOperation(operation: number, input: Buffer, key: KeyObject): Buffer | null {
  if (operation === rsaOperations.recoverDigest) return recoverDigestFromBytes(input, key);
  try {
    return sign('sha256', input, key);
  } catch {
    return null;
  }
}
