// Time source: the only place that reads the wall clock, so tests can move time instead of sleeping.
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that only moves when told to; tests and the sandbox's time-travel use it. */
export class ManualClock implements Clock {
  private currentMs: number;
  constructor(startMs: number = Date.now()) {
    this.currentMs = startMs;
  }
  nowMs(): number {
    return this.currentMs;
  }
  advanceMs(deltaMs: number): void {
    this.currentMs += deltaMs;
  }
  setMs(valueMs: number): void {
    this.currentMs = valueMs;
  }
}

/**
 * The wall clock plus an offset the sandbox can move forward ("time travel" to a payment deadline). The offset is
 * kept in the database so every process on it shares one sandbox time and a restart keeps it; this object holds the
 * process's copy, which only ever grows, so the times it gives never go back.
 */
export class OffsetClock implements Clock {
  private offsetMs = 0;
  /** The offset every other process has surely read by now (see settledNowMs), and the moves not yet that old. */
  private settledOffsetMs = 0;
  private readonly recentMoves: { atMonotonicMs: number; offsetMs: number }[] = [];
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  /**
   * The time as of the last move at least `ageMs` old. Another process reads a move within its refresh, and until
   * then it accepts requests stamped at the old time: what it relies on (spent nonces, Idempotency-Keys) must not be
   * purged by the moved time before it has caught up.
   */
  settledNowMs(ageMs: number): number {
    const cutoffMs = monotonicMs() - ageMs;
    while (this.recentMoves.length > 0 && (this.recentMoves[0]?.atMonotonicMs ?? Infinity) <= cutoffMs) {
      this.settledOffsetMs = this.recentMoves.shift()?.offsetMs ?? this.settledOffsetMs;
    }
    return Date.now() + this.settledOffsetMs;
  }
  /** How far ahead of the wall clock this process's copy is. */
  currentOffsetMs(): number {
    return this.offsetMs;
  }
  /** Takes the shared offset as read from the database; a smaller one (an older read) is ignored. */
  adoptOffsetMs(offsetMs: number): void {
    if (offsetMs <= this.offsetMs) return;
    this.offsetMs = offsetMs;
    this.recentMoves.push({ atMonotonicMs: monotonicMs(), offsetMs });
  }
}

/** A clock tests or the sandbox may move forward. */
export interface MovableClock extends Clock {
  advanceMs(deltaMs: number): void;
}

export function isMovable(clock: Clock): clock is MovableClock {
  return typeof (clock as Partial<MovableClock>).advanceMs === 'function';
}

/** How far a clock runs ahead of the wall clock (negative when behind). */
export function aheadOfWallClockMs(clock: Clock): number {
  return clock.nowMs() - Date.now();
}

/** Real waiting, for the few places that must pause between upstream calls (never in domain code). */
export function sleepMs(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, durationMs)));
}

/**
 * A time as RM's servers write it: RFC 3339 in UTC the way Go's `time.RFC3339Nano` formats it, which drops trailing
 * zeros of the fraction and the dot with them (`…:21Z`, `…:21.5Z`, `…:21.123Z`), where JavaScript always writes
 * three digits (`…:21.000Z`). Both parse the same; this is the form RM's clients have seen.
 */
export function isoFromMs(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  if (iso.endsWith('.000Z')) return `${iso.slice(0, -5)}Z`;
  if (iso.endsWith('00Z')) return `${iso.slice(0, -3)}Z`;
  if (iso.endsWith('0Z')) return `${iso.slice(0, -2)}Z`;
  return iso;
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/** RFC 3339 as Go's time.Parse reads it: impossible dates and times (Feb 30, 24:00) are refused, not rolled over. */
export function parseRfc3339Ms(text: string): number {
  const m = rfc3339.exec(text);
  if (!m) return Number.NaN;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return Number.NaN;
  return Date.parse(text);
}

/** RM emits Go's zero time for unset times; strict clients need the field present. */
export const zeroTime = '0001-01-01T00:00:00Z';

export function isoOrZero(epochMs: number | null): string {
  return epochMs === null ? zeroTime : isoFromMs(epochMs);
}

/**
 * Milliseconds on the process's monotonic timer: for measuring how fresh a cache is, never for business time
 * (which comes from a Clock, so tests and the sandbox can move it).
 */
export function monotonicMs(): number {
  return performance.now();
}
