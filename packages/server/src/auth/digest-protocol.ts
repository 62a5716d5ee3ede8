// The messages between the event loop and the digest worker thread.
import type { KeyObject } from 'node:crypto';

export interface DigestBatch {
  batchId: number;
  /** Forget every key held so far before reading newKeys (bounds the worker's memory). */
  resetKeys: boolean;
  /** Keys the worker has not been sent yet; a KeyObject is cloned into the worker once, then named by id. */
  newKeys: [number, KeyObject][];
  /** Per item, the key it is checked with. */
  keyIds: Int32Array;
  /** All signatures back to back (transferred, not copied); item i is signatureBytes[ends[i-1] .. ends[i]). */
  signatureBytes: Uint8Array;
  ends: Int32Array;
}

export interface DigestReply {
  batchId: number;
  /** Item i's 32-byte digest at [32·i, 32·i + 32) when found[i] is 1. */
  digests: Uint8Array;
  /** 0 where the bytes are not a PKCS#1 v1.5 SHA-256 signature under the key. */
  found: Uint8Array;
}
