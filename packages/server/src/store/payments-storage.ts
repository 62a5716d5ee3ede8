// Kysely implementation of the payments, refunds, ledger and wallet-simulator ports: conditional updates settle every race.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type QueryCreator, type RawBuilder, type Selectable, type SqlBool, type Transaction } from 'kysely';
import type { PaymentMethod, Region, TransactionStatus } from '@tunai/client/contract';
import type { EntryKind, TransactionLedgerView } from '../domain/ledger.js';
import type {
  LedgerEntryInput,
  PaymentsStorage,
  RefundRecord,
  SimulatedOrder,
  TransactionRecord,
  WalletSimulatorStorage,
} from '../app/payment-ports.js';
import { changed } from './rows.js';
import type { Database, PaymentRefundsTable, PaymentTransactionsTable, SimWalletOrdersTable } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;


function transactionFromRow(row: Selectable<PaymentTransactionsTable>): TransactionRecord {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    storeId: row.store_id,
    orderId: row.order_id,
    orderTitle: row.order_title,
    orderDetail: row.order_detail,
    orderAdditionalData: row.order_additional_data,
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    balanceMinor: Number(row.balance_minor),
    refundedMinor: Number(row.refunded_minor),
    requestFingerprint: row.request_fingerprint,
    terminalId: row.terminal_id,
    ipAddress: row.ip_address,
    method: row.method as PaymentMethod,
    region: row.region as Region,
    platform: row.platform,
    type: row.type,
    connector: row.connector,
    status: row.status as TransactionStatus,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    referenceId: row.reference_id,
    payerUserId: row.payer_user_id,
    transactionAtMs: row.transaction_at_ms === null ? null : Number(row.transaction_at_ms),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    nextCheckAtMs: row.next_check_at_ms === null ? null : Number(row.next_check_at_ms),
    leaseUntilMs: row.lease_until_ms === null ? null : Number(row.lease_until_ms),
    reverseRequested: row.reverse_requested === 1,
    reverseAttempts: Number(row.reverse_attempts),
    queryCount: Number(row.query_count),
    checkoutId: row.checkout_id,
    qrCode: row.qr_code,
    payDeadlineAtMs: row.pay_deadline_at_ms === null ? null : Number(row.pay_deadline_at_ms),
    payUrl: row.pay_url,
  };
}

function refundFromRow(row: Selectable<PaymentRefundsTable>): RefundRecord {
  return {
    id: row.id,
    transactionId: row.transaction_id,
    merchantId: row.merchant_id,
    type: row.type as RefundRecord['type'],
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    reason: row.reason,
    status: row.status as RefundRecord['status'],
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    nextAttemptAtMs: row.next_attempt_at_ms === null ? null : Number(row.next_attempt_at_ms),
  };
}

function orderFromRow(row: Selectable<SimWalletOrdersTable>): SimulatedOrder {
  return {
    upstreamOrderId: row.upstream_order_id,
    codeHash: row.code_hash,
    scenario: row.scenario,
    amountMinor: Number(row.amount_minor),
    status: row.status as SimulatedOrder['status'],
    queryCount: Number(row.query_count),
    reverseAttempts: Number(row.reverse_attempts),
    refundedMinor: Number(row.refunded_minor),
    referenceId: row.reference_id,
    payerId: row.payer_id,
    createdAtMs: Number(row.created_at_ms),
    paidAtMs: row.paid_at_ms === null ? null : Number(row.paid_at_ms),
  };
}

/** Statuses a refund may be taken from, and the condition that a reverse is not pending. */
const refundableStatuses = ['SUCCESS', 'PARTIAL_REFUNDED'];

/** The step's fence: the transaction's lease is still the one the step holds (none, for a step that holds none). */
function heldLease(eb: ExpressionBuilder<Database, 'payment_transactions'>, heldLeaseUntilMs: number | null): Expression<SqlBool> {
  return heldLeaseUntilMs === null ? eb('lease_until_ms', 'is', null) : eb('lease_until_ms', '=', heldLeaseUntilMs);
}

/**
 * PostgreSQL: the INSERT of a ledger entry, for a data-modifying CTE named `entry` (`source` is its FROM: the rows
 * that must exist for the entry to be booked, or nothing). An entry that exists is skipped.
 */
function ledgerEntryInsert(entry: LedgerEntryInput, source: RawBuilder<unknown>): RawBuilder<{ id: string }> {
  // Parenthesised: Kysely puts a raw CTE body after `as` as it is.
  return sql<{ id: string }>`(insert into ledger_entries (id, transaction_id, merchant_id, kind, refund_id, amount_minor, currency, method, region, booked_at_ms)
    select cast(${entry.id} as text), cast(${entry.transactionId} as text), cast(${entry.merchantId} as text), cast(${entry.kind} as text),
      cast(${entry.refundId} as text), cast(${entry.amountMinor} as bigint), cast(${entry.currency} as text), cast(${entry.method} as text),
      cast(${entry.region} as text), cast(${entry.bookedAtMs} as bigint)
    ${source}
    on conflict (transaction_id, kind, refund_id) do nothing
    returning id)`;
}

/** PostgreSQL: the INSERT of an entry's postings, for a CTE beside `entry`: nothing when the entry was not inserted. */
function ledgerPostingsInsert(entry: LedgerEntryInput): RawBuilder<{ entry_id: string }> {
  return sql<{ entry_id: string }>`(insert into ledger_postings (entry_id, line, account, currency, debit_minor, credit_minor)
    select entry.id, p.line, p.account, cast(${entry.currency} as text), p.debit_minor, p.credit_minor
    from entry cross join unnest(${entry.postings.map((_, line) => line)}::integer[], ${entry.postings.map((p) => p.account)}::text[],
      ${entry.postings.map((p) => String(p.debitMinor))}::bigint[], ${entry.postings.map((p) => String(p.creditMinor))}::bigint[])
      as p(line, account, debit_minor, credit_minor)
    returning entry_id)`;
}

export function createPaymentsStorage(db: Db, dialect: 'sqlite' | 'postgres'): PaymentsStorage {
  const payments: PaymentsStorage = {
    async insertIfNewOrder(tx) {
      const result = await db
        .insertInto('payment_transactions')
        .values({
          id: tx.id,
          merchant_id: tx.merchantId,
          store_id: tx.storeId,
          order_id: tx.orderId,
          order_title: tx.orderTitle,
          order_detail: tx.orderDetail,
          order_additional_data: tx.orderAdditionalData,
          amount_minor: tx.amountMinor,
          currency: tx.currency,
          balance_minor: tx.balanceMinor,
          refunded_minor: tx.refundedMinor,
          request_fingerprint: tx.requestFingerprint,
          terminal_id: tx.terminalId,
          ip_address: tx.ipAddress,
          method: tx.method,
          region: tx.region,
          platform: tx.platform,
          type: tx.type,
          connector: tx.connector,
          status: tx.status,
          error_code: tx.errorCode,
          error_message: tx.errorMessage,
          reference_id: tx.referenceId,
          payer_user_id: tx.payerUserId,
          transaction_at_ms: tx.transactionAtMs,
          created_at_ms: tx.createdAtMs,
          updated_at_ms: tx.updatedAtMs,
          next_check_at_ms: tx.nextCheckAtMs,
          lease_until_ms: tx.leaseUntilMs,
          reverse_requested: tx.reverseRequested ? 1 : 0,
          reverse_attempts: tx.reverseAttempts,
          query_count: tx.queryCount,
          checkout_id: tx.checkoutId,
          qr_code: tx.qrCode,
          pay_deadline_at_ms: tx.payDeadlineAtMs,
          pay_url: tx.payUrl,
        })
        .onConflict((oc) => oc.columns(['merchant_id', 'order_id']).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 1) return { inserted: true };
      const existing = await payments.getByOrderId(tx.merchantId, tx.orderId);
      if (!existing) throw new Error(`order ${tx.orderId} conflicted but cannot be read back`);
      return { inserted: false, existing };
    },
    async get(merchantId, transactionId) {
      const row = await db
        .selectFrom('payment_transactions')
        .selectAll()
        .where('id', '=', transactionId)
        .where('merchant_id', '=', merchantId)
        .executeTakeFirst();
      return row ? transactionFromRow(row) : null;
    },
    async getById(transactionId) {
      const row = await db.selectFrom('payment_transactions').selectAll().where('id', '=', transactionId).executeTakeFirst();
      return row ? transactionFromRow(row) : null;
    },
    async getByOrderId(merchantId, orderId) {
      const row = await db
        .selectFrom('payment_transactions')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .where('order_id', '=', orderId)
        .executeTakeFirst();
      return row ? transactionFromRow(row) : null;
    },
    async list(query) {
      let q = db.selectFrom('payment_transactions').selectAll().where('merchant_id', '=', query.merchantId);
      if (query.qrCode !== undefined) q = q.where('qr_code', '=', query.qrCode);
      if (query.beforeId !== null) q = q.where('id', '<', query.beforeId);
      if (query.statuses !== null) q = q.where('status', 'in', query.statuses);
      if (query.methods !== null) q = q.where('method', 'in', query.methods);
      if (query.createdFromMs !== null) q = q.where('created_at_ms', '>=', query.createdFromMs);
      if (query.createdToMs !== null) q = q.where('created_at_ms', '<=', query.createdToMs);
      if (query.transactionAtFromMs !== null) q = q.where('transaction_at_ms', '>=', query.transactionAtFromMs);
      if (query.transactionAtToMs !== null) q = q.where('transaction_at_ms', '<=', query.transactionAtToMs);
      const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute();
      const transactions = rows.slice(0, query.limit).map(transactionFromRow);
      const hasMore = rows.length > query.limit;
      return { transactions, nextBeforeId: hasMore ? (transactions[transactions.length - 1]?.id ?? null) : null };
    },
    async setPayUrl(transactionId, payUrl) {
      await db.updateTable('payment_transactions').set({ pay_url: payUrl }).where('id', '=', transactionId).execute();
    },
    async makeDue(transactionId, nowMs) {
      await db
        .updateTable('payment_transactions')
        .set({ next_check_at_ms: nowMs })
        .where('id', '=', transactionId)
        .where('status', '=', 'IN_PROCESS')
        .where('next_check_at_ms', '>', nowMs)
        .execute();
    },
    async claim(transactionId, nowMs, leaseUntilMs) {
      const result = await db
        .updateTable('payment_transactions')
        .set({ lease_until_ms: leaseUntilMs })
        .where('id', '=', transactionId)
        .where('next_check_at_ms', '<=', nowMs)
        .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<=', nowMs)]))
        .executeTakeFirst();
      return changed(result);
    },
    async recordOutcome(transactionId, from, heldLeaseUntilMs, outcome, nowMs, nextCheckAtMs, entry) {
      if (entry && dialect === 'sqlite' && !db.isTransaction) {
        // SQLite: the outcome and its entry in one db transaction (it has no data-modifying CTEs).
        return (db as Kysely<Database>)
          .transaction()
          .execute((trx) => createPaymentsStorage(trx, dialect).recordOutcome(transactionId, from, heldLeaseUntilMs, outcome, nowMs, nextCheckAtMs, entry));
      }
      // PostgreSQL types bare CASE parameters as text; cast them to the column's type.
      const next = nextCheckAtMs === null ? sql<number | null>`null` : sql<number>`cast(${nextCheckAtMs} as bigint)`;
      const update = (qc: QueryCreator<Database>) =>
        qc
          .updateTable('payment_transactions')
          .set({
            status: outcome.status,
            balance_minor: outcome.balanceMinor,
            ...(outcome.errorCode !== undefined ? { error_code: outcome.errorCode } : {}),
            ...(outcome.errorMessage !== undefined ? { error_message: outcome.errorMessage } : {}),
            ...(outcome.referenceId !== undefined ? { reference_id: outcome.referenceId } : {}),
            ...(outcome.payerUserId !== undefined ? { payer_user_id: outcome.payerUserId } : {}),
            ...(outcome.transactionAtMs !== undefined ? { transaction_at_ms: outcome.transactionAtMs } : {}),
            updated_at_ms: nowMs,
            lease_until_ms: null,
            // A reverse requested while this step ran must not be lost: look again at once.
            next_check_at_ms: sql<number | null>`case when reverse_requested = 1 and ${outcome.status} in ('IN_PROCESS', 'SUCCESS') then cast(${nowMs} as bigint) else ${next} end`,
          })
          .where('id', '=', transactionId)
          .where('status', '=', from)
          .where((eb) => heldLease(eb, heldLeaseUntilMs))
          .returningAll();
      if (entry && dialect === 'postgres') {
        // One statement: the entry is inserted from the update's RETURNING, so it is booked only if the outcome was
        // written, and its postings only if the entry was new.
        const row = await db
          .with('moved', update)
          .with('entry', () => ledgerEntryInsert(entry, sql`from moved`))
          .with('posted', () => ledgerPostingsInsert(entry))
          .selectFrom('moved')
          .selectAll()
          .executeTakeFirst();
        return row ? transactionFromRow(row) : null;
      }
      const row = await update(db).executeTakeFirst();
      if (row && entry) await payments.ledger.book(entry);
      return row ? transactionFromRow(row) : null;
    },
    async releaseFinal(transactionId, status, nowMs) {
      await db
        .updateTable('payment_transactions')
        // A reverse requested meanwhile keeps its check due now (as in recordOutcome); nothing else changes.
        .set({
          lease_until_ms: null,
          updated_at_ms: nowMs,
          next_check_at_ms: sql<number | null>`case when reverse_requested = 1 and status = 'SUCCESS' then cast(${nowMs} as bigint) else null end`,
        })
        .where('id', '=', transactionId)
        .where('status', '=', status)
        .execute();
    },
    async reschedule(transactionId, heldLeaseUntilMs, nowMs, nextCheckAtMs, counters) {
      const expedite = counters.reverseAttempts === undefined;
      await db
        .updateTable('payment_transactions')
        .set((eb) => ({
          lease_until_ms: null,
          updated_at_ms: nowMs,
          query_count: eb('query_count', '+', counters.queries ?? 0),
          reverse_attempts: eb('reverse_attempts', '+', counters.reverseAttempts ?? 0),
          next_check_at_ms: expedite
            ? sql<number>`case when reverse_requested = 1 then cast(${nowMs} as bigint) else cast(${nextCheckAtMs} as bigint) end`
            : sql<number>`cast(${nextCheckAtMs} as bigint)`,
        }))
        .where('id', '=', transactionId)
        .where((eb) => heldLease(eb, heldLeaseUntilMs))
        .execute();
    },
    async requestCancel(transactionId, nowMs) {
      const result = await db
        .updateTable('payment_transactions')
        .set({ reverse_requested: 1, next_check_at_ms: nowMs, updated_at_ms: nowMs })
        .where('id', '=', transactionId)
        .where('status', '=', 'IN_PROCESS')
        .executeTakeFirst();
      return changed(result);
    },
    async requestReverse(transactionId, nowMs) {
      const result = await db
        .updateTable('payment_transactions')
        .set({ reverse_requested: 1, next_check_at_ms: nowMs, updated_at_ms: nowMs })
        .where('id', '=', transactionId)
        .where((eb) =>
          eb.or([
            eb('status', '=', 'IN_PROCESS'),
            eb.and([eb('status', '=', 'SUCCESS'), eb('balance_minor', '=', eb.ref('amount_minor')), eb('refunded_minor', '=', 0)]),
          ]),
        )
        .executeTakeFirst();
      return changed(result);
    },
    async reserveRefund(transactionId, amountMinor, nowMs) {
      const result = await db
        .updateTable('payment_transactions')
        .set((eb) => ({ balance_minor: eb('balance_minor', '-', amountMinor), updated_at_ms: nowMs }))
        .where('id', '=', transactionId)
        .where('balance_minor', '>=', amountMinor)
        .where('status', 'in', refundableStatuses)
        .where('reverse_requested', '=', 0)
        .executeTakeFirst();
      return changed(result);
    },
    async releaseRefund(transactionId, amountMinor, nowMs) {
      await db
        .updateTable('payment_transactions')
        .set((eb) => ({ balance_minor: eb('balance_minor', '+', amountMinor), updated_at_ms: nowMs }))
        .where('id', '=', transactionId)
        .execute();
    },
    async applyRefundSuccess(transactionId, amountMinor, nowMs) {
      const result = await db
        .updateTable('payment_transactions')
        .set((eb) => ({
          refunded_minor: eb('refunded_minor', '+', amountMinor),
          status: sql<string>`case when refunded_minor + ${amountMinor} = amount_minor then 'FULL_REFUNDED' else 'PARTIAL_REFUNDED' end`,
          updated_at_ms: nowMs,
        }))
        .where('id', '=', transactionId)
        .where('status', 'in', refundableStatuses)
        .executeTakeFirst();
      if (!changed(result)) throw new Error(`refund success for ${transactionId} found it in no refundable status`);
    },
    async dueIds(nowMs, limit) {
      const rows = await db
        .selectFrom('payment_transactions')
        .select('id')
        .where('next_check_at_ms', '<=', nowMs)
        .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<=', nowMs)]))
        .orderBy('next_check_at_ms')
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },
    refunds: {
      async insert(r) {
        await db
          .insertInto('payment_refunds')
          .values({
            id: r.id,
            transaction_id: r.transactionId,
            merchant_id: r.merchantId,
            type: r.type,
            amount_minor: r.amountMinor,
            currency: r.currency,
            reason: r.reason,
            status: r.status,
            created_at_ms: r.createdAtMs,
            updated_at_ms: r.updatedAtMs,
            next_attempt_at_ms: r.nextAttemptAtMs,
          })
          .execute();
      },
      async get(refundId) {
        const row = await db.selectFrom('payment_refunds').selectAll().where('id', '=', refundId).executeTakeFirst();
        return row ? refundFromRow(row) : null;
      },
      async claim(refundId, nowMs, leaseUntilMs) {
        const result = await db
          .updateTable('payment_refunds')
          .set({ next_attempt_at_ms: leaseUntilMs })
          .where('id', '=', refundId)
          .where('status', '=', 'PENDING')
          .where('next_attempt_at_ms', '<=', nowMs)
          .executeTakeFirst();
        return changed(result);
      },
      async finish(refundId, status, nowMs) {
        const result = await db
          .updateTable('payment_refunds')
          .set({ status, next_attempt_at_ms: null, updated_at_ms: nowMs })
          .where('id', '=', refundId)
          .where('status', '=', 'PENDING')
          .executeTakeFirst();
        return changed(result);
      },
      async retryLater(refundId, nextAttemptAtMs, nowMs) {
        await db
          .updateTable('payment_refunds')
          .set({ next_attempt_at_ms: nextAttemptAtMs, updated_at_ms: nowMs })
          .where('id', '=', refundId)
          .where('status', '=', 'PENDING')
          .execute();
      },
      async dueIds(nowMs, limit) {
        const rows = await db
          .selectFrom('payment_refunds')
          .select('id')
          .where('status', '=', 'PENDING')
          .where('next_attempt_at_ms', '<=', nowMs)
          .orderBy('next_attempt_at_ms')
          .limit(limit)
          .execute();
        return rows.map((r) => r.id);
      },
    },
    ledger: {
      async book(entry) {
        // PostgreSQL: the entry and its postings in one statement (a data-modifying CTE) instead of two round trips;
        // a conflicting entry inserts no postings. SQLite has no such CTEs, and two statements cost it no round trips.
        if (dialect === 'postgres') {
          const booked = await (db as Kysely<Database>)
            .with('entry', () => ledgerEntryInsert(entry, sql``))
            .with('posted', () => ledgerPostingsInsert(entry))
            .selectNoFrom((eb) => eb.selectFrom('entry').select((e) => e.fn.countAll<string | number>().as('n')).as('entries'))
            .executeTakeFirst();
          return Number(booked?.entries ?? 0) === 1;
        }
        const result = await db
          .insertInto('ledger_entries')
          .values({
            id: entry.id,
            transaction_id: entry.transactionId,
            merchant_id: entry.merchantId,
            kind: entry.kind,
            refund_id: entry.refundId,
            amount_minor: entry.amountMinor,
            currency: entry.currency,
            method: entry.method,
            region: entry.region,
            booked_at_ms: entry.bookedAtMs,
          })
          .onConflict((oc) => oc.columns(['transaction_id', 'kind', 'refund_id']).doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
        await db
          .insertInto('ledger_postings')
          .values(
            entry.postings.map((p, line) => ({
              entry_id: entry.id,
              line,
              account: p.account,
              currency: entry.currency,
              debit_minor: p.debitMinor,
              credit_minor: p.creditMinor,
            })),
          )
          .execute();
        return true;
      },
      async settlementRows(query) {
        let q = db
          .selectFrom('ledger_entries')
          .select(['id', 'transaction_id', 'kind', 'amount_minor'])
          .where('merchant_id', '=', query.merchantId)
          .where('booked_at_ms', '>=', query.fromMs)
          .where('booked_at_ms', '<', query.toMs)
          .where('region', '=', query.region);
        if (query.methods !== null) q = q.where('method', 'in', query.methods);
        if (query.afterEntryId !== null) q = q.where('id', '>', query.afterEntryId);
        const rows = await q.orderBy('id').limit(query.limit).execute();
        return rows.map((r) => ({ entryId: r.id, transactionId: r.transaction_id, kind: r.kind as EntryKind, amountMinor: Number(r.amount_minor) }));
      },
      async transactionViews(afterTransactionId, limit) {
        const after = afterTransactionId ?? '';
        const result = await sql<Record<string, string | number>>`
          select t.id, t.status, t.amount_minor, t.balance_minor, t.refunded_minor,
            (select count(*) from ledger_entries e where e.transaction_id = t.id and e.kind = 'PAYMENT') as payment_entries,
            (select coalesce(sum(e.amount_minor), 0) from ledger_entries e where e.transaction_id = t.id and e.kind = 'PAYMENT') as paid,
            (select coalesce(sum(e.amount_minor), 0) from ledger_entries e where e.transaction_id = t.id and e.kind = 'REFUND') as refunded,
            (select coalesce(sum(e.amount_minor), 0) from ledger_entries e where e.transaction_id = t.id and e.kind = 'REVERSAL') as reversed,
            (select coalesce(sum(r.amount_minor), 0) from payment_refunds r where r.transaction_id = t.id and r.status = 'SUCCESS') as refunds_succeeded,
            (select coalesce(sum(r.amount_minor), 0) from payment_refunds r where r.transaction_id = t.id and r.status = 'PENDING') as refunds_pending
          from payment_transactions t
          where t.id > ${after}
          order by t.id
          limit ${limit}`.execute(db);
        return result.rows.map(
          (r): TransactionLedgerView => ({
            transactionId: String(r['id']),
            status: String(r['status']) as TransactionStatus,
            amountMinor: Number(r['amount_minor']),
            balanceMinor: Number(r['balance_minor']),
            refundedColumnMinor: Number(r['refunded_minor']),
            paymentEntries: Number(r['payment_entries']),
            paidMinor: Number(r['paid']),
            refundedMinor: Number(r['refunded']),
            reversedMinor: Number(r['reversed']),
            succeededRefundsMinor: Number(r['refunds_succeeded']),
            pendingRefundsMinor: Number(r['refunds_pending']),
          }),
        );
      },
      async unbalancedEntries() {
        const result = await sql<Record<string, string | number>>`
          select e.id as entry_id, coalesce(sum(p.debit_minor), 0) as debits, coalesce(sum(p.credit_minor), 0) as credits, max(e.amount_minor) as amount
          from ledger_entries e left join ledger_postings p on p.entry_id = e.id
          group by e.id
          having coalesce(sum(p.debit_minor), 0) <> coalesce(sum(p.credit_minor), 0) or coalesce(sum(p.debit_minor), 0) <> max(e.amount_minor)`.execute(db);
        return result.rows.map((r) => ({ entryId: String(r['entry_id']), debitsMinor: Number(r['debits']), creditsMinor: Number(r['credits']) }));
      },
      async accountsBelowFloor() {
        // Payables are credit-normal (what we owe a merchant), clearing accounts debit-normal (what a wallet owes us).
        const result = await sql<Record<string, string | number>>`
          select account, sum(credit_minor) - sum(debit_minor) as balance
          from ledger_postings where account like 'merchant_payable:%'
          group by account having sum(credit_minor) - sum(debit_minor) < 0
          union all
          select account, sum(debit_minor) - sum(credit_minor) as balance
          from ledger_postings where account like 'wallet_clearing:%'
          group by account having sum(debit_minor) - sum(credit_minor) < 0`.execute(db);
        return result.rows.map((r) => ({ account: String(r['account']), balanceMinor: Number(r['balance']) }));
      },
    },
  };
  return payments;
}

/** Rolls back the refund claim when the order cannot take the refund. */
class RefundExceeds extends Error {}

/** A simulated wallet order as its sim_wallet_orders row. */
function simulatedOrderRow(o: SimulatedOrder) {
  return {
    upstream_order_id: o.upstreamOrderId,
    code_hash: o.codeHash,
    scenario: o.scenario,
    amount_minor: o.amountMinor,
    status: o.status,
    query_count: o.queryCount,
    reverse_attempts: o.reverseAttempts,
    refunded_minor: o.refundedMinor,
    reference_id: o.referenceId,
    payer_id: o.payerId,
    created_at_ms: o.createdAtMs,
    paid_at_ms: o.paidAtMs,
  };
}

export function createWalletSimulatorStorage(db: Db, dialect: 'sqlite' | 'postgres'): WalletSimulatorStorage {
  const books: WalletSimulatorStorage = {
    async claimCode(codeHash, upstreamOrderId, nowMs) {
      const result = await db
        .insertInto('sim_wallet_codes')
        .values({ code_hash: codeHash, upstream_order_id: upstreamOrderId, seen_at_ms: nowMs })
        .onConflict((oc) => oc.column('code_hash').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async claimCodeAndInsertOrder(order) {
      // PostgreSQL: one statement (a data-modifying CTE) instead of begin, two inserts and commit; the order is
      // inserted only from the code's claim row, so a used code inserts nothing. SQLite has no such CTEs, and its
      // transaction costs no round trips.
      if (dialect === 'postgres') {
        const inserted = await sql<{ upstream_order_id: string }>`
          with claimed as (
            insert into sim_wallet_codes (code_hash, upstream_order_id, seen_at_ms)
            values (${order.codeHash}, ${order.upstreamOrderId}, ${order.createdAtMs})
            on conflict (code_hash) do nothing
            returning code_hash
          )
          insert into sim_wallet_orders (upstream_order_id, code_hash, scenario, amount_minor, status, query_count,
            reverse_attempts, refunded_minor, reference_id, payer_id, created_at_ms, paid_at_ms)
          select cast(${order.upstreamOrderId} as text), code_hash, cast(${order.scenario} as text),
            cast(${order.amountMinor} as bigint), cast(${order.status} as text), cast(${order.queryCount} as integer),
            cast(${order.reverseAttempts} as integer), cast(${order.refundedMinor} as bigint),
            cast(${order.referenceId} as text), cast(${order.payerId} as text), cast(${order.createdAtMs} as bigint),
            cast(${order.paidAtMs} as bigint)
          from claimed
          returning upstream_order_id`.execute(db);
        return inserted.rows.length === 1;
      }
      const work = async (trx: Db): Promise<boolean> => {
        const inner = trx === db ? books : createWalletSimulatorStorage(trx, dialect);
        if (!(await inner.claimCode(order.codeHash, order.upstreamOrderId, order.createdAtMs))) return false;
        await inner.insertOrder(order);
        return true;
      };
      return db.isTransaction ? work(db) : (db as Kysely<Database>).transaction().execute(work);
    },
    async insertOrder(o) {
      await db
        .insertInto('sim_wallet_orders')
        .values(simulatedOrderRow(o))
        .execute();
    },
    async insertOrderIfAbsent(o) {
      const result = await db
        .insertInto('sim_wallet_orders')
        .values(simulatedOrderRow(o))
        .onConflict((oc) => oc.column('upstream_order_id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async getOrder(upstreamOrderId) {
      const row = await db.selectFrom('sim_wallet_orders').selectAll().where('upstream_order_id', '=', upstreamOrderId).executeTakeFirst();
      return row ? orderFromRow(row) : null;
    },
    async updateOrder(upstreamOrderId, changes) {
      const set = {
        ...(changes.status !== undefined ? { status: changes.status } : {}),
        ...(changes.scenario !== undefined ? { scenario: changes.scenario } : {}),
        ...(changes.queryCount !== undefined ? { query_count: changes.queryCount } : {}),
        ...(changes.reverseAttempts !== undefined ? { reverse_attempts: changes.reverseAttempts } : {}),
        ...(changes.refundedMinor !== undefined ? { refunded_minor: changes.refundedMinor } : {}),
        ...(changes.paidAtMs !== undefined ? { paid_at_ms: changes.paidAtMs } : {}),
      };
      if (Object.keys(set).length === 0) return;
      await db.updateTable('sim_wallet_orders').set(set).where('upstream_order_id', '=', upstreamOrderId).execute();
    },
    async moveOrder(upstreamOrderId, expected, changes) {
      const result = await db
        .updateTable('sim_wallet_orders')
        .set({
          ...(changes.status !== undefined ? { status: changes.status } : {}),
          ...(changes.refundedMinor !== undefined ? { refunded_minor: changes.refundedMinor } : {}),
          ...(changes.paidAtMs !== undefined ? { paid_at_ms: changes.paidAtMs } : {}),
        })
        .where('upstream_order_id', '=', upstreamOrderId)
        .where('status', '=', expected)
        .executeTakeFirst();
      return changed(result);
    },
    async closeOrder(upstreamOrderId, expected) {
      const result = await db
        .updateTable('sim_wallet_orders')
        .set({ status: 'CLOSED' })
        .where('upstream_order_id', '=', upstreamOrderId)
        .where('status', '=', expected)
        .executeTakeFirst();
      return changed(result);
    },
    async decideOrder(upstreamOrderId, changes) {
      const result = await db
        .updateTable('sim_wallet_orders')
        .set({ status: changes.status, scenario: changes.scenario, query_count: 0, paid_at_ms: changes.paidAtMs })
        .where('upstream_order_id', '=', upstreamOrderId)
        .where('status', '=', 'AWAITING_PAYER')
        .executeTakeFirst();
      return changed(result);
    },
    async applyRefund(refundId, upstreamOrderId, amountMinor, nowMs) {
      const apply = async (trx: Db): Promise<'applied' | 'duplicate' | 'exceeds'> => {
        const claimed = await trx
          .insertInto('sim_wallet_refunds')
          .values({ refund_id: refundId, upstream_order_id: upstreamOrderId, amount_minor: amountMinor, created_at_ms: nowMs })
          .onConflict((oc) => oc.column('refund_id').doNothing())
          .executeTakeFirst();
        if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) !== 1) return 'duplicate';
        // The total is raised in the database, so concurrent refunds cannot overwrite each other's amounts.
        const raised = await trx
          .updateTable('sim_wallet_orders')
          .set((eb) => ({ refunded_minor: eb('refunded_minor', '+', amountMinor) }))
          .where('upstream_order_id', '=', upstreamOrderId)
          .where('status', '=', 'SUCCESS')
          .where(sql<boolean>`refunded_minor + ${amountMinor} <= amount_minor`)
          .executeTakeFirst();
        if (!changed(raised)) throw new RefundExceeds();
        return 'applied';
      };
      try {
        return db.isTransaction ? await apply(db) : await (db as Kysely<Database>).transaction().execute(apply);
      } catch (error) {
        if (error instanceof RefundExceeds) return 'exceeds';
        throw error;
      }
    },
  };
  return books;
}
