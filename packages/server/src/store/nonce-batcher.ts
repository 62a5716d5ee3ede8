// SQLite nonce claims, group-committed: concurrent claims share one transaction instead of one commit each.
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

interface PendingClaim {
  clientId: string;
  nonce: string;
  nowMs: number;
  expiresAtMs: number;
  resolve: (fresh: boolean) => void;
  reject: (error: unknown) => void;
}

/** A batch never grows past this, so one commit's latency stays bounded under any load. */
const claimsPerCommitMax = 256;

/**
 * Every signed request writes its nonce; in WAL mode the commit dominates that write. Claims arriving in
 * the same turn of the event loop are written in one transaction; each caller learns its own outcome only
 * after the commit, so a claim reported fresh is durable. The batch runs while holding Kysely's connection
 * (db.connection()), so it never interleaves with a Kysely transaction on the single SQLite connection.
 */
export class SqliteNonceBatcher {
  private pending: PendingClaim[] = [];
  private scheduled = false;
  private readonly insert: BetterSqlite3.Statement;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sqlite: BetterSqlite3.Database,
  ) {
    this.insert = sqlite.prepare(
      `insert into request_nonces (client_id, nonce, expires_at_ms) values (?, ?, ?)
       on conflict (client_id, nonce) do update set expires_at_ms = excluded.expires_at_ms
       where request_nonces.expires_at_ms <= ?`,
    );
  }

  claim(clientId: string, nonce: string, nowMs: number, expiresAtMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ clientId, nonce, nowMs, expiresAtMs, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending.splice(0, claimsPerCommitMax);
    if (this.pending.length > 0) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    if (batch.length === 0) return;
    try {
      const outcomes = await this.db.connection().execute(async () => {
        const writeAll = this.sqlite.transaction((claims: PendingClaim[]) =>
          claims.map((c) => this.insert.run(c.clientId, c.nonce, c.expiresAtMs, c.nowMs).changes === 1),
        );
        return writeAll.immediate(batch);
      });
      batch.forEach((claim, index) => claim.resolve(outcomes[index] === true));
    } catch (error) {
      for (const claim of batch) claim.reject(error);
    }
  }
}
