// PostgreSQL nonce claims: the claims of one event-loop turn share one statement and one commit.
import { sql, type Kysely } from 'kysely';
import { turnBatches } from '../lib/turn-batches.js';
import type { NonceClaims, PendingClaim } from './nonce-claims.js';
import type { Database } from './schema.js';

/**
 * One statement holds at most this many claims. A full batch goes at once, so under load several statements run
 * side by side on the pool's connections while the event loop reads the turn's other requests.
 */
const claimsPerStatement = 32;

/** The key two claims in one batch share when they name the same nonce of the same app. */
function claimKey(clientId: string, nonce: string): string {
  return `${clientId}\u0000${nonce}`;
}

/**
 * Every signed request spends its nonce. One autocommitted INSERT per request cost PostgreSQL a commit (a WAL
 * flush) and a statement's parsing and planning each; the claims that arrive in one turn now go as one
 * `INSERT … SELECT FROM unnest(…) ON CONFLICT … RETURNING`, committed once. The primary key still decides, so a
 * replay is refused whichever server process receives it, and a claim reported fresh is committed.
 * - Two claims of one nonce in the same batch: the first goes to the database, the later ones are replays (one
 *   statement may not insert and update the same row twice).
 * - A row whose window has passed is taken over. The batch compares expiries with its earliest claim's time, so a
 *   row is never taken over before its own claim's time.
 * - A failed statement fails the claims it held (their requests answer 500, nothing is spent twice).
 */
export function postgresNonceClaims(db: Kysely<Database>): NonceClaims {
  let closed = false;
  const inFlight = new Set<Promise<void>>();

  const claimBatch = async (batch: PendingClaim[]): Promise<void> => {
    const firstOfKey = new Map<string, PendingClaim>();
    const repeats: PendingClaim[] = [];
    for (const claim of batch) {
      const key = claimKey(claim.clientId, claim.nonce);
      if (firstOfKey.has(key)) repeats.push(claim);
      else firstOfKey.set(key, claim);
    }
    const sent = [...firstOfKey.values()];
    const earliestNowMs = Math.min(...sent.map((claim) => claim.nowMs));
    try {
      const rows = await db
        .insertInto('request_nonces')
        .columns(['client_id', 'nonce', 'expires_at_ms'])
        .expression(
          sql`select * from unnest(${sent.map((c) => c.clientId)}::text[], ${sent.map((c) => c.nonce)}::text[], ${sent.map((c) =>
            String(c.expiresAtMs),
          )}::bigint[])`,
        )
        .onConflict((oc) =>
          oc
            .columns(['client_id', 'nonce'])
            .doUpdateSet({ expires_at_ms: (eb) => eb.ref('excluded.expires_at_ms') })
            .where('request_nonces.expires_at_ms', '<=', earliestNowMs),
        )
        .returning(['client_id', 'nonce'])
        .execute();
      const spent = new Set(rows.map((row) => claimKey(row.client_id, row.nonce)));
      for (const claim of sent) claim.resolve(spent.has(claimKey(claim.clientId, claim.nonce)));
      for (const claim of repeats) claim.resolve(false);
    } catch (error) {
      for (const claim of batch) claim.reject(error);
    }
  };

  const batches = turnBatches<PendingClaim>(claimsPerStatement, (batch) => {
    const running = claimBatch(batch);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  });

  return {
    claim(clientId, nonce, nowMs, expiresAtMs) {
      if (closed) return Promise.reject(new Error('nonce claims closed'));
      return new Promise((resolve, reject) => batches.add({ clientId, nonce, nowMs, expiresAtMs, resolve, reject }));
    },
    async purgeExpired(nowMs) {
      const result = await db.deleteFrom('request_nonces').where('expires_at_ms', '<=', nowMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async close() {
      if (closed) return;
      // Claims already queued are sent, and every statement sent is answered, before the pool closes.
      batches.flushNow();
      closed = true;
      await Promise.all([...inFlight]);
    },
  };
}
