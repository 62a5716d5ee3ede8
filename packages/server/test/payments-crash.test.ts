// Payments across process deaths and processes side by side: `tunai serve` killed mid-flight and restarted, two servers on one database.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { Kysely } from 'kysely';
import type { Credentials } from '../src/cli/main.js';
import type { Database } from '../src/store/schema.js';
import {
  advanceClock,
  clientFor,
  initialisedDatabase,
  killHard,
  startClockedServe,
  tunai,
  waitFor,
  type ClockedServer,
  type InitialisedDatabase,
} from './child-server.js';
import { forEachDialect, testDatabaseUrl, type FreshDatabase } from './harness.js';

/** QuickPay answers at once (no inline wait); the closed loop ticks every `closedLoopIntervalMs` (0: off). */
function serve(database: FreshDatabase, closedLoopIntervalMs: number): Promise<ClockedServer> {
  return startClockedServe(database, { TUNAI_QUICKPAY_WAIT_MS: '0', TUNAI_CLOSED_LOOP_INTERVAL_MS: String(closedLoopIntervalMs) });
}

interface Row {
  id: string;
  orderId: string;
  status: string;
  errorCode: string | null;
  amountMinor: number;
  leaseUntilMs: number | null;
  nextCheckAtMs: number | null;
  payments: number;
  reversals: number;
  sim: { status: string; queryCount: number; reverseAttempts: number; refundedMinor: number; amountMinor: number } | null;
  codesClaimed: number;
}

/** Reads a transaction, its ledger entries and the simulated wallet's order, straight from the database. */
async function readRow(db: Kysely<Database>, merchantId: string, orderId: string): Promise<Row> {
  const tx = await db
    .selectFrom('payment_transactions')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('order_id', '=', orderId)
    .executeTakeFirstOrThrow();
  const entries = await db.selectFrom('ledger_entries').select('kind').where('transaction_id', '=', tx.id).execute();
  const order = await db.selectFrom('sim_wallet_orders').selectAll().where('upstream_order_id', '=', tx.id).executeTakeFirst();
  const codes = await db.selectFrom('sim_wallet_codes').select('code_hash').where('upstream_order_id', '=', tx.id).execute();
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: tx.id,
    orderId,
    status: tx.status,
    errorCode: tx.error_code,
    amountMinor: Number(tx.amount_minor),
    leaseUntilMs: num(tx.lease_until_ms),
    nextCheckAtMs: num(tx.next_check_at_ms),
    payments: entries.filter((e) => e.kind === 'PAYMENT').length,
    reversals: entries.filter((e) => e.kind === 'REVERSAL').length,
    sim: order
      ? {
          status: order.status,
          queryCount: Number(order.query_count),
          reverseAttempts: Number(order.reverse_attempts),
          refundedMinor: Number(order.refunded_minor),
          amountMinor: Number(order.amount_minor),
        }
      : null,
    codesClaimed: codes.length,
  };
}

/** Transactions the closed loop could take now at `nowMs` (the same condition as its due query). */
async function dueCount(db: Kysely<Database>, nowMs: number): Promise<number> {
  const rows = await db
    .selectFrom('payment_transactions')
    .select('id')
    .where('next_check_at_ms', '<=', nowMs)
    .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<=', nowMs)]))
    .execute();
  return rows.length;
}

/**
 * Moves every server's clock by `seconds`, waits (real time, bounded) until their background loops have taken all
 * due work, then lets each finish the tick in flight (POST /sandbox/closed-loop/run joins a running tick).
 */
async function stepClocks(db: Kysely<Database>, servers: ClockedServer[], seconds: number): Promise<void> {
  // One move reaches every process: the offset lives in the database.
  await advanceClock(servers[0] as ClockedServer, seconds);
  const offsetMs = (servers[0] as ClockedServer).offsetMs;
  await waitFor(`the closed loop to take every due payment at +${offsetMs / 1000} s`, async () =>
    (await dueCount(db, Date.now() + offsetMs)) === 0 ? true : undefined,
  );
  for (const server of servers) {
    const response = await fetch(`${server.url}/sandbox/closed-loop/run`, { method: 'POST' });
    const text = await response.text();
    assert.equal(response.status, 200, text);
  }
}

async function expectLedgerCheckPasses(database: FreshDatabase): Promise<void> {
  const check = await tunai(['ledger', 'check', '--json', ...database.configArgs]);
  assert.equal(check.code, 0, `tunai ledger check failed:\n${check.stdout}${check.stderr}`);
  const report = JSON.parse(check.stdout) as { ok: boolean; violations: string[]; transactionsChecked: number };
  assert.equal(report.ok, true);
  assert.deepEqual(report.violations, []);
}

/** What the wallet kept (paid minus returned) must equal what our ledger says the merchant got. */
function assertWalletMatchesLedger(row: Row): void {
  assert.ok(row.sim, `${row.orderId}: the wallet has the order`);
  const walletKept = row.sim.status === 'SUCCESS' ? row.sim.amountMinor - row.sim.refundedMinor : 0;
  const ledgerKept = (row.payments - row.reversals) * row.amountMinor;
  assert.equal(ledgerKept, walletKept, `${row.orderId}: wallet and ledger agree on the money`);
  if (row.sim.status === 'REFUNDED') assert.equal(row.sim.refundedMinor, row.sim.amountMinor, `${row.orderId}: the payer got everything back`);
  assert.equal(row.codesClaimed, 1, `${row.orderId}: one auth code, used once`);
}

let codeCounter = 0;
/** A fresh WeChat Pay MY auth code (18 digits, prefix 13) ending in the simulator's magic `suffix`. */
function authCode(suffix: string): string {
  codeCounter += 1;
  return `13${String(codeCounter).padStart(12, '0')}${suffix}`;
}

forEachDialect('payments across crashes and processes', (dialect) => {
  let database: FreshDatabase;
  let credentials: Credentials;
  let db: Kysely<Database>;
  let lockClient: pg.Client | null = null;

  let world: InitialisedDatabase | undefined;
  before(async () => {
    world = await initialisedDatabase(dialect);
    ({ database, credentials, db } = world);
  });
  after(async () => {
    await lockClient?.end().catch(() => undefined);
    await world?.close();
  });

  const quickPayBody = (suffix: string, orderId: string, amount: number) => ({
    authCode: authCode(suffix),
    order: { id: orderId, title: 'crash test', detail: 'd', additionalData: 'x', currencyType: 'MYR', amount },
    ipAddress: '8.8.8.8',
    storeId: credentials.storeId,
  });

  test('payments left IN_PROCESS by a SIGKILLed server are finished by the next one, each charged once', async () => {
    // First life: no closed loop, so nothing moves after QuickPay answers.
    const first = await serve(database, 0);
    const client = clientFor(credentials, first);

    const successes = ['c-0000-a', 'c-0000-b', 'c-0000-c'];
    for (const [i, orderId] of successes.entries()) {
      const paid = await client.payment.quickPay(quickPayBody('0000', orderId, 100 + i));
      assert.equal(paid.item.status, 'SUCCESS');
    }
    const pending: Record<string, string> = {
      'c-1001': '1001',
      'c-1002': '1002',
      'c-1003': '1003',
      'c-1004': '1004',
      'c-3001': '3001',
      'c-3003': '3003',
      'c-3004': '3004',
    };
    for (const [i, [orderId, suffix]] of Object.entries(pending).entries()) {
      const started = await client.payment.quickPay(quickPayBody(suffix, orderId, 200 + i));
      assert.equal(started.item.status, 'IN_PROCESS', `${orderId} answers IN_PROCESS`);
      assert.equal(started.item.transactionAt, '0001-01-01T00:00:00Z');
    }

    // One more payment dies with its step lease held (60 s): the next process must leave it alone until the lease lapses.
    const leasedOrderId = 'c-leased-1001';
    // Postgres only: a payment the wallet charged whose outcome never committed (the process died inside that db transaction).
    const chargedOrderId = 'c-charged-0000';
    if (dialect === 'postgres') {
      // Real kills mid-request: one of our transactions holds locks on the tables the requests write next, so each
      // request is stuck exactly where we want it when the process dies.
      const schema = database.target.kind === 'postgres' ? database.target.schema : undefined;
      assert.ok(schema);
      const locks = new pg.Client({ connectionString: testDatabaseUrl, options: `-c search_path=${schema}` });
      lockClient = locks;
      await locks.connect();
      const waitsOn = async (table: string) => {
        const result = await locks.query<{ n: number }>('select count(*)::int as n from pg_locks where not granted and relation = $1::regclass', [table]);
        return (result.rows[0]?.n ?? 0) > 0 ? true : undefined;
      };
      const outcome = (request: Promise<unknown>) => request.then(() => 'answered', () => 'connection lost');
      await locks.query('begin');
      // 1. 0000: the wallet charges, then the db transaction recording SUCCESS and its PAYMENT entry waits on the ledger.
      await locks.query('lock table ledger_entries in exclusive mode');
      const charged = outcome(client.payment.quickPay(quickPayBody('0000', chargedOrderId, 298)));
      await waitFor('the outcome of a charged payment to wait on the ledger', () => waitsOn('ledger_entries'));
      // 2. 1001: QuickPay has persisted IN_PROCESS (lease held) and is inside the wallet call.
      await locks.query('lock table sim_wallet_orders in exclusive mode');
      const paying = outcome(client.payment.quickPay(quickPayBody('1001', leasedOrderId, 299)));
      await waitFor('QuickPay to be inside the wallet call', () => waitsOn('sim_wallet_orders'));
      await killHard(first);
      assert.equal(await charged, 'connection lost');
      assert.equal(await paying, 'connection lost');
      await locks.query('rollback');
      await locks.end();
      lockClient = null;
    } else {
      // SQLite locks the whole file, so a kill inside the wallet call cannot be staged from outside: put back the
      // lease QuickPay holds while it calls the wallet (creation + 60 s), as a process dying there leaves it, then kill.
      const started = await client.payment.quickPay(quickPayBody('1001', leasedOrderId, 299));
      assert.equal(started.item.status, 'IN_PROCESS');
      const tx = await db.selectFrom('payment_transactions').select(['id', 'created_at_ms']).where('order_id', '=', leasedOrderId).executeTakeFirstOrThrow();
      await db.updateTable('payment_transactions').set({ lease_until_ms: Number(tx.created_at_ms) + 60_000 }).where('id', '=', tx.id).execute();
      await killHard(first);
    }
    assert.equal(first.child.signalCode, 'SIGKILL');

    const merchantId = credentials.merchantId;
    const leasedBefore = await readRow(db, merchantId, leasedOrderId);
    assert.equal(leasedBefore.status, 'IN_PROCESS');
    assert.ok(leasedBefore.leaseUntilMs !== null && leasedBefore.leaseUntilMs > Date.now() + 30_000, 'the dead process still holds the lease');
    if (dialect === 'postgres') {
      const chargedBefore = await readRow(db, merchantId, chargedOrderId);
      assert.equal(chargedBefore.status, 'IN_PROCESS', 'the SUCCESS never committed');
      assert.equal(chargedBefore.payments, 0);
      assert.ok(chargedBefore.leaseUntilMs !== null && chargedBefore.leaseUntilMs > Date.now() + 30_000);
      assert.equal(chargedBefore.sim?.status, 'SUCCESS', 'but the wallet took the money');
    }
    for (const orderId of Object.keys(pending)) {
      const row = await readRow(db, merchantId, orderId);
      assert.equal(row.status, 'IN_PROCESS', `${orderId} is still IN_PROCESS after the kill`);
      assert.equal(row.leaseUntilMs, null, `${orderId} holds no lease`);
    }

    // Second life on the same database, closed loop on: it resumes what the dead one left.
    const second = await serve(database, 50);
    for (let step = 0; step < 4; step++) await stepClocks(db, [second], 10);
    // +40 s: the unleased payments that finish by querying are done, the leased one was not touched.
    const leasedMid = await readRow(db, merchantId, leasedOrderId);
    assert.equal(leasedMid.status, 'IN_PROCESS', 'a held lease keeps the next process away');
    assert.equal(leasedMid.leaseUntilMs, leasedBefore.leaseUntilMs);
    assert.equal(leasedMid.sim?.queryCount ?? 0, 0, 'nobody asked the wallet about the leased payment');
    if (dialect === 'postgres') assert.equal((await readRow(db, merchantId, chargedOrderId)).status, 'IN_PROCESS', 'nor about the charged one');
    for (const orderId of ['c-1001', 'c-1003', 'c-3001', 'c-3004']) {
      assert.notEqual((await readRow(db, merchantId, orderId)).status, 'IN_PROCESS', `${orderId} is final by +40 s`);
    }
    // Past the deadline (45 s) and the lease (60 s): reverses run, the leased payment is taken over.
    for (let step = 0; step < 5; step++) await stepClocks(db, [second], 10);
    const all = [leasedOrderId, ...(dialect === 'postgres' ? [chargedOrderId] : []), ...Object.keys(pending), ...successes];
    await waitFor('every payment to be final', async () => {
      for (const orderId of all) if ((await readRow(db, merchantId, orderId)).status === 'IN_PROCESS') return undefined;
      return true;
    });

    const expected: Record<string, { status: string; errorCode: string | null; payments: number; reversals: number; sim: string }> = {
      'c-1001': { status: 'SUCCESS', errorCode: null, payments: 1, reversals: 0, sim: 'SUCCESS' },
      'c-1002': { status: 'REVERSED', errorCode: 'PAYMENT_TIMEOUT', payments: 0, reversals: 0, sim: 'CLOSED' },
      'c-1003': { status: 'FAILED', errorCode: 'ORDER_CANCELLED', payments: 0, reversals: 0, sim: 'FAILED' },
      'c-1004': { status: 'REVERSED', errorCode: 'PAYMENT_TIMEOUT', payments: 1, reversals: 1, sim: 'REFUNDED' },
      'c-3001': { status: 'SUCCESS', errorCode: null, payments: 1, reversals: 0, sim: 'SUCCESS' },
      'c-3003': { status: 'REVERSED', errorCode: 'PAYMENT_TIMEOUT', payments: 0, reversals: 0, sim: 'CLOSED' },
      'c-3004': { status: 'SUCCESS', errorCode: null, payments: 1, reversals: 0, sim: 'SUCCESS' },
      'c-0000-a': { status: 'SUCCESS', errorCode: null, payments: 1, reversals: 0, sim: 'SUCCESS' },
      'c-0000-b': { status: 'SUCCESS', errorCode: null, payments: 1, reversals: 0, sim: 'SUCCESS' },
      'c-0000-c': { status: 'SUCCESS', errorCode: null, payments: 1, reversals: 0, sim: 'SUCCESS' },
    };
    const secondClient = clientFor(credentials, second);
    for (const [orderId, want] of Object.entries(expected)) {
      const row = await readRow(db, merchantId, orderId);
      assert.equal(row.status, want.status, `${orderId} status`);
      assert.equal(row.errorCode, want.errorCode, `${orderId} error code`);
      assert.equal(row.payments, want.payments, `${orderId} PAYMENT entries`);
      assert.equal(row.reversals, want.reversals, `${orderId} REVERSAL entries`);
      assert.equal(row.sim?.status, want.sim, `${orderId} wallet order`);
      assert.equal(row.nextCheckAtMs, null, `${orderId} is no longer scheduled`);
      assertWalletMatchesLedger(row);
      const seen = await secondClient.payment.transactionByOrderId(orderId);
      assert.equal(seen.item.status, want.status, `${orderId} over the API`);
      assert.deepEqual(seen.item.error, want.errorCode === null ? {} : { code: want.errorCode, message: seen.item.error.message });
      assert.notEqual(seen.item.transactionAt, '0001-01-01T00:00:00Z');
    }
    assert.equal((await readRow(db, merchantId, 'c-3003')).sim?.reverseAttempts, 2, '3003: one failed reverse, one that worked');
    assert.equal((await readRow(db, merchantId, 'c-1001')).sim?.queryCount, 2, '1001: queried twice, never again once final');

    // The leased payment: nobody queried it before the lease lapsed; past the deadline one last query still
    // finds the user paying, so it is reversed.
    const leased = await readRow(db, merchantId, leasedOrderId);
    assert.equal(leased.payments, 0);
    assert.equal(leased.reversals, 0);
    if (leased.sim) {
      // The wallet recorded the order before the process died: the user is still paying, so it is reversed.
      assert.equal(leased.status, 'REVERSED');
      assert.equal(leased.errorCode, 'PAYMENT_TIMEOUT');
      assert.equal(leased.codesClaimed, 1);
      assert.equal(leased.sim.status, 'CLOSED');
      assert.equal(leased.sim.queryCount, 1, 'one last query at the deadline, then the reverse');
    } else {
      // Postgres: the dying request's wallet write never committed, so the wallet has no such order: it failed.
      assert.equal(dialect, 'postgres');
      assert.equal(leased.status, 'FAILED');
      assert.equal(leased.errorCode, 'SYSTEM_ERROR');
      assert.equal(leased.codesClaimed, 0);
    }
    assert.equal((await secondClient.payment.transactionByOrderId(leasedOrderId)).item.status, leased.status);
    if (dialect === 'postgres') {
      // Charged but never recorded: untouched until the lease lapsed, then the last query before reversing finds
      // the wallet's SUCCESS, so the payment completes (no refund); the ledger books it once.
      const charged = await readRow(db, merchantId, chargedOrderId);
      assert.equal(charged.status, 'SUCCESS');
      assert.equal(charged.errorCode, null);
      assert.equal(charged.payments, 1);
      assert.equal(charged.reversals, 0);
      assert.equal(charged.sim?.status, 'SUCCESS');
      assert.equal(charged.sim?.queryCount, 1);
      assertWalletMatchesLedger(charged);
    }

    await expectLedgerCheckPasses(database);
    await killHard(second);
  });

  test('two servers on one database, both running the closed loop, finish each payment once', async () => {
    const [a, b] = await Promise.all([serve(database, 20), serve(database, 20)]);
    const client = clientFor(credentials, a);
    const suffixes = ['1001', '1002', '3003', '1004'];
    const orders = Array.from({ length: 20 }, (_, i) => ({ orderId: `m-${i}`, suffix: suffixes[i % suffixes.length] as string }));
    for (const [i, { orderId, suffix }] of orders.entries()) {
      const started = await client.payment.quickPay(quickPayBody(suffix, orderId, 500 + i));
      assert.equal(started.item.status, 'IN_PROCESS', orderId);
    }
    // Each process has its own sandbox clock; move both, 10 s at a time (well inside the 60 s lease), past the deadline.
    for (let step = 0; step < 7; step++) await stepClocks(db, [a, b], 10);
    await waitFor('all 20 payments to be final', async () => {
      for (const { orderId } of orders) if ((await readRow(db, credentials.merchantId, orderId)).status === 'IN_PROCESS') return undefined;
      return true;
    });

    const expected: Record<string, { status: string; payments: number; reversals: number; sim: string; reverseAttempts: number }> = {
      '1001': { status: 'SUCCESS', payments: 1, reversals: 0, sim: 'SUCCESS', reverseAttempts: 0 },
      '1002': { status: 'REVERSED', payments: 0, reversals: 0, sim: 'CLOSED', reverseAttempts: 1 },
      '3003': { status: 'REVERSED', payments: 0, reversals: 0, sim: 'CLOSED', reverseAttempts: 2 },
      '1004': { status: 'REVERSED', payments: 1, reversals: 1, sim: 'REFUNDED', reverseAttempts: 1 },
    };
    for (const { orderId, suffix } of orders) {
      const want = expected[suffix];
      assert.ok(want);
      const row = await readRow(db, credentials.merchantId, orderId);
      assert.equal(row.status, want.status, `${orderId} (${suffix}) status`);
      assert.equal(row.payments, want.payments, `${orderId} (${suffix}) PAYMENT entries`);
      assert.equal(row.reversals, want.reversals, `${orderId} (${suffix}) REVERSAL entries`);
      assert.equal(row.sim?.status, want.sim, `${orderId} (${suffix}) wallet order`);
      // Each upstream call happened once: two workers never ran the same step.
      assert.equal(row.sim?.reverseAttempts, want.reverseAttempts, `${orderId} (${suffix}) reverse calls`);
      if (suffix === '1001') assert.equal(row.sim?.queryCount, 2, `${orderId} queried exactly twice`);
      assertWalletMatchesLedger(row);
    }
    const viaB = await clientFor(credentials, b).payment.transactions({ limit: 50 });
    const statuses = new Map(viaB.items.map((t) => [t.order.id, t.status]));
    for (const { orderId, suffix } of orders) assert.equal(statuses.get(orderId), expected[suffix]?.status, `${orderId} seen through B`);

    await expectLedgerCheckPasses(database);
    await Promise.all([killHard(a), killHard(b)]);
  });

  test('40 partial refunds of 7 on 100 raced across two servers: exactly 14 succeed, never more than was paid', async () => {
    const [a, b] = await Promise.all([serve(database, 0), serve(database, 0)]);
    const clients = [clientFor(credentials, a), clientFor(credentials, b)];
    await Promise.all(clients.map((client) => client.getAccessToken()));
    const paid = await clients[0]!.payment.quickPay(quickPayBody('0000', 'race-refunds', 100));
    assert.equal(paid.item.status, 'SUCCESS');
    const transactionId = paid.item.transactionId;
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        clients[i % 2]!.send('POST', '/v3/payment/refund', {
          body: { transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 7 }, reason: `race ${i}` },
        }),
      ),
    );
    const summary = responses.map((r) => `${r.status} ${(r.body as { error?: { code?: string } }).error?.code ?? ''}`).join(', ');
    assert.equal(responses.filter((r) => r.status === 200).length, 14, summary);
    for (const refused of responses.filter((r) => r.status !== 200)) {
      assert.equal(refused.status, 400, refused.rawText);
      assert.ok(['INSUFFICIENT_REFUND_AMOUNT', 'PAYMENT_FULLY_REFUNDED'].includes((refused.body as { error: { code: string } }).error.code), refused.rawText);
    }

    const tx = await db.selectFrom('payment_transactions').selectAll().where('id', '=', transactionId).executeTakeFirstOrThrow();
    assert.deepEqual([tx.status, Number(tx.balance_minor), Number(tx.refunded_minor)], ['PARTIAL_REFUNDED', 2, 98]);
    const refunds = await db.selectFrom('payment_refunds').select(['id', 'status', 'amount_minor']).where('transaction_id', '=', transactionId).execute();
    assert.equal(refunds.length, 14);
    assert.ok(refunds.every((r) => r.status === 'SUCCESS' && Number(r.amount_minor) === 7));
    const refundEntries = await db.selectFrom('ledger_entries').select(['refund_id']).where('transaction_id', '=', transactionId).where('kind', '=', 'REFUND').execute();
    assert.deepEqual(refundEntries.map((e) => e.refund_id).sort(), refunds.map((r) => r.id).sort());
    const wallet = await readRow(db, credentials.merchantId, 'race-refunds');
    assert.equal(wallet.sim?.refundedMinor, 98);
    await expectLedgerCheckPasses(database);
    await Promise.all([killHard(a), killHard(b)]);
  });
});
