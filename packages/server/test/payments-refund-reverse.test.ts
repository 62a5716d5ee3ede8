// Refund and reverse over HTTP on both databases: every rule and error, the stored rows and ledger, and the concurrency guarantees.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { RawResponse } from '@tunai/client';
import type { Transaction } from '@tunai/client/contract';
import { checkLedger } from '../src/app/check-ledger.js';
import { sha256Hex } from '../src/lib/secrets.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

const execFileAsync = promisify(execFile);
const bin = new URL('../bin/tunai.js', import.meta.url).pathname;

/** Auth codes are single use: every code in this file is distinct (WeChat Pay Malaysia, 18 digits, magic last four kept). */
let codeCounter = 0;
function authCode(suffix = '0000'): string {
  codeCounter += 1;
  return `13${String(codeCounter).padStart(12, '0')}${suffix}`;
}

let orderCounter = 0;
function orderId(prefix: string): string {
  orderCounter += 1;
  return `${prefix}-${orderCounter}`;
}

function errorCode(response: RawResponse): string | undefined {
  const body = response.body as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

function expectError(response: RawResponse, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${response.rawText}`);
  assert.equal(errorCode(response), code, response.rawText);
}

function itemOf(response: RawResponse): Transaction {
  assert.equal(response.status, 200, response.rawText);
  return (response.body as { item: Transaction }).item;
}

async function ledgerCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [bin, 'ledger', 'check', ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

forEachDialect('payments refund and reverse', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let other: Developer;
  let db: Kysely<Database>;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Refund Merchant' });
    other = await createDeveloper(server, { companyName: 'Other Merchant' });
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  // ---- request helpers -------------------------------------------------------------------------------------------

  const quickPayBody = (code: string, id: string, amount = 100, developer: Developer = dev) => ({
    authCode: code,
    order: { id, title: 'title', detail: 'desc', additionalData: 'x', currencyType: 'MYR', amount },
    ipAddress: '8.8.8.8',
    storeId: developer.merchant.store.id,
  });

  const quickPayRaw = (code: string, id: string, amount = 100, developer: Developer = dev) =>
    developer.client.send('POST', '/v3/payment/quickpay', { body: quickPayBody(code, id, amount, developer) });

  /** A fresh immediate-success payment. */
  async function paid(amount = 100, developer: Developer = dev): Promise<Transaction> {
    const item = itemOf(await quickPayRaw(authCode('0000'), orderId('p'), amount, developer));
    assert.equal(item.status, 'SUCCESS');
    assert.equal(item.balanceAmount, amount);
    return item;
  }

  const refundRaw = (transactionId: string, type: string, amount: number, currencyType = 'MYR', developer: Developer = dev) =>
    developer.client.send('POST', '/v3/payment/refund', { body: { transactionId, refund: { type, currencyType, amount }, reason: 'customer asked' } });

  const reverseRaw = (id: string, developer: Developer = dev) => developer.client.send('POST', '/v3/payment/reverse', { body: { orderId: id } });

  // ---- stored state --------------------------------------------------------------------------------------------------

  async function txRow(transactionId: string) {
    const row = await db.selectFrom('payment_transactions').selectAll().where('id', '=', transactionId).executeTakeFirstOrThrow();
    return {
      status: row.status,
      amount: Number(row.amount_minor),
      balance: Number(row.balance_minor),
      refunded: Number(row.refunded_minor),
      reverseRequested: Number(row.reverse_requested) === 1,
      reverseAttempts: Number(row.reverse_attempts),
      errorCode: row.error_code,
      updatedAtMs: Number(row.updated_at_ms),
    };
  }

  async function refundRows(transactionId: string) {
    const rows = await db.selectFrom('payment_refunds').selectAll().where('transaction_id', '=', transactionId).orderBy('created_at_ms').orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, type: r.type, amount: Number(r.amount_minor), status: r.status, merchantId: r.merchant_id }));
  }

  async function ledgerRows(transactionId: string) {
    const rows = await db.selectFrom('ledger_entries').selectAll().where('transaction_id', '=', transactionId).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, kind: r.kind, amount: Number(r.amount_minor), refundId: r.refund_id }));
  }

  async function countRows(table: 'payment_refunds' | 'ledger_entries' | 'ledger_postings' | 'payment_transactions' | 'sim_wallet_orders' | 'sim_wallet_refunds') {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Everything an error must leave untouched: the transaction row and the global refund and ledger tables. */
  async function snapshot(transactionId: string | null) {
    return {
      tx: transactionId === null ? null : await txRow(transactionId),
      refunds: await countRows('payment_refunds'),
      entries: await countRows('ledger_entries'),
      postings: await countRows('ledger_postings'),
      simRefunds: await countRows('sim_wallet_refunds'),
    };
  }

  async function assertLedgerClean(): Promise<void> {
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
    assert.equal(report.transactionsChecked, await countRows('payment_transactions'));
  }

  async function assertCliLedgerClean(): Promise<void> {
    const transactions = await countRows('payment_transactions');
    const [plain, json] = await Promise.all([ledgerCli(server.database.configArgs), ledgerCli([...server.database.configArgs, '--json'])]);
    assert.equal(plain.code, 0, `${plain.stdout}${plain.stderr}`);
    assert.equal(plain.stdout, `ledger check: ok (${transactions} transactions, every entry balanced, no account below its floor)\n`);
    assert.equal(json.code, 0, `${json.stdout}${json.stderr}`);
    assert.deepEqual(JSON.parse(json.stdout), { ok: true, transactionsChecked: transactions, violations: [] });
  }

  async function pollClosedLoop(times: number, stepMs = 5_000): Promise<void> {
    for (let i = 0; i < times; i++) {
      server.clock.advanceMs(stepMs);
      await server.running.runClosedLoop();
    }
  }

  // ---- refunds -------------------------------------------------------------------------------------------------------

  test('FULL refund of a success: FULL_REFUNDED, balance 0, one SUCCESS refund row and one REFUND entry', async () => {
    const tx = await paid(100);
    const refunded = itemOf(await refundRaw(tx.transactionId, 'FULL', 100));
    assert.equal(refunded.transactionId, tx.transactionId);
    assert.equal(refunded.status, 'FULL_REFUNDED');
    assert.equal(refunded.balanceAmount, 0);
    assert.equal(refunded.order.amount, 100);

    const row = await txRow(tx.transactionId);
    assert.equal(row.status, 'FULL_REFUNDED');
    assert.equal(row.balance, 0);
    assert.equal(row.refunded, 100);
    const refunds = await refundRows(tx.transactionId);
    assert.deepEqual(refunds.map((r) => [r.type, r.amount, r.status, r.merchantId]), [['FULL', 100, 'SUCCESS', dev.merchant.merchant.id]]);
    const entries = await ledgerRows(tx.transactionId);
    assert.deepEqual(entries.map((e) => [e.kind, e.amount, e.refundId]), [['PAYMENT', 100, ''], ['REFUND', 100, refunds[0]?.id]]);

    const fetched = (await dev.client.payment.transaction(tx.transactionId)).item;
    assert.equal(fetched.status, 'FULL_REFUNDED');
    assert.equal(fetched.balanceAmount, 0);
    await assertLedgerClean();
  });

  test('PARTIAL refunds track balanceAmount; the one reaching 0 makes it FULL_REFUNDED', async () => {
    const tx = await paid(100);
    const steps: [number, number][] = [[30, 70], [25, 45], [44, 1]];
    for (const [amount, left] of steps) {
      const item = itemOf(await refundRaw(tx.transactionId, 'PARTIAL', amount));
      assert.equal(item.status, 'PARTIAL_REFUNDED');
      assert.equal(item.balanceAmount, left);
      const row = await txRow(tx.transactionId);
      assert.deepEqual([row.status, row.balance, row.refunded], ['PARTIAL_REFUNDED', left, 100 - left]);
    }
    const last = itemOf(await refundRaw(tx.transactionId, 'PARTIAL', 1));
    assert.equal(last.status, 'FULL_REFUNDED');
    assert.equal(last.balanceAmount, 0);

    const row = await txRow(tx.transactionId);
    assert.deepEqual([row.status, row.balance, row.refunded], ['FULL_REFUNDED', 0, 100]);
    const refunds = await refundRows(tx.transactionId);
    assert.deepEqual(refunds.map((r) => [r.type, r.amount, r.status]), [['PARTIAL', 30, 'SUCCESS'], ['PARTIAL', 25, 'SUCCESS'], ['PARTIAL', 44, 'SUCCESS'], ['PARTIAL', 1, 'SUCCESS']]);
    const entries = await ledgerRows(tx.transactionId);
    assert.deepEqual(entries.filter((e) => e.kind === 'PAYMENT').map((e) => e.amount), [100]);
    const refundEntries = entries.filter((e) => e.kind === 'REFUND');
    assert.equal(refundEntries.length, 4);
    // One REFUND entry per accepted refund, each naming its refund row with that amount.
    for (const refund of refunds) {
      assert.deepEqual(refundEntries.filter((e) => e.refundId === refund.id).map((e) => e.amount), [refund.amount]);
    }
    await assertLedgerClean();
  });

  test('FULL with an amount other than the remaining balance is REFUND_AMT_NOT_SAME_AS_TRANSACTION and writes nothing', async () => {
    const tx = await paid(100);
    for (const amount of [99, 101, 1]) {
      const before = await snapshot(tx.transactionId);
      expectError(await refundRaw(tx.transactionId, 'FULL', amount), 400, 'REFUND_AMT_NOT_SAME_AS_TRANSACTION');
      assert.deepEqual(await snapshot(tx.transactionId), before);
    }
    itemOf(await refundRaw(tx.transactionId, 'PARTIAL', 30));
    // After a partial refund FULL means the remaining 70, not the original 100.
    const before = await snapshot(tx.transactionId);
    expectError(await refundRaw(tx.transactionId, 'FULL', 100), 400, 'REFUND_AMT_NOT_SAME_AS_TRANSACTION');
    assert.deepEqual(await snapshot(tx.transactionId), before);
    assert.equal(before.tx?.balance, 70);

    const full = itemOf(await refundRaw(tx.transactionId, 'FULL', 70));
    assert.equal(full.status, 'FULL_REFUNDED');
    assert.equal(full.balanceAmount, 0);
    assert.deepEqual((await refundRows(tx.transactionId)).map((r) => [r.type, r.amount, r.status]), [['PARTIAL', 30, 'SUCCESS'], ['FULL', 70, 'SUCCESS']]);
    await assertLedgerClean();
  });

  test('PARTIAL over the remaining balance is INSUFFICIENT_REFUND_AMOUNT and writes nothing', async () => {
    const tx = await paid(100);
    let before = await snapshot(tx.transactionId);
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 101), 400, 'INSUFFICIENT_REFUND_AMOUNT');
    assert.deepEqual(await snapshot(tx.transactionId), before);

    itemOf(await refundRaw(tx.transactionId, 'PARTIAL', 60));
    before = await snapshot(tx.transactionId);
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 41), 400, 'INSUFFICIENT_REFUND_AMOUNT');
    assert.deepEqual(await snapshot(tx.transactionId), before);
    assert.deepEqual([before.tx?.status, before.tx?.balance], ['PARTIAL_REFUNDED', 40]);

    const rest = itemOf(await refundRaw(tx.transactionId, 'PARTIAL', 40));
    assert.equal(rest.status, 'FULL_REFUNDED');
    await assertLedgerClean();
  });

  test('a refund of a FULL_REFUNDED transaction is PAYMENT_FULLY_REFUNDED and writes nothing', async () => {
    const tx = await paid(100);
    itemOf(await refundRaw(tx.transactionId, 'FULL', 100));
    const before = await snapshot(tx.transactionId);
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 10), 400, 'PAYMENT_FULLY_REFUNDED');
    expectError(await refundRaw(tx.transactionId, 'FULL', 100), 400, 'PAYMENT_FULLY_REFUNDED');
    assert.deepEqual(await snapshot(tx.transactionId), before);
    assert.equal((await refundRows(tx.transactionId)).length, 1);
  });

  test('a refund of an IN_PROCESS payment is TRANSACTIN_STATUS_NOT_SUCCESS; once polled to SUCCESS it refunds', async () => {
    const id = orderId('inproc');
    const first = itemOf(await quickPayRaw(authCode('1001'), id, 100));
    assert.equal(first.status, 'IN_PROCESS');
    const before = await snapshot(first.transactionId);
    expectError(await refundRaw(first.transactionId, 'PARTIAL', 10), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
    expectError(await refundRaw(first.transactionId, 'FULL', 100), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
    assert.deepEqual(await snapshot(first.transactionId), before);
    assert.deepEqual(await ledgerRows(first.transactionId), []);

    // 1001 pays at the 2nd query: first query at 5 s, the next 3 s later.
    await pollClosedLoop(2);
    assert.equal((await dev.client.payment.transactionByOrderId(id)).item.status, 'SUCCESS');
    const refunded = itemOf(await refundRaw(first.transactionId, 'PARTIAL', 10));
    assert.equal(refunded.status, 'PARTIAL_REFUNDED');
    assert.equal(refunded.balanceAmount, 90);
    await assertLedgerClean();
  });

  test('a refund of a FAILED payment is TRANSACTIN_STATUS_NOT_SUCCESS and writes nothing', async () => {
    const id = orderId('failed');
    expectError(await quickPayRaw(authCode('2001'), id, 100), 400, 'INSUFFICIENT_CARD_BALANCE');
    const tx = (await dev.client.payment.transactionByOrderId(id)).item;
    assert.equal(tx.status, 'FAILED');
    const before = await snapshot(tx.transactionId);
    expectError(await refundRaw(tx.transactionId, 'FULL', 100), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 10), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
    assert.deepEqual(await snapshot(tx.transactionId), before);
    assert.deepEqual(await refundRows(tx.transactionId), []);
  });

  test('a refund of a REVERSED payment (paid or still in process) is TRANSACTIN_STATUS_NOT_SUCCESS and writes nothing', async () => {
    const paidOrder = orderId('rev-paid');
    const paidTx = itemOf(await quickPayRaw(authCode('0000'), paidOrder, 100));
    assert.equal(itemOf(await reverseRaw(paidOrder)).status, 'REVERSED');
    const payingOrder = orderId('rev-paying');
    const payingTx = itemOf(await quickPayRaw(authCode('1002'), payingOrder, 100));
    assert.equal(itemOf(await reverseRaw(payingOrder)).status, 'REVERSED');

    for (const tx of [paidTx, payingTx]) {
      const before = await snapshot(tx.transactionId);
      expectError(await refundRaw(tx.transactionId, 'FULL', 100), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
      expectError(await refundRaw(tx.transactionId, 'PARTIAL', 10), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
      assert.deepEqual(await snapshot(tx.transactionId), before);
      assert.deepEqual(await refundRows(tx.transactionId), []);
    }
    await assertLedgerClean();
  });

  test('a non-MYR refund is PAYMENT_UNSUPPORTED_CURRENCY_TYPE and writes nothing', async () => {
    const tx = await paid(100);
    const before = await snapshot(tx.transactionId);
    for (const currencyType of ['USD', 'SGD', 'myr']) {
      expectError(await refundRaw(tx.transactionId, 'PARTIAL', 10, currencyType), 400, 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE');
      expectError(await refundRaw(tx.transactionId, 'FULL', 100, currencyType), 400, 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE');
    }
    assert.deepEqual(await snapshot(tx.transactionId), before);
    assert.deepEqual([before.tx?.status, before.tx?.balance], ['SUCCESS', 100]);
  });

  test('an unknown transaction id and another merchant\'s transaction are 404 TRANSACTION_NOT_FOUND; nothing written', async () => {
    const mine = await paid(100);
    const theirs = await paid(100, other);
    const before = await snapshot(theirs.transactionId);
    const unknown = `${mine.transactionId.slice(0, 12)}999999999999`;
    expectError(await refundRaw(unknown, 'PARTIAL', 10), 404, 'TRANSACTION_NOT_FOUND');
    expectError(await refundRaw('1', 'FULL', 100), 404, 'TRANSACTION_NOT_FOUND');
    expectError(await refundRaw(theirs.transactionId, 'PARTIAL', 10), 404, 'TRANSACTION_NOT_FOUND');
    expectError(await refundRaw(theirs.transactionId, 'FULL', 100), 404, 'TRANSACTION_NOT_FOUND');
    assert.deepEqual(await snapshot(theirs.transactionId), before);
    assert.deepEqual([before.tx?.status, before.tx?.balance], ['SUCCESS', 100]);
    // The owner still can.
    assert.equal(itemOf(await refundRaw(theirs.transactionId, 'PARTIAL', 10, 'MYR', other)).balanceAmount, 90);
    await assertLedgerClean();
  });

  test('a refund amount of 0 (or negative, fractional, missing) is VALIDATION_ERROR and writes nothing', async () => {
    const tx = await paid(100);
    const before = await snapshot(tx.transactionId);
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 0), 400, 'VALIDATION_ERROR');
    expectError(await refundRaw(tx.transactionId, 'FULL', 0), 400, 'VALIDATION_ERROR');
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', -5), 400, 'VALIDATION_ERROR');
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 1.5), 400, 'VALIDATION_ERROR');
    expectError(
      await dev.client.send('POST', '/v3/payment/refund', { body: { transactionId: tx.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR' }, reason: 'r' } }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(await refundRaw(tx.transactionId, 'HALF', 10), 400, 'VALIDATION_ERROR');
    assert.deepEqual(await snapshot(tx.transactionId), before);
  });

  // ---- reverse -------------------------------------------------------------------------------------------------------

  test('reverse of a SUCCESS: REVERSED, balance 0, ledger PAYMENT + REVERSAL; again → 200 unchanged; refund after → TRANSACTIN_STATUS_NOT_SUCCESS', async () => {
    const id = orderId('rev-ok');
    const tx = itemOf(await quickPayRaw(authCode('0000'), id, 250));
    const reversed = itemOf(await reverseRaw(id));
    assert.equal(reversed.transactionId, tx.transactionId);
    assert.equal(reversed.status, 'REVERSED');
    assert.equal(reversed.balanceAmount, 0);
    assert.deepEqual(reversed.error, {});
    const row = await txRow(tx.transactionId);
    assert.deepEqual([row.status, row.balance, row.refunded], ['REVERSED', 0, 0]);
    assert.deepEqual((await ledgerRows(tx.transactionId)).map((e) => [e.kind, e.amount]), [['PAYMENT', 250], ['REVERSAL', 250]]);
    const simOrder = await db.selectFrom('sim_wallet_orders').selectAll().where('upstream_order_id', '=', tx.transactionId).executeTakeFirstOrThrow();
    assert.equal(simOrder.status, 'REFUNDED');

    const before = await snapshot(tx.transactionId);
    const again = itemOf(await reverseRaw(id));
    assert.deepEqual(again, reversed);
    expectError(await refundRaw(tx.transactionId, 'FULL', 250), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 10), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
    assert.deepEqual(await snapshot(tx.transactionId), before);
    await assertLedgerClean();
  });

  test('reverse of an IN_PROCESS payment (1002): REVERSED at once with no ledger entries; again → 200 unchanged', async () => {
    const id = orderId('rev-paying');
    const tx = itemOf(await quickPayRaw(authCode('1002'), id, 100));
    assert.equal(tx.status, 'IN_PROCESS');
    const reversed = itemOf(await reverseRaw(id));
    assert.equal(reversed.status, 'REVERSED');
    assert.equal(reversed.balanceAmount, 0);
    // A merchant's reverse is not a timeout.
    assert.deepEqual(reversed.error, {});
    assert.notEqual(reversed.transactionAt, '0001-01-01T00:00:00Z');
    const row = await txRow(tx.transactionId);
    assert.deepEqual([row.status, row.balance, row.errorCode], ['REVERSED', 0, null]);
    assert.deepEqual(await ledgerRows(tx.transactionId), []);

    const before = await snapshot(tx.transactionId);
    assert.deepEqual(itemOf(await reverseRaw(id)), reversed);
    assert.deepEqual(await snapshot(tx.transactionId), before);
    // The closed loop has nothing more to do with it.
    await pollClosedLoop(1, 60_000);
    assert.deepEqual(itemOf(await reverseRaw(id)), reversed);
    assert.deepEqual(await ledgerRows(tx.transactionId), []);
    await assertLedgerClean();
  });

  test('reverse of a FAILED payment (2001) is TRANSACTION_STATUS_NOT_IN_PROCESS and writes nothing', async () => {
    const id = orderId('rev-failed');
    expectError(await quickPayRaw(authCode('2001'), id, 100), 400, 'INSUFFICIENT_CARD_BALANCE');
    const tx = (await dev.client.payment.transactionByOrderId(id)).item;
    const before = await snapshot(tx.transactionId);
    expectError(await reverseRaw(id), 400, 'TRANSACTION_STATUS_NOT_IN_PROCESS');
    assert.deepEqual(await snapshot(tx.transactionId), before);
    assert.deepEqual([before.tx?.status, before.tx?.reverseRequested], ['FAILED', false]);
  });

  test('reverse of a partially or fully refunded payment is TRANSACTION_STATUS_NOT_IN_PROCESS and writes nothing', async () => {
    const partial = itemOf(await quickPayRaw(authCode('0000'), orderId('rev-part'), 100));
    itemOf(await refundRaw(partial.transactionId, 'PARTIAL', 10));
    const full = itemOf(await quickPayRaw(authCode('0000'), orderId('rev-full'), 100));
    itemOf(await refundRaw(full.transactionId, 'FULL', 100));
    for (const tx of [partial, full]) {
      const before = await snapshot(tx.transactionId);
      expectError(await reverseRaw(tx.order.id), 400, 'TRANSACTION_STATUS_NOT_IN_PROCESS');
      assert.deepEqual(await snapshot(tx.transactionId), before);
      assert.equal(before.tx?.reverseRequested, false);
    }
    // The partial one can still be refunded: the failed reverse left no mark.
    assert.equal(itemOf(await refundRaw(partial.transactionId, 'PARTIAL', 90)).status, 'FULL_REFUNDED');
    await assertLedgerClean();
  });

  test('reverse of an unknown order or another merchant\'s order is 404 TRANSACTION_NOT_FOUND', async () => {
    expectError(await reverseRaw('no-such-order'), 404, 'TRANSACTION_NOT_FOUND');
    const theirs = await paid(100, other);
    const before = await snapshot(theirs.transactionId);
    expectError(await reverseRaw(theirs.order.id), 404, 'TRANSACTION_NOT_FOUND');
    assert.deepEqual(await snapshot(theirs.transactionId), before);
    assert.equal(before.tx?.status, 'SUCCESS');
  });

  test('3003: the first reverse is 400 FAILED_TO_REVERSE_ORDER; the request persists and the loop reverses after the 2 s backoff', async () => {
    const id = orderId('rev-3003');
    const tx = itemOf(await quickPayRaw(authCode('3003'), id, 100));
    assert.equal(tx.status, 'IN_PROCESS');
    expectError(await reverseRaw(id), 400, 'FAILED_TO_REVERSE_ORDER');
    let row = await txRow(tx.transactionId);
    assert.deepEqual([row.status, row.reverseRequested, row.reverseAttempts], ['IN_PROCESS', true, 1]);
    // Not yet due: the backoff is 2 s.
    server.clock.advanceMs(1_000);
    await server.running.runClosedLoop();
    assert.equal((await txRow(tx.transactionId)).status, 'IN_PROCESS');
    expectError(await refundRaw(tx.transactionId, 'PARTIAL', 10), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');

    server.clock.advanceMs(1_000);
    await server.running.runClosedLoop();
    row = await txRow(tx.transactionId);
    assert.deepEqual([row.status, row.balance, row.errorCode], ['REVERSED', 0, null]);
    const now = (await dev.client.payment.transactionByOrderId(id)).item;
    assert.equal(now.status, 'REVERSED');
    assert.deepEqual(now.error, {});
    assert.deepEqual(await ledgerRows(tx.transactionId), []);
    assert.equal(itemOf(await reverseRaw(id)).status, 'REVERSED');
    await assertLedgerClean();
  });

  test('reverse is accepted up to 15 minutes after creation, then EXCEED_TIME_FOR_REVERSE_TRANSACTION', async () => {
    const inTime = itemOf(await quickPayRaw(authCode('0000'), orderId('rev-edge'), 100));
    const late = itemOf(await quickPayRaw(authCode('0000'), orderId('rev-late'), 100));
    server.clock.advanceMs(15 * 60_000);
    assert.equal(itemOf(await reverseRaw(inTime.order.id)).status, 'REVERSED');
    server.clock.advanceMs(1_000);
    const before = await snapshot(late.transactionId);
    expectError(await reverseRaw(late.order.id), 400, 'EXCEED_TIME_FOR_REVERSE_TRANSACTION');
    assert.deepEqual(await snapshot(late.transactionId), before);
    assert.deepEqual([before.tx?.status, before.tx?.reverseRequested], ['SUCCESS', false]);
    // A refund is still the way back for the late one.
    assert.equal(itemOf(await refundRaw(late.transactionId, 'FULL', 100)).status, 'FULL_REFUNDED');
    await assertLedgerClean();
  });

  // ---- concurrency ---------------------------------------------------------------------------------------------------

  test('50 concurrent QuickPays with the same order id and body: one transaction, one PAYMENT entry, one wallet order; the rest TRANSACTION_DUPLICATE', async () => {
    await dev.client.getAccessToken();
    const id = orderId('race-same');
    const code = authCode('0000');
    const simOrdersBefore = await countRows('sim_wallet_orders');
    const responses = await Promise.all(Array.from({ length: 50 }, () => quickPayRaw(code, id, 100)));
    assert.deepEqual(responses.filter((r) => r.status >= 500).map((r) => r.rawText), []);
    const winners = responses.filter((r) => r.status === 200);
    assert.equal(winners.length, 1, responses.map((r) => `${r.status} ${errorCode(r) ?? ''}`).join(', '));
    for (const loser of responses.filter((r) => r.status !== 200)) expectError(loser, 400, 'TRANSACTION_DUPLICATE');

    const winner = itemOf(winners[0] as RawResponse);
    assert.equal(winner.status, 'SUCCESS');
    const rows = await db.selectFrom('payment_transactions').select(['id', 'status']).where('merchant_id', '=', dev.merchant.merchant.id).where('order_id', '=', id).execute();
    assert.deepEqual(rows, [{ id: winner.transactionId, status: 'SUCCESS' }]);
    assert.deepEqual((await ledgerRows(winner.transactionId)).map((e) => [e.kind, e.amount]), [['PAYMENT', 100]]);
    const simOrders = await db.selectFrom('sim_wallet_orders').select('upstream_order_id').where('code_hash', '=', sha256Hex(`authcode:${code}`)).execute();
    assert.deepEqual(simOrders, [{ upstream_order_id: winner.transactionId }]);
    assert.equal(await countRows('sim_wallet_orders'), simOrdersBefore + 1);
    await assertLedgerClean();
    await assertCliLedgerClean();
  });

  test('50 concurrent QuickPays with the same order id and differing bodies: one transaction; twins of the winner TRANSACTION_DUPLICATE, others ORDER_ID_DUPLICATE', async () => {
    await dev.client.getAccessToken();
    const id = orderId('race-mixed');
    // Five bodies (own auth code and amount each), ten requests apiece.
    const bodies = Array.from({ length: 5 }, (_, i) => ({ code: authCode('0000'), amount: 100 + i }));
    const simOrdersBefore = await countRows('sim_wallet_orders');
    const entriesBefore = await countRows('ledger_entries');
    const sent = Array.from({ length: 50 }, (_, i) => bodies[i % bodies.length] as { code: string; amount: number });
    const responses = await Promise.all(sent.map((b) => quickPayRaw(b.code, id, b.amount)));
    assert.deepEqual(responses.filter((r) => r.status >= 500).map((r) => r.rawText), []);
    const winnerIndexes = responses.flatMap((r, i) => (r.status === 200 ? [i] : []));
    assert.equal(winnerIndexes.length, 1, responses.map((r) => `${r.status} ${errorCode(r) ?? ''}`).join(', '));
    const winnerBody = sent[winnerIndexes[0] as number] as { code: string; amount: number };
    const winner = itemOf(responses[winnerIndexes[0] as number] as RawResponse);
    assert.equal(winner.order.amount, winnerBody.amount);
    responses.forEach((r, i) => {
      if (i === winnerIndexes[0]) return;
      expectError(r, 400, sent[i] === winnerBody ? 'TRANSACTION_DUPLICATE' : 'ORDER_ID_DUPLICATE');
    });

    const rows = await db.selectFrom('payment_transactions').select(['id', 'amount_minor']).where('merchant_id', '=', dev.merchant.merchant.id).where('order_id', '=', id).execute();
    assert.deepEqual(rows.map((r) => [r.id, Number(r.amount_minor)]), [[winner.transactionId, winnerBody.amount]]);
    assert.deepEqual((await ledgerRows(winner.transactionId)).map((e) => [e.kind, e.amount]), [['PAYMENT', winnerBody.amount]]);
    assert.equal(await countRows('ledger_entries'), entriesBefore + 1);
    const hashes = bodies.map((b) => sha256Hex(`authcode:${b.code}`));
    const simOrders = await db.selectFrom('sim_wallet_orders').select(['upstream_order_id', 'code_hash']).where('code_hash', 'in', hashes).execute();
    assert.deepEqual(simOrders, [{ upstream_order_id: winner.transactionId, code_hash: sha256Hex(`authcode:${winnerBody.code}`) }]);
    assert.equal(await countRows('sim_wallet_orders'), simOrdersBefore + 1);
    await assertLedgerClean();
    await assertCliLedgerClean();
  });

  test('50 concurrent PARTIAL refunds of 7 on 100: exactly 14 accepted, one refund row and one REFUND entry each, balance 2', async () => {
    await dev.client.getAccessToken();
    const tx = await paid(100);
    const simRefundsBefore = await countRows('sim_wallet_refunds');
    const responses = await Promise.all(Array.from({ length: 50 }, () => refundRaw(tx.transactionId, 'PARTIAL', 7)));
    assert.deepEqual(responses.filter((r) => r.status >= 500).map((r) => r.rawText), []);
    const accepted = responses.filter((r) => r.status === 200);
    assert.equal(accepted.length, 14, responses.map((r) => `${r.status} ${errorCode(r) ?? ''}`).join(', '));
    for (const response of accepted) {
      const item = itemOf(response);
      assert.equal(item.status, 'PARTIAL_REFUNDED');
      assert.ok(item.balanceAmount >= 2 && item.balanceAmount <= 93 && (100 - item.balanceAmount) % 7 === 0, `balance ${item.balanceAmount}`);
    }
    for (const rejected of responses.filter((r) => r.status !== 200)) {
      assert.equal(rejected.status, 400, rejected.rawText);
      assert.ok(['INSUFFICIENT_REFUND_AMOUNT', 'PAYMENT_FULLY_REFUNDED'].includes(errorCode(rejected) ?? ''), rejected.rawText);
    }

    const row = await txRow(tx.transactionId);
    assert.deepEqual([row.status, row.balance, row.refunded], ['PARTIAL_REFUNDED', 100 - 7 * 14, 7 * 14]);
    const refunds = await refundRows(tx.transactionId);
    assert.equal(refunds.length, 14);
    assert.ok(refunds.every((r) => r.status === 'SUCCESS' && r.amount === 7 && r.type === 'PARTIAL'));
    const entries = await ledgerRows(tx.transactionId);
    assert.equal(entries.filter((e) => e.kind === 'PAYMENT').length, 1);
    const refundEntries = entries.filter((e) => e.kind === 'REFUND');
    assert.equal(refundEntries.length, 14);
    for (const refund of refunds) assert.deepEqual(refundEntries.filter((e) => e.refundId === refund.id).map((e) => e.amount), [7]);
    assert.equal(await countRows('sim_wallet_refunds'), simRefundsBefore + 14);
    assert.equal((await dev.client.payment.transaction(tx.transactionId)).item.balanceAmount, 2);
    await assertLedgerClean();
    await assertCliLedgerClean();
  });

  test(
    'the wallet simulator\'s books count every one of 50 concurrent refunds',
    async () => {
      await dev.client.getAccessToken();
      const tx = await paid(100);
      const responses = await Promise.all(Array.from({ length: 50 }, () => refundRaw(tx.transactionId, 'PARTIAL', 7)));
      const accepted = responses.filter((r) => r.status === 200).length;
      assert.equal(accepted, 14);
      // The simulated wallet must have refunded exactly what we booked (its own over-refund guard relies on this column).
      const simOrder = await db.selectFrom('sim_wallet_orders').selectAll().where('upstream_order_id', '=', tx.transactionId).executeTakeFirstOrThrow();
      assert.equal(Number(simOrder.refunded_minor), 7 * accepted);
    },
  );

  test('concurrent reverse and refund on one SUCCESS transaction: exactly one kind wins, ledger consistent', async () => {
    await dev.client.getAccessToken();
    for (let round = 0; round < 8; round++) {
      const tx = await paid(100);
      // Rounds 0..5: one reverse against one FULL refund; 6..7: three reverses against three PARTIAL refunds of 10.
      const many = round >= 6;
      const copies = many ? 3 : 1;
      const sendReverses = () => Promise.all(Array.from({ length: copies }, () => reverseRaw(tx.order.id)));
      const sendRefunds = () =>
        Promise.all(Array.from({ length: copies }, () => (many ? refundRaw(tx.transactionId, 'PARTIAL', 10) : refundRaw(tx.transactionId, 'FULL', 100))));
      // Alternate which kind leaves first, so both kinds get to win some rounds.
      const [reverseResponses, refundResponses] =
        round % 2 === 0 ? await Promise.all([sendReverses(), sendRefunds()]) : await Promise.all([sendRefunds(), sendReverses()]).then(([a, b]) => [b, a] as const);
      const all = [...reverseResponses, ...refundResponses];
      assert.deepEqual(all.filter((r) => r.status >= 500).map((r) => r.rawText), []);
      const reverseWon = reverseResponses.some((r) => r.status === 200);
      const refundWon = refundResponses.some((r) => r.status === 200);
      const summary = all.map((r) => `${r.status} ${errorCode(r) ?? ''}`).join(', ');
      assert.ok(reverseWon !== refundWon, `exactly one kind must win: ${summary}`);
      const row = await txRow(tx.transactionId);
      const entries = (await ledgerRows(tx.transactionId)).map((e) => e.kind);
      const refundsStored = await refundRows(tx.transactionId);
      if (reverseWon) {
        for (const r of reverseResponses) assert.equal(itemOf(r).status, 'REVERSED', summary);
        for (const r of refundResponses) expectError(r, 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
        assert.deepEqual([row.status, row.balance, row.refunded], ['REVERSED', 0, 0]);
        assert.deepEqual(sortedKinds(entries), ['PAYMENT', 'REVERSAL'], summary);
        assert.deepEqual(refundsStored, []);
      } else {
        for (const r of reverseResponses) expectError(r, 400, 'TRANSACTION_STATUS_NOT_IN_PROCESS');
        for (const r of refundResponses) assert.equal(r.status, 200, summary);
        const refundedTotal = many ? 10 * copies : 100;
        assert.deepEqual([row.status, row.balance, row.refunded, row.reverseRequested], [many ? 'PARTIAL_REFUNDED' : 'FULL_REFUNDED', 100 - refundedTotal, refundedTotal, false]);
        assert.deepEqual(sortedKinds(entries), ['PAYMENT', ...Array.from({ length: copies }, () => 'REFUND')]);
        assert.equal(refundsStored.length, copies);
        assert.ok(refundsStored.every((r) => r.status === 'SUCCESS'));
      }
    }
    await assertLedgerClean();
    await assertCliLedgerClean();
  });
});

function sortedKinds(kinds: string[]): string[] {
  return [...kinds].sort();
}
