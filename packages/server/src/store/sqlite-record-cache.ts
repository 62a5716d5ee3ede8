// Per-process cache of the rows every /v3 request reads (client apps, merchants) on SQLite, kept exact by PRAGMA data_version.
import type BetterSqlite3 from 'better-sqlite3';
import type { MerchantRecord, StoredClientApp } from '../app/ports.js';

/** Bounded so a stream of distinct ids cannot grow memory without limit; clearing costs only re-reads. */
const cachedRecordsMax = 10_000;
/**
 * How long one look at PRAGMA data_version vouches for the cache. The look costs three system calls (lock, stat,
 * unlock); under load many requests share it, and a commit by another process is still seen within this bound.
 */
export const recordCacheRecheckMs = 1;

type Kind = 'app' | 'merchant';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * SQLite's `PRAGMA data_version` changes whenever another connection (another process on the same file,
 * or the CLI) commits, and never for this connection's own commits. So:
 * - a cached read first makes sure the version was looked at within the last recordCacheRecheckMs, and any
 *   foreign commit drops the whole cache: a change made by another process is seen by every request that
 *   starts more than a millisecond after it committed;
 * - this process's own writes to apps and merchants go through the storage methods, which call `forget`.
 * A generation counter keeps a read that raced with a local write from storing what it saw.
 * Reads inside a transaction never use the cache: they must see that transaction's own writes.
 */
export class SqliteRecordCache {
  private readonly dataVersion: BetterSqlite3.Statement<[], number>;
  private seenVersion: number;
  private checkedAtMs = Number.NEGATIVE_INFINITY;
  private generation = 0;
  private readonly records = { app: new Map<string, StoredClientApp>(), merchant: new Map<string, MerchantRecord>() };

  constructor(
    sqlite: BetterSqlite3.Database,
    private readonly nowMonotonicMs: () => number,
  ) {
    this.dataVersion = sqlite.prepare<[], number>('pragma data_version').pluck();
    this.seenVersion = this.currentVersion();
  }

  app(clientId: string, load: () => Promise<StoredClientApp | null>): Promise<StoredClientApp | null> {
    return this.read('app', clientId, load);
  }

  merchant(merchantId: string, load: () => Promise<MerchantRecord | null>): Promise<MerchantRecord | null> {
    return this.read('merchant', merchantId, load);
  }

  /** Called by every local write to the cached tables, before it runs (a rolled-back write only costs a re-read). */
  forget(kind: Kind, id: string): void {
    this.generation++;
    this.records[kind].delete(id);
  }

  /** For a local write that changes many cached records at once (a merchant's flag is read with each of its apps). */
  forgetAll(kind: Kind): void {
    this.generation++;
    this.records[kind].clear();
  }

  private currentVersion(): number {
    return this.dataVersion.get() as number;
  }

  private async read<T extends StoredClientApp | MerchantRecord>(kind: Kind, id: string, load: () => Promise<T | null>): Promise<T | null> {
    const nowMs = this.nowMonotonicMs();
    if (nowMs - this.checkedAtMs >= recordCacheRecheckMs) {
      this.checkedAtMs = nowMs;
      const version = this.currentVersion();
      if (version !== this.seenVersion) {
        this.seenVersion = version;
        this.generation++;
        this.records.app.clear();
        this.records.merchant.clear();
      }
    }
    const map = this.records[kind] as Map<string, T>;
    const cached = map.get(id);
    if (cached) return cached;
    const generationBefore = this.generation;
    const loaded = await load();
    // Misses are not cached: an app created a moment ago by `tunai app create` must be found at once.
    if (loaded && this.generation === generationBefore && this.currentVersion() === this.seenVersion) {
      if (map.size >= cachedRecordsMax) map.clear();
      // Every caller shares the cached object, so it is frozen: a mutation would be a bug, and it throws.
      map.set(id, deepFreeze(loaded));
    }
    return loaded;
  }
}
