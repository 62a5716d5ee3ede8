// Kysely implementation of the Idempotency-Key port: one conditional upsert claims a key, in every process.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { IdempotencyKeyRecord, IdempotencyStorage } from '../app/idempotency-ports.js';
import { changed } from './rows.js';
import type { Database, IdempotencyKeysTable } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

function recordFromRow(row: Selectable<IdempotencyKeysTable>): IdempotencyKeyRecord {
  const answered = row.http_status !== null && row.response_body !== null;
  return {
    clientId: row.client_id,
    key: row.idempotency_key,
    fingerprint: row.fingerprint,
    answer: answered ? { httpStatus: Number(row.http_status), body: row.response_body as string } : null,
    leaseUntilMs: row.lease_until_ms === null ? null : Number(row.lease_until_ms),
    expiresAtMs: Number(row.expires_at_ms),
  };
}

export function createIdempotencyStorage(db: Db): IdempotencyStorage {
  const storage: IdempotencyStorage = {
    async claim(claim) {
      // What a fresh claim writes, whether it inserts the row or takes over an expired one.
      const claimed = {
        fingerprint: claim.fingerprint,
        claim_id: claim.claimId,
        http_status: null,
        response_body: null,
        lease_until_ms: claim.leaseUntilMs,
        created_at_ms: claim.nowMs,
        expires_at_ms: claim.expiresAtMs,
      };
      // A new key inserts; a row whose day has passed is taken over; anything else leaves the row as it is. A claim
      // whose request ended without an answer (its process died, or it failed with a 5xx) is never run again: money
      // may have moved before it stopped, so only the merchant, after checking, can decide to try with a new key.
      const result = await db
        .insertInto('idempotency_keys')
        .values({ client_id: claim.clientId, idempotency_key: claim.key, ...claimed })
        .onConflict((oc) =>
          oc.columns(['client_id', 'idempotency_key']).doUpdateSet(claimed).where('idempotency_keys.expires_at_ms', '<=', claim.nowMs),
        )
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 1) return { kind: 'claimed' };
      const row = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('client_id', '=', claim.clientId)
        .where('idempotency_key', '=', claim.key)
        .executeTakeFirst();
      // The row cannot vanish between the two statements except by a purge of an expired key: claim again then.
      if (!row) return storage.claim(claim);
      return { kind: 'taken', record: recordFromRow(row) };
    },
    async complete(clientId, key, claimId, answer) {
      const result = await db
        .updateTable('idempotency_keys')
        .set({ http_status: answer.httpStatus, response_body: answer.body, lease_until_ms: null })
        .where('client_id', '=', clientId)
        .where('idempotency_key', '=', key)
        .where('claim_id', '=', claimId)
        .where('response_body', 'is', null)
        .executeTakeFirst();
      return changed(result);
    },
    async abandon(clientId, key, claimId, nowMs) {
      await db
        .updateTable('idempotency_keys')
        .set({ lease_until_ms: nowMs })
        .where('client_id', '=', clientId)
        .where('idempotency_key', '=', key)
        .where('claim_id', '=', claimId)
        .where('response_body', 'is', null)
        .execute();
    },
    async release(clientId, key, claimId) {
      await db
        .deleteFrom('idempotency_keys')
        .where('client_id', '=', clientId)
        .where('idempotency_key', '=', key)
        .where('claim_id', '=', claimId)
        .where('response_body', 'is', null)
        .execute();
    },
    async purgeExpired(nowMs) {
      const result = await db.deleteFrom('idempotency_keys').where('expires_at_ms', '<=', nowMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
  return storage;
}
