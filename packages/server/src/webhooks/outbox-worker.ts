// Runs delivery sweeps per process: on an interval, when woken after a commit, or on demand. A sweep only claims; the
// attempts it starts run on their own (at most inFlightMax at once), so a hanging receiver never holds up the next sweep.
import type { Logger } from 'pino';
import { limits } from '@tunai/client/contract';
import { monotonicMs } from '../lib/clock.js';
import { failureStreak } from '../lib/failure-streak.js';
import type { StartedAttempts } from './deliver.js';

export interface OutboxWorker {
  /**
   * Runs a sweep that starts no earlier than this call (joins the one queued behind a claim phase in flight) and
   * resolves to how many attempts it started, once those and every other attempt this process had in flight when its
   * claims were made are recorded (tests, POST /sandbox/outbox/run). Events it left for want of their receiver's slots
   * (webhookInFlightPerReceiverMax) go in the sweeps that each ending attempt asks for; they are not waited for, so a
   * receiver that never answers cannot hold the caller for more than one timeout.
   * Only these callers wait; interval and wake-up sweeps never do. Resolves to 0 after close().
   */
  runOnce(): Promise<number>;
  /** Asks for a sweep soon (after the current I/O turn); coalesced, never overlapping another claim phase. */
  wake(): void;
  /** Starts the periodic sweep (when intervalMs > 0). */
  start(): void;
  /** Stops the interval and wake-ups, then waits for the claim phases and every attempt in flight to be recorded. */
  close(): Promise<void>;
  /** Attempts this process has under way now. */
  inFlight(): number;
}

interface Sweep {
  started: number;
  /** Every attempt this sweep started, and every one already in flight when it claimed, is recorded. */
  settled: Promise<void>;
}

export function createOutboxWorker(options: {
  /** One claim phase: claims at most `slots` due events, starts their attempts, and resolves once the claims are made. */
  startDue: (slots: number) => Promise<StartedAttempts>;
  /** Attempts under way at once in this process (webhookInFlightMax); due events beyond it wait for a free slot. */
  inFlightMax: number;
  /** 0: no periodic sweep (wake-ups and runOnce still deliver). */
  intervalMs: number;
  logger: Pick<Logger, 'error' | 'info'>;
}): OutboxWorker {
  // Below 1 no sweep could ever claim (nothing would be delivered, silently); a fraction or NaN would not cap at all.
  if (!Number.isInteger(options.inFlightMax) || options.inFlightMax < 1) {
    throw new RangeError(`inFlightMax must be a whole number of at least 1 (got ${options.inFlightMax})`);
  }
  // Interval and wake-up sweeps report how they ended here: one log line per outage, not one per sweep.
  const sweepFailures = failureStreak({ logger: options.logger, what: 'outbox sweep', nowMs: monotonicMs, repeatEveryMs: limits.backgroundFailureLogRepeatMs });
  const attempts = new Set<Promise<void>>();
  let claiming: Promise<Sweep> | null = null;
  let queued: Promise<Sweep> | null = null;
  let wakeScheduled = false;
  let closed = false;
  /** A sweep left due events unclaimed for want of a slot: the next attempt to finish asks for another sweep. */
  let starved = false;

  const track = (started: StartedAttempts): Sweep => {
    const mine = started.attempts.map((done) => {
      const tracked: Promise<void> = done.then(
        (dueAgain) => {
          attempts.delete(tracked);
          // A re-send during the attempt left the event due now; a freed slot may take what the cap held back.
          if (dueAgain || starved) {
            starved = false;
            wake();
          }
        },
        (error: unknown) => {
          attempts.delete(tracked);
          options.logger.error({ err: error }, 'outbox attempt failed');
        },
      );
      attempts.add(tracked);
      return tracked;
    });
    // Events left for want of their receiver's slot: the next attempt to finish asks for a sweep that may take them.
    if (started.heldBack) starved = true;
    if (started.full) {
      // The due list filled the room, so more may be due: with slots still free (the batch was the limit) sweep again
      // at once, as long as this one made progress; with none free, the next attempt to finish asks for the sweep.
      if (options.inFlightMax - attempts.size <= 0) starved = true;
      else if (mine.length > 0) wake();
    }
    // An event a wake-up claimed a moment before runOnce was called is still what the caller means by "due".
    return { started: mine.length, settled: Promise.all([...attempts]).then(() => undefined) };
  };

  const claim = (): Promise<Sweep> => {
    const slots = Math.max(0, options.inFlightMax - attempts.size);
    const run = options
      .startDue(slots)
      .then(track)
      .finally(() => {
        if (claiming === run) claiming = null;
      });
    claiming = run;
    return run;
  };

  /** Claim phases run one at a time per process; a caller during one gets the next (it may have read the list early). */
  const nextSweep = (): Promise<Sweep> => {
    if (queued) return queued;
    if (!claiming) return claim();
    queued = claiming
      .catch(() => null)
      .then(() => {
        queued = null;
        return claim();
      });
    return queued;
  };

  const runOnce = async (): Promise<number> => {
    if (closed) return 0;
    const sweep = await nextSweep();
    await sweep.settled;
    return sweep.started;
  };

  // Wake-ups and ticks that come while a sweep is queued join it; the streak counts the sweep once.
  const background = (): void => {
    if (!closed) sweepFailures.watch(nextSweep());
  };

  function wake(): void {
    if (closed || wakeScheduled) return;
    wakeScheduled = true;
    setImmediate(() => {
      wakeScheduled = false;
      background();
    });
  }

  let timer: NodeJS.Timeout | null = null;

  return {
    runOnce,
    wake,
    inFlight: () => attempts.size,
    start() {
      if (closed || timer || options.intervalMs <= 0) return;
      timer = setInterval(background, options.intervalMs);
      timer.unref();
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      // Claims already made start their attempts; each attempt ends within the webhook timeout and is recorded, so
      // no lease is left to lapse. A claim phase queued before close still runs (a runOnce caller is waiting on it).
      while (queued || claiming || attempts.size > 0) {
        await queued?.catch(() => null);
        await claiming?.catch(() => null);
        await Promise.all(attempts);
      }
    },
  };
}
