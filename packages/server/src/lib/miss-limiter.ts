// Counts failed lookups per caller in fixed windows, so ids that are the only credential of a page cannot be guessed
// at speed: a caller with too many misses in its window is refused until the window ends, hits and misses alike.

export interface MissLimiterOptions {
  /** Misses a caller may have in one window; the next lookup in that window is refused. */
  missesMax: number;
  windowMs: number;
  /** Callers remembered at once; beyond it the oldest window is forgotten, so memory stays bounded. */
  callersMax: number;
  /** A monotonic time source: windows must not jump with a moved sandbox clock or a wall-clock step. */
  nowMs: () => number;
}

interface Window {
  startMs: number;
  misses: number;
}

export class MissLimiter {
  /** In order of each window's start (a new window is re-inserted), so the first entry is the oldest. */
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: MissLimiterOptions) {}

  /** Milliseconds until `caller` may look up again; 0 when it may now. */
  blockedForMs(caller: string): number {
    const window = this.windows.get(caller);
    if (!window || window.misses < this.options.missesMax) return 0;
    const leftMs = window.startMs + this.options.windowMs - this.options.nowMs();
    if (leftMs > 0) return leftMs;
    this.windows.delete(caller);
    return 0;
  }

  /**
   * Counts a miss and answers the start of the window it was counted in. A lookup is counted before it runs, so
   * lookups sent all at once cannot all pass the check together; one that finds something is then forgiven.
   */
  recordMiss(caller: string): number {
    const nowMs = this.options.nowMs();
    const window = this.windows.get(caller);
    if (window && nowMs - window.startMs < this.options.windowMs) {
      window.misses += 1;
      return window.startMs;
    }
    this.windows.delete(caller);
    while (this.windows.size >= this.options.callersMax) {
      const oldest = this.windows.keys().next();
      if (oldest.done) break;
      this.windows.delete(oldest.value);
    }
    this.windows.set(caller, { startMs: nowMs, misses: 1 });
    return nowMs;
  }

  /** Takes back a miss counted by recordMiss (the lookup found something), if its window is still the caller's. */
  forgive(caller: string, windowStartMs: number): void {
    const window = this.windows.get(caller);
    if (window && window.startMs === windowStartMs && window.misses > 0) window.misses -= 1;
  }

  /** Callers with a window open (expired ones are dropped as they are met). */
  get trackedCallers(): number {
    return this.windows.size;
  }
}
