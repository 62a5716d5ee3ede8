// Kysely implementation of the outbox port: idempotent enqueue, claims by one conditional UPDATE, attempts recorded with the outcome.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AttemptOutcome, OutboxAttemptRecord, OutboxEventRecord, OutboxStatus, OutboxStorage } from '../app/outbox-ports.js';
import { receiverOf } from '../domain/outbound-url.js';
import { changed } from './rows.js';
import type { Database, OutboxAttemptsTable, OutboxEventsTable } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

const msOrNull = (value: number | string | null): number | null => (value === null ? null : Number(value));

function eventFromRow(row: Selectable<OutboxEventsTable>): OutboxEventRecord {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    eventType: row.event_type,
    subjectId: row.subject_id,
    targetUrl: row.target_url,
    body: row.body,
    status: row.status as OutboxStatus,
    attempts: Number(row.attempts),
    nextAttemptAtMs: msOrNull(row.next_attempt_at_ms),
    leaseUntilMs: msOrNull(row.lease_until_ms),
    lastError: row.last_error,
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    deliveredAtMs: msOrNull(row.delivered_at_ms),
  };
}

function attemptFromRow(row: Selectable<OutboxAttemptsTable>): OutboxAttemptRecord {
  return {
    id: row.id,
    eventId: row.event_id,
    attempt: Number(row.attempt),
    startedAtMs: Number(row.started_at_ms),
    durationMs: Number(row.duration_ms),
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    error: row.error,
    outcome: row.outcome as AttemptOutcome,
  };
}

export function createOutboxStorage(db: Db): OutboxStorage {
  const outbox: OutboxStorage = {
    async enqueue(event) {
      const result = await db
        .insertInto('outbox_events')
        .values({
          id: event.id,
          merchant_id: event.merchantId,
          event_type: event.eventType,
          subject_id: event.subjectId,
          target_url: event.targetUrl,
          receiver: receiverOf(event.targetUrl),
          body: event.body,
          status: event.status,
          attempts: event.attempts,
          next_attempt_at_ms: event.nextAttemptAtMs,
          lease_until_ms: event.leaseUntilMs,
          last_error: event.lastError,
          created_at_ms: event.createdAtMs,
          updated_at_ms: event.updatedAtMs,
          delivered_at_ms: event.deliveredAtMs,
        })
        // A state change announced twice (a retried commit, two processes) stays one event with one id.
        .onConflict((oc) => oc.columns(['event_type', 'subject_id']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async dueEvents(nowMs, limit, perReceiverMax, skipReceivers) {
      // Ranked within each receiver, so a receiver with thousands of due events fills at most its share of the list.
      const due = db
        .selectFrom('outbox_events')
        .select(['id', 'receiver', 'next_attempt_at_ms'])
        .select(sql<number>`row_number() over (partition by receiver order by next_attempt_at_ms, id)`.as('receiver_rank'))
        .where('status', '=', 'PENDING')
        .where('next_attempt_at_ms', '<=', nowMs)
        .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<=', nowMs)]))
        .$if(skipReceivers.length > 0, (qb) => qb.where('receiver', 'not in', skipReceivers));
      const rows = await db
        .selectFrom(due.as('due'))
        .select(['due.id', 'due.receiver'])
        .where('due.receiver_rank', '<=', perReceiverMax)
        .orderBy('due.next_attempt_at_ms')
        .orderBy('due.id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, receiver: r.receiver }));
    },
    async claim(eventId, nowMs, leaseUntilMs) {
      // One conditional UPDATE settles the race between workers and processes: only one sees the row change.
      const row = await db
        .updateTable('outbox_events')
        // This attempt is the one a pending re-send asked for: the claim serves it (and clears its marker).
        .set((eb) => ({ attempts: eb('attempts', '+', 1), lease_until_ms: leaseUntilMs, resent_at_ms: null, updated_at_ms: nowMs }))
        .where('id', '=', eventId)
        .where('status', '=', 'PENDING')
        .where('next_attempt_at_ms', '<=', nowMs)
        .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<=', nowMs)]))
        .returningAll()
        .executeTakeFirst();
      return row ? eventFromRow(row) : null;
    },
    async finishAttempt(attempt, result, nowMs) {
      const work = async (trx: Db): Promise<OutboxEventRecord | null> => {
        await trx
          .insertInto('outbox_attempts')
          .values({
            id: attempt.id,
            event_id: attempt.eventId,
            attempt: attempt.attempt,
            started_at_ms: attempt.startedAtMs,
            duration_ms: attempt.durationMs,
            http_status: attempt.httpStatus,
            error: attempt.error,
            outcome: attempt.outcome,
          })
          .execute();
        // Only the claim that made this attempt may settle it: if its lease lapsed and another worker took the
        // event (attempts moved on), the attempt stays recorded but the newer claim decides the event.
        // A re-send accepted since the claim (resent_at_ms set) outranks this attempt's result: the event stays PENDING
        // and due at the re-send's time, whatever the attempt did. One UPDATE decides it, so a re-send committed at the
        // same moment is either seen here or lands after (and makes the settled event due again itself).
        // Due at the re-send's time, or at this settling process's now if that is earlier: a re-send stamped by a clock
        // ahead of this one (another process), or committed after this attempt read its clock, is due now all the same,
        // so the wake-up this settling asks for finds it (with no interval sweep, nothing else would come for it).
        const resendPending = sql<boolean>`resent_at_ms is not null`;
        const resendDue = sql<number>`case when resent_at_ms <= cast(${nowMs} as bigint) then resent_at_ms else cast(${nowMs} as bigint) end`;
        const row = await trx
          .updateTable('outbox_events')
          .set({
            status: sql<string>`case when ${resendPending} then 'PENDING' else ${result.status} end`,
            // The casts give the parameters a type on PostgreSQL (a CASE of untyped parameters would be text).
            next_attempt_at_ms: sql<number | null>`case when ${resendPending} then ${resendDue} else cast(${result.nextAttemptAtMs} as bigint) end`,
            delivered_at_ms: sql<number | null>`case when ${resendPending} then null else cast(${result.deliveredAtMs} as bigint) end`,
            last_error: result.lastError,
            resent_at_ms: null,
            lease_until_ms: null,
            updated_at_ms: nowMs,
          })
          .where('id', '=', attempt.eventId)
          .where('attempts', '=', attempt.attempt)
          .where('status', '=', 'PENDING')
          .returningAll()
          .executeTakeFirst();
        return row ? eventFromRow(row) : null;
      };
      if (db.isTransaction) return work(db);
      return (db as Kysely<Database>).transaction().execute(work);
    },
    async get(eventId) {
      const row = await db.selectFrom('outbox_events').selectAll().where('id', '=', eventId).executeTakeFirst();
      return row ? eventFromRow(row) : null;
    },
    async list(query) {
      let q = db.selectFrom('outbox_events').selectAll();
      if (query.merchantId !== null) q = q.where('merchant_id', '=', query.merchantId);
      if (query.status !== null) q = q.where('status', '=', query.status);
      if (query.beforeId !== null) q = q.where('id', '<', query.beforeId);
      const rows = await q.orderBy('id', 'desc').limit(query.limit).execute();
      return rows.map(eventFromRow);
    },
    async attempts(eventId) {
      const rows = await db
        .selectFrom('outbox_attempts')
        .selectAll()
        .where('event_id', '=', eventId)
        .orderBy('attempt')
        .orderBy('started_at_ms')
        .orderBy('id')
        .execute();
      return rows.map(attemptFromRow);
    },
    async resend(eventId, nowMs) {
      // Same id and body, due now. A lease held by an attempt in flight is left alone (no second concurrent attempt);
      // the marker makes that attempt, when it settles, leave the event due instead of writing its own outcome.
      const result = await db
        .updateTable('outbox_events')
        .set({ status: 'PENDING', next_attempt_at_ms: nowMs, delivered_at_ms: null, resent_at_ms: nowMs, updated_at_ms: nowMs })
        .where('id', '=', eventId)
        .executeTakeFirst();
      return changed(result);
    },
  };
  return outbox;
}
