// Storage port for Idempotency-Key: one row per (app, key) holding the request's fingerprint and, once done, its answer.

/** The answer a key replays: the HTTP status and the exact JSON text first sent. */
export interface StoredAnswer {
  httpStatus: number;
  body: string;
}

export interface IdempotencyKeyRecord {
  clientId: string;
  key: string;
  /** SHA-256 (hex) of the method, path with query and canonical body the key was first used with. */
  fingerprint: string;
  /** Set once the first request finished; null while it runs. */
  answer: StoredAnswer | null;
  /**
   * While the answer is null: the request is running until then. Past it, the request ended without an answer (its
   * process died, or it failed unexpectedly), and the key stays refused until it expires.
   */
  leaseUntilMs: number | null;
  expiresAtMs: number;
}

export interface IdempotencyClaim {
  clientId: string;
  key: string;
  fingerprint: string;
  /** Names this claim, so a request that outlived its key's day cannot store its answer over a newer claim's. */
  claimId: string;
  nowMs: number;
  leaseUntilMs: number;
  expiresAtMs: number;
}

export type ClaimOutcome = { kind: 'claimed' } | { kind: 'taken'; record: IdempotencyKeyRecord };

export interface IdempotencyStorage {
  /**
   * Takes the key for this request when it is new or its day has passed; otherwise answers with the row as it stands.
   * One conditional write decides, in every process.
   */
  claim(claim: IdempotencyClaim): Promise<ClaimOutcome>;
  /** Stores the answer under the claim; false when the claim no longer holds the key. */
  complete(clientId: string, key: string, claimId: string, answer: StoredAnswer): Promise<boolean>;
  /** Marks the claim as ended without an answer: the key stays refused, since the outcome is not known here. */
  abandon(clientId: string, key: string, claimId: string, nowMs: number): Promise<void>;
  /** Gives the key up (the request was refused before anything happened), if this claim still holds it. */
  release(clientId: string, key: string, claimId: string): Promise<void>;
  purgeExpired(nowMs: number): Promise<number>;
}
