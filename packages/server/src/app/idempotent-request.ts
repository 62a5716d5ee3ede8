// Use case: a request carrying Idempotency-Key runs once per app and key; a retry gets the first answer again.
import { limits } from '@tunai/client/contract';
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps } from './deps.js';
import type { StoredAnswer } from './idempotency-ports.js';

/** What the caller does next: run the request under its claim, or send the stored answer. */
export type IdempotencyStart = { kind: 'run'; claimId: string } | { kind: 'replay'; answer: StoredAnswer };

export interface IdempotentRequest {
  clientId: string;
  key: string;
  /** Names the request (method, merchant, route, query, canonical body): the same key with another request is refused. */
  fingerprint: string;
  /** How long the request holds its key while it runs (see idempotencyLeaseMs). */
  leaseMs: number;
}

/** How the request ended, as far as a replay is concerned: the status and exact JSON sent, and the catalog code if refused. */
export type IdempotentAnswer = StoredAnswer & { code: string | null };

/** Visible ASCII only: the key travels in a header and is shown back in messages. */
const keyShape = /^[\x21-\x7e]+$/;

/**
 * Refusals that say "not now" before anything happened: the key is given up so that a retry with it runs again.
 * A 5xx is not replayed either, but its key is kept refused: the request may have moved money before it failed.
 */
const retryableCodes: ReadonlySet<string> = new Set(['PAYMENT_IN_PROCESS', 'TOO_MANY_REQUEST_PER_SECOND', 'EXCEEDED_LIMIT']);

/**
 * A key is held while its request runs for longer than that request can take, so a retry is told "still being
 * processed" until the request has answered or its process has died. The longest a keyed request waits is QuickPay's
 * configurable wait for the wallet (up to 120 s, the default lease itself): the lease is twice that wait, and never
 * below limits.idempotencyLeaseMs.
 */
export function idempotencyLeaseMs(quickPayWaitMs: number): number {
  return Math.max(limits.idempotencyLeaseMs, 2 * quickPayWaitMs);
}

function checkIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > limits.idempotencyKeyCharsMax || !keyShape.test(key)) {
    throw new CatalogError(
      'INVALID_REQUEST',
      `Invalid request: Idempotency-Key must be 1-${limits.idempotencyKeyCharsMax} visible ASCII characters`,
    );
  }
}

export async function startIdempotentRequest(deps: AppDeps, request: IdempotentRequest): Promise<IdempotencyStart> {
  checkIdempotencyKey(request.key);
  const nowMs = deps.clock.nowMs();
  const claimId = deps.ids.tokenId();
  const outcome = await deps.storage.idempotency.claim({
    clientId: request.clientId,
    key: request.key,
    fingerprint: request.fingerprint,
    claimId,
    nowMs,
    leaseUntilMs: nowMs + request.leaseMs,
    expiresAtMs: nowMs + limits.idempotencyKeyTtlMs,
  });
  if (outcome.kind === 'claimed') return { kind: 'run', claimId };
  const { record } = outcome;
  if (record.fingerprint !== request.fingerprint) {
    throw new CatalogError(
      'INVALID_REQUEST',
      'Invalid request: this Idempotency-Key was already used with a different request (method, path, query or body); use a new key',
      { httpStatus: 422 },
    );
  }
  if (record.answer === null && record.leaseUntilMs !== null && record.leaseUntilMs > nowMs) {
    throw new CatalogError(
      'INVALID_REQUEST',
      'Invalid request: a request with this Idempotency-Key is still being processed; retry after it has finished',
      { httpStatus: 409 },
    );
  }
  if (record.answer === null) {
    throw new CatalogError(
      'INVALID_REQUEST',
      'Invalid request: the first request with this Idempotency-Key ended without an answer (the server failed or stopped), ' +
        'so its outcome is unknown here; query it (e.g. the transaction by order id) and, if it did not happen, retry with a new key',
      { httpStatus: 409 },
    );
  }
  return { kind: 'replay', answer: record.answer };
}

/**
 * Keeps the answer for replay; gives the key up after a "not now" refusal; marks it ended without an answer after a
 * 5xx or when there is no answer at all.
 */
export async function finishIdempotentRequest(
  deps: AppDeps,
  request: IdempotentRequest,
  claimId: string,
  answer: IdempotentAnswer | null,
): Promise<void> {
  const { idempotency } = deps.storage;
  if (answer === null || answer.httpStatus >= 500) {
    await idempotency.abandon(request.clientId, request.key, claimId, deps.clock.nowMs());
  } else if (answer.code !== null && retryableCodes.has(answer.code)) {
    await idempotency.release(request.clientId, request.key, claimId);
  } else {
    await idempotency.complete(request.clientId, request.key, claimId, { httpStatus: answer.httpStatus, body: answer.body });
  }
}
