// The messages between the event loop and the nonce worker thread (SQLite only).
export type NonceRequest =
  | { kind: 'claim'; batchId: number; clientIds: string[]; nonces: string[]; nowMs: number[]; expiresAtMs: number[] }
  | { kind: 'purge'; batchId: number; nowMs: number };

export type NonceReply =
  /** claim: 1 where the nonce was fresh (now spent and committed), 0 where it was already spent within its window. */
  | { batchId: number; fresh: Uint8Array }
  | { batchId: number; purged: number }
  | { batchId: number; error: string };
