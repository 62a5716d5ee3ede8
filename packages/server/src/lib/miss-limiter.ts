// Counts failed lookups per caller in fixed windows, so ids that are the only credential of a page cannot be guessed
// at speed: a caller with too many misses in its window is refused until the window ends, hits and misses alike.

export interface MissLimiterOptions {
  /** Misses a caller may have in one window; its lookups under way count against the same budget. */
  missesMax: number;
  windowMs: number;
  /** Callers remembered at once; beyond it the oldest window is forgotten, so memory stays bounded. */
  callersMax: number;
  /** How long a caller refused for lookups under way (not for misses) is told to wait. */
  busyRetryMs: number;
  /** A monotonic time source: windows must not jump with a moved sandbox clock or a wall-clock step. */
  nowMs: () => number;
}

interface Window {
  startMs: number;
  misses: number;
}

/** Whether a lookup may start: yes, or no because of the caller's misses, or because of its lookups under way. */
export type LookupStart = { allowed: true } | { allowed: false; reason: 'misses' | 'busy'; waitMs: number };

export class MissLimiter {
  /** In order of each window's start (a new window is re-inserted), so the first entry is the oldest. */
  private readonly windows = new Map<string, Window>();
  /** Lookups under way per caller (entries go at zero, so this holds only callers with a lookup running). */
  private readonly underWay = new Map<string, number>();

  constructor(private readonly options: MissLimiterOptions) {}

  /** Milliseconds until `caller` may look up again because of its misses; 0 when its misses allow it now. */
  blockedForMs(caller: string): number {
    const window = this.windows.get(caller);
    if (!window || window.misses < this.options.missesMax) return 0;
    const leftMs = window.startMs + this.options.windowMs - this.options.nowMs();
    if (leftMs > 0) return leftMs;
    this.windows.delete(caller);
    return 0;
  }

  /**
   * A lookup starts when the caller's misses and its lookups under way stay below the budget together, so lookups
   * sent all at once cannot exceed it either. Every allowed start must be ended by `finish`.
   */
  start(caller: string): LookupStart {
    const blockedMs = this.blockedForMs(caller);
    if (blockedMs > 0) return { allowed: false, reason: 'misses', waitMs: blockedMs };
    const running = this.underWay.get(caller) ?? 0;
    if (this.missesOf(caller) + running >= this.options.missesMax) return { allowed: false, reason: 'busy', waitMs: this.options.busyRetryMs };
    this.underWay.set(caller, running + 1);
    return { allowed: true };
  }

  /** Ends a lookup `start` allowed; one that found nothing counts as a miss. */
  finish(caller: string, missed: boolean): void {
    const running = (this.underWay.get(caller) ?? 1) - 1;
    if (running > 0) this.underWay.set(caller, running);
    else this.underWay.delete(caller);
    if (missed) this.recordMiss(caller);
  }

  recordMiss(caller: string): void {
    const nowMs = this.options.nowMs();
    const window = this.windows.get(caller);
    if (window && nowMs - window.startMs < this.options.windowMs) {
      window.misses += 1;
      return;
    }
    this.windows.delete(caller);
    while (this.windows.size >= this.options.callersMax) {
      const oldest = this.windows.keys().next();
      if (oldest.done) break;
      this.windows.delete(oldest.value);
    }
    this.windows.set(caller, { startMs: nowMs, misses: 1 });
  }

  /** Callers with a window open (expired ones are dropped as they are met). */
  get trackedCallers(): number {
    return this.windows.size;
  }

  private missesOf(caller: string): number {
    const window = this.windows.get(caller);
    return window && this.options.nowMs() - window.startMs < this.options.windowMs ? window.misses : 0;
  }
}
