// Runs delivery sweeps one at a time per process: on an interval, when woken after a commit, or on demand.
import type { Logger } from 'pino';

export interface OutboxWorker {
  /** Runs a sweep that starts no earlier than this call (joins the one queued behind a sweep in flight). */
  runOnce(): Promise<number>;
  /** Asks for a sweep soon (after the current I/O turn); coalesced, never overlapping. */
  wake(): void;
  /** Starts the periodic sweep (when intervalMs > 0). */
  start(): void;
  /** Stops the interval and wake-ups, then waits for the sweep in flight and any queued behind it. */
  close(): Promise<void>;
}

export function createOutboxWorker(options: {
  sweep: () => Promise<number>;
  /** 0: no periodic sweep (wake-ups and runOnce still deliver). */
  intervalMs: number;
  logger: Pick<Logger, 'error'>;
}): OutboxWorker {
  let inFlight: Promise<number> | null = null;
  let queued: Promise<number> | null = null;
  let wakeScheduled = false;
  let closed = false;

  const start = (): Promise<number> => {
    const run = options.sweep().finally(() => {
      if (inFlight === run) inFlight = null;
    });
    inFlight = run;
    return run;
  };

  const runOnce = (): Promise<number> => {
    if (queued) return queued;
    if (!inFlight) return start();
    // A sweep in flight may have read the due list before the caller's change (a commit, a moved clock): queue one more.
    queued = inFlight
      .catch(() => 0)
      .then(() => {
        queued = null;
        return start();
      });
    return queued;
  };

  const background = (): void => {
    if (closed) return;
    runOnce().catch((error: unknown) => options.logger.error({ err: error }, 'outbox sweep failed'));
  };

  let timer: NodeJS.Timeout | null = null;

  return {
    runOnce,
    start() {
      if (closed || timer || options.intervalMs <= 0) return;
      timer = setInterval(background, options.intervalMs);
      timer.unref();
    },
    wake() {
      if (closed || wakeScheduled) return;
      wakeScheduled = true;
      setImmediate(() => {
        wakeScheduled = false;
        background();
      });
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await queued?.catch(() => 0);
      await inFlight?.catch(() => 0);
    },
  };
}
