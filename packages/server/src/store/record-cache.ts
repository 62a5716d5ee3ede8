// Per-process cache of the rows every /v3 request reads (client apps, merchants), kept exact by a version the database
// changes on every commit that touches them: SQLite's PRAGMA data_version, or PostgreSQL's record_versions row.
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { MerchantRecord, StoredClientApp } from '../app/ports.js';
import type { Database } from './schema.js';

/** Bounded so a stream of distinct ids cannot grow memory without limit; clearing costs only re-reads. */
const cachedRecordsMax = 10_000;
/**
 * How long one look at the version vouches for the cache. On SQLite a look costs three system calls (lock, stat,
 * unlock), on PostgreSQL one small query; under load many requests share it, and a commit by another process is
 * still seen by every request that starts more than this long after it.
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
 * Where the cache reads the version: synchronously on SQLite (better-sqlite3 runs in the process), by a query on
 * PostgreSQL. PostgreSQL's moves with this process's own commits too, SQLite's only with other connections'; this
 * process's writes call `forget` either way.
 */
export interface RecordVersionSource {
  read(): number | Promise<number>;
}

/** SQLite: `PRAGMA data_version` changes whenever another connection (another process, the CLI) commits. */
export function sqliteRecordVersion(sqlite: BetterSqlite3.Database): RecordVersionSource {
  const dataVersion = sqlite.prepare<[], number>('pragma data_version').pluck();
  return { read: () => dataVersion.get() as number };
}

/**
 * PostgreSQL: statement-level triggers on client_apps and merchants (migration 0007) add one to
 * record_versions.version in the writing transaction, whoever writes (a server, the CLI, an operator's SQL). A read
 * that starts after that commit sees the new number (read committed).
 */
export function postgresRecordVersion(db: Kysely<Database>): RecordVersionSource {
  return {
    read: async () => {
      const row = await db.selectFrom('record_versions').select('version').where('name', '=', 'records').executeTakeFirst();
      // Without the row (deleted by hand) the triggers count nothing; NaN never equals what was seen, so every look
      // drops the cache and it serves nothing stale.
      return row ? Number(row.version) : Number.NaN;
    },
  };
}

/**
 * - A cached read first makes sure the version was looked at by a look that started within the last
 *   recordCacheRecheckMs (on PostgreSQL it may wait for one in flight, or start one), and any change drops the whole
 *   cache: a change committed elsewhere is seen by every request that starts more than a millisecond after it.
 * - This process's own writes to apps and merchants go through the storage methods, which call `forget`.
 * - A generation counter keeps a read that raced with a local write or a version change from storing what it saw.
 * - Reads inside a transaction never use the cache: they must see that transaction's own writes.
 * - A load always starts after the look that vouched for the cache, so what it stores is at least as new as the
 *   version it is kept under; a newer commit moves the version and the next look drops it.
 */
export class RecordCache {
  private seenVersion: number | null = null;
  /** When the newest completed look at the version started (monotonic ms). */
  private vouchedFromMs = Number.NEGATIVE_INFINITY;
  /** A look under way (PostgreSQL), which callers within the recheck bound of its start wait for. */
  private pending: { startedMs: number; done: Promise<void> } | null = null;
  private generation = 0;
  private readonly records = { app: new Map<string, StoredClientApp>(), merchant: new Map<string, MerchantRecord>() };

  constructor(
    private readonly version: RecordVersionSource,
    private readonly nowMonotonicMs: () => number,
  ) {}

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

  private saw(version: number, startedMs: number): void {
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.generation++;
      this.records.app.clear();
      this.records.merchant.clear();
    }
    if (startedMs > this.vouchedFromMs) this.vouchedFromMs = startedMs;
  }

  /** Makes sure a look that started within the recheck bound has completed; synchronous when the source is. */
  private vouch(nowMs: number): Promise<void> | null {
    if (nowMs - this.vouchedFromMs < recordCacheRecheckMs) return null;
    if (this.pending && nowMs - this.pending.startedMs < recordCacheRecheckMs) return this.pending.done;
    const version = this.version.read();
    if (typeof version === 'number') {
      this.saw(version, nowMs);
      return null;
    }
    const pending = {
      startedMs: nowMs,
      done: version.then(
        (seen) => {
          if (this.pending === pending) this.pending = null;
          this.saw(seen, nowMs);
        },
        (error: unknown) => {
          if (this.pending === pending) this.pending = null;
          throw error;
        },
      ),
    };
    this.pending = pending;
    return pending.done;
  }

  private async read<T extends StoredClientApp | MerchantRecord>(kind: Kind, id: string, load: () => Promise<T | null>): Promise<T | null> {
    const looking = this.vouch(this.nowMonotonicMs());
    if (looking) await looking;
    const map = this.records[kind] as Map<string, T>;
    const cached = map.get(id);
    if (cached) return cached;
    const generationBefore = this.generation;
    const loaded = await load();
    // Misses are not cached: an app created a moment ago by `tunai app create` must be found at once.
    if (loaded && this.generation === generationBefore) {
      if (map.size >= cachedRecordsMax) map.clear();
      // Every caller shares the cached object, so it is frozen: a mutation would be a bug, and it throws.
      map.set(id, deepFreeze(loaded));
    }
    return loaded;
  }
}
