// Logs a background job's failures once per outage instead of once per tick, and says when it recovers.
import type { Logger } from 'pino';

export interface FailureStreak {
  /** A run failed: logged if it starts a streak, or if the last line about this streak is repeatEveryMs old. */
  failed(error: unknown): void;
  /** A run succeeded: ends a streak with one line saying how long it lasted and how many runs failed. */
  succeeded(): void;
  /**
   * Reports how a run ends, once per run: a slow run is handed back to the interval calls that come while it goes
   * on, and those add nothing, so the streak counts runs, not calls.
   */
  watch(run: Promise<unknown>): void;
}

/**
 * The closed loop and the outbox sweep run every second. While the database is down each run fails the same way,
 * and logging each one buried everything else under a line a second (each with a stack). Now the first failure is
 * logged as it was; while the failures go on, one reminder per repeatEveryMs carries the latest error and the count;
 * the first success after them is logged once at info.
 */
export function failureStreak(options: {
  logger: Pick<Logger, 'error' | 'info'>;
  /** What failed, as the log says it: "closed-loop tick", "outbox sweep". */
  what: string;
  nowMs: () => number;
  repeatEveryMs: number;
}): FailureStreak {
  let streak: { sinceMs: number; failures: number; lastLoggedMs: number } | null = null;
  const failed = (error: unknown): void => {
    const nowMs = options.nowMs();
    if (!streak) {
      streak = { sinceMs: nowMs, failures: 1, lastLoggedMs: nowMs };
      options.logger.error({ err: error }, `${options.what} failed`);
      return;
    }
    streak.failures += 1;
    if (nowMs - streak.lastLoggedMs >= options.repeatEveryMs) {
      streak.lastLoggedMs = nowMs;
      options.logger.error({ err: error, failures: streak.failures, failingForMs: nowMs - streak.sinceMs }, `${options.what} still failing`);
    }
  };
  const succeeded = (): void => {
    if (!streak) return;
    const { sinceMs, failures } = streak;
    streak = null;
    options.logger.info({ failures, failingForMs: options.nowMs() - sinceMs }, `${options.what} recovered`);
  };
  const watched = new WeakSet<Promise<unknown>>();
  return {
    failed,
    succeeded,
    watch(run) {
      if (watched.has(run)) return;
      watched.add(run);
      run.then(succeeded, failed);
    },
  };
}
