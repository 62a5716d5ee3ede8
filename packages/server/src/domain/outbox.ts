// Outbox delivery rules: the retry schedule with jitter, when to give up, and what counts as delivered (pure).
import { limits } from '@tunai/client/contract';

/** One first attempt plus one per scheduled retry delay (12 with the documented schedule). */
export const webhookAttemptsMax = limits.webhookRetryDelaysMs.length + 1;

/**
 * The wait after `attemptsDone` failed attempts before the next one: the schedule's delay spread uniformly by
 * ±webhookJitterRatio, so receivers that come back are not hit by every queued event at the same instant.
 * `random` returns a number in [0, 1) (injected, so tests can pin it).
 */
export function retryDelayMs(attemptsDone: number, random: () => number): number {
  if (!Number.isInteger(attemptsDone) || attemptsDone < 1 || attemptsDone >= webhookAttemptsMax) {
    throw new RangeError(`retryDelayMs: attemptsDone must be 1..${webhookAttemptsMax - 1} (got ${attemptsDone})`);
  }
  const baseMs = limits.webhookRetryDelaysMs[attemptsDone - 1] as number;
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`retryDelayMs: random() must be in [0, 1) (got ${r})`);
  const spread = limits.webhookJitterRatio * (2 * r - 1);
  return Math.round(baseMs * (1 + spread));
}

/** The schedule's bounds for the wait after `attemptsDone` attempts (what jitter can produce). */
export function retryDelayBoundsMs(attemptsDone: number): { minMs: number; maxMs: number } {
  const baseMs = limits.webhookRetryDelaysMs[attemptsDone - 1];
  if (baseMs === undefined) throw new RangeError(`no retry after ${attemptsDone} attempts`);
  return { minMs: Math.round(baseMs * (1 - limits.webhookJitterRatio)), maxMs: Math.round(baseMs * (1 + limits.webhookJitterRatio)) };
}

export type AfterFailure = { status: 'PENDING'; nextAttemptAtMs: number } | { status: 'FAILED' };

/**
 * What a failed attempt leaves: another attempt later, or FAILED once `attemptsDone` reaches webhookAttemptsMax.
 * A manual re-send of a FAILED event is one more attempt, so its failure is final again at once.
 */
export function nextAfterFailure(attemptsDone: number, nowMs: number, random: () => number): AfterFailure {
  if (attemptsDone >= webhookAttemptsMax) return { status: 'FAILED' };
  return { status: 'PENDING', nextAttemptAtMs: nowMs + retryDelayMs(attemptsDone, random) };
}

/** Only a 2xx answer is a delivery; a redirect is not followed and counts as a failure. */
export function isDelivered(httpStatus: number | null): boolean {
  return httpStatus !== null && httpStatus >= 200 && httpStatus <= 299;
}

/** Trims recorded text (a receiver's body excerpt, a network error) to what an attempt keeps. */
export function errorExcerpt(text: string): string {
  // Control characters go with the whitespace: a receiver's NUL cannot be stored in PostgreSQL text, and an attempt
  // that cannot be recorded would keep its lease and be retried every lease lapse, never reaching FAILED.
  const clean = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  if (clean.length <= limits.webhookErrorCharsMax) return clean;
  let cut = clean.slice(0, limits.webhookErrorCharsMax - 1);
  // Never leave half a surrogate pair at the cut.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
