// Money audit over real HTTP on both databases: refunds, reverses, QuickPay, customer-scans payments, ledger and settlement.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { RawResponse } from '@tunai/client';
import type { Transaction } from '@tunai/client/contract';
import { advancePayment } from '../src/app/advance-payment.js';
import type { Storage } from '../src/app/ports.js';
import { checkLedger } from '../src/app/check-ledger.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { assertError, createWebCheckout, errorCodeOf, openTngCheckout, postForm, rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, type Developer, type TestServer } from './harness.js';

/** Auth codes are single use: every code here is distinct (WeChat Pay Malaysia shape, magic last four kept). */
let codeCounter = 0;
function authCode(suffix = '0000'): string {
  codeCounter += 1;
  return `13${String(700_000_000 + codeCounter).padStart(12, '0')}${suffix}`;
}

let orderCounter = 0;
const orderId = (prefix: string) => `${prefix}-${++orderCounter}`;

function itemOf(response: RawResponse): Transaction {
  assert.equal(response.status, 200, response.rawText);
  return (response.body as { item: Transaction }).item;
}

const moneyTables = ['payment_transactions', 'payment_refunds', 'ledger_entries', 'ledger_postings', 'sim_wallet_refunds'] as const;

forEachDialect('money audit', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let other: Developer;
  let db: Kysely<Database>;
  const counter = rowCounter(() => db, moneyTables);

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Audit Merchant' });
    other = await createDeveloper(server, { companyName: 'Audit Other' });
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  const quickPayBody = (code: string, id: string, amount: unknown, developer: Developer = dev, extra: Record<string, unknown> = {}) => ({
    authCode: code,
    order: { id, title: 'title', detail: 'desc', additionalData: 'x', currencyType: 'MYR', amount, ...extra },
    ipAddress: '8.8.8.8',
    storeId: developer.merchant.store.id,
  });
  const quickPayRaw = (code: string, id: string, amount: unknown = 100, developer: Developer = dev, extra: Record<string, unknown> = {}) =>
    developer.client.send('POST', '/v3/payment/quickpay', { body: quickPayBody(code, id, amount, developer, extra) });

  async function paid(amount = 100, developer: Developer = dev): Promise<Transaction> {
    const item = itemOf(await quickPayRaw(authCode('0000'), orderId('pay'), amount, developer));
    assert.equal(item.status, 'SUCCESS');
    return item;
  }

  const refundRaw = (transactionId: unknown, type: unknown, amount: unknown, currencyType: unknown = 'MYR', developer: Developer = dev) =>
    developer.client.send('POST', '/v3/payment/refund', { body: { transactionId, refund: { type, currencyType, amount }, reason: 'audit' } });
  const reverseRaw = (id: string, developer: Developer = dev) => developer.client.send('POST', '/v3/payment/reverse', { body: { orderId: id } });

  async function txRow(transactionId: string) {
    const row = await db.selectFrom('payment_transactions').selectAll().where('id', '=', transactionId).executeTakeFirstOrThrow();
    return { status: row.status, amount: Number(row.amount_minor), balance: Number(row.balance_minor), refunded: Number(row.refunded_minor), reverseRequested: Number(row.reverse_requested) === 1 };
  }

  async function ledgerKinds(transactionId: string): Promise<string[]> {
    const rows = await db.selectFrom('ledger_entries').select(['kind', 'amount_minor']).where('transaction_id', '=', transactionId).execute();
    return rows.map((r) => `${r.kind}:${Number(r.amount_minor)}`).sort();
  }

  async function assertLedgerClean(): Promise<void> {
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  }

  async function runLoop(times: number, stepMs: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      server.clock.advanceMs(stepMs);
      await server.running.runClosedLoop();
    }
  }

  // ---- amounts at the limits -------------------------------------------------------------------------------------

  test('refund amounts that are not a whole number of sen in range are 400 VALIDATION_ERROR and write nothing', async () => {
    const tx = await paid(100);
    const bad: unknown[] = [0, -1, -0.5, 1.5, '50', '1e2', 2 ** 31, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e21, null, true, {}, [50], 100_000_001];
    for (const amount of bad) {
      await counter.writesNothing(async () => {
        for (const type of ['PARTIAL', 'FULL']) assertError(await refundRaw(tx.transactionId, type, amount), 400, 'VALIDATION_ERROR');
      });
    }
    for (const type of ['full', 'partial', '', 'REFUND', null, 1]) {
      await counter.writesNothing(async () => assertError(await refundRaw(tx.transactionId, type, 10), 400, 'VALIDATION_ERROR'));
    }
    for (const transactionId of [null, 12345, '', 'x'.repeat(33), ['1']]) {
      await counter.writesNothing(async () => assertError(await refundRaw(transactionId, 'PARTIAL', 10), 400, 'VALIDATION_ERROR'));
    }
    assert.deepEqual(await txRow(tx.transactionId), { status: 'SUCCESS', amount: 100, balance: 100, refunded: 0, reverseRequested: false });
  });

  test('refund currency other than MYR is PAYMENT_UNSUPPORTED_CURRENCY_TYPE and writes nothing', async () => {
    const tx = await paid(100);
    for (const currency of ['USD', 'myr', ' MYR', 'MYR ', 'RM', 'SGD']) {
      await counter.writesNothing(async () => assertError(await refundRaw(tx.transactionId, 'PARTIAL', 10, currency), 400, 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE'));
    }
    for (const currency of ['', null, 458]) {
      await counter.writesNothing(async () => assertError(await refundRaw(tx.transactionId, 'PARTIAL', 10, currency), 400, 'VALIDATION_ERROR'));
    }
  });

  test('QuickPay amounts: below 10 sen, fractional, strings and beyond the limit are refused and charge nothing; the maximum pays and refunds in full', async () => {
    for (const amount of [-1, 0, 9]) {
      const code = authCode('0000');
      const response = await counter.writesNothing(() => quickPayRaw(code, orderId('amt'), amount));
      assert.equal(response.status, 400, response.rawText);
      assert.ok(['MINIMUM_AMOUNT_REQUIRED', 'VALIDATION_ERROR'].includes(String(errorCodeOf(response))), response.rawText);
    }
    for (const amount of [10.5, '100', 2 ** 31, 2 ** 53 + 2, 100_000_001, 1e21, null]) {
      await counter.writesNothing(async () => assertError(await quickPayRaw(authCode('0000'), orderId('amt'), amount), 400, 'VALIDATION_ERROR'));
    }
    await counter.writesNothing(async () =>
      assertError(await quickPayRaw(authCode('0000'), orderId('cur'), 100, dev, { currencyType: 'USD' }), 400, 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE'),
    );
    const max = await paid(100_000_000);
    assert.equal(max.balanceAmount, 100_000_000);
    assertError(await refundRaw(max.transactionId, 'PARTIAL', 100_000_001), 400, 'VALIDATION_ERROR');
    const refunded = itemOf(await refundRaw(max.transactionId, 'FULL', 100_000_000));
    assert.deepEqual([refunded.status, refunded.balanceAmount], ['FULL_REFUNDED', 0]);
    await assertLedgerClean();
  });

  // ---- concurrency -----------------------------------------------------------------------------------------------

  test('FULL racing PARTIAL refunds: never more than paid, statuses and ledger agree', async () => {
    await dev.client.getAccessToken();
    for (let round = 0; round < 6; round++) {
      const tx = await paid(100);
      const requests = [
        () => refundRaw(tx.transactionId, 'FULL', 100),
        () => refundRaw(tx.transactionId, 'PARTIAL', 30),
        () => refundRaw(tx.transactionId, 'PARTIAL', 70),
        () => refundRaw(tx.transactionId, 'FULL', 100),
        () => refundRaw(tx.transactionId, 'PARTIAL', 1),
      ];
      const order = round % 2 === 0 ? requests : [...requests].reverse();
      const responses = await Promise.all(order.map((send) => send()));
      assert.deepEqual(responses.filter((r) => r.status >= 500).map((r) => r.rawText), []);
      const row = await txRow(tx.transactionId);
      const refunds = await db.selectFrom('payment_refunds').select(['amount_minor', 'status']).where('transaction_id', '=', tx.transactionId).execute();
      const refundedTotal = refunds.filter((r) => r.status === 'SUCCESS').reduce((sum, r) => sum + Number(r.amount_minor), 0);
      assert.ok(refundedTotal <= 100, `refunded ${refundedTotal} of 100`);
      assert.equal(row.refunded, refundedTotal);
      assert.equal(row.balance, 100 - refundedTotal);
      assert.equal(row.status, refundedTotal === 100 ? 'FULL_REFUNDED' : refundedTotal > 0 ? 'PARTIAL_REFUNDED' : 'SUCCESS');
      assert.equal(responses.filter((r) => r.status === 200).length, refunds.length);
    }
    await assertLedgerClean();
  });

  test('a closed-loop step that finds a payment already final never writes back a balance a refund reserved meanwhile', async () => {
    const tx = await paid(500);
    // A stray due check on a final payment: a step whose lease lapsed during a slow wallet call reschedules it.
    await db.updateTable('payment_transactions').set({ next_check_at_ms: server.clock.nowMs() - 1 }).where('id', '=', tx.transactionId).execute();
    const deps = server.running.deps;
    // The real storage, with a refund request's reservation landing right after the step has read the payment: the
    // interleaving two processes can produce, made deterministic. Nothing is simulated; both writes hit the database.
    const realPayments = deps.storage.payments;
    const storage: Storage = {
      ...deps.storage,
      payments: {
        ...realPayments,
        async getById(id) {
          const read = await realPayments.getById(id);
          assert.equal(await realPayments.reserveRefund(id, 200, server.clock.nowMs()), true);
          return read;
        },
      },
    };
    assert.equal(await advancePayment({ ...deps, storage }, tx.transactionId), true);
    const row = await db
      .selectFrom('payment_transactions')
      .select(['balance_minor', 'status', 'next_check_at_ms', 'lease_until_ms'])
      .where('id', '=', tx.transactionId)
      .executeTakeFirstOrThrow();
    assert.equal(Number(row.balance_minor), 300, 'the reservation stands');
    assert.equal(row.status, 'SUCCESS');
    assert.equal(row.next_check_at_ms, null);
    assert.equal(row.lease_until_ms, null);
    // Give the reservation back, as a refund the wallet refused would, so the ledger check sees a settled payment.
    await realPayments.releaseRefund(tx.transactionId, 200, server.clock.nowMs());
    await assertLedgerClean();
  });

  test('reverse requested on an IN_PROCESS payment blocks refunds for good, even once the payment completes', async () => {
    const id = orderId('rev-inproc');
    const tx = itemOf(await quickPayRaw(authCode('1004'), id, 100));
    assert.equal(tx.status, 'IN_PROCESS');
    const reversed = itemOf(await reverseRaw(id));
    assert.equal(reversed.status, 'REVERSED');
    assert.deepEqual(await ledgerKinds(tx.transactionId), ['PAYMENT:100', 'REVERSAL:100']);
    await counter.writesNothing(async () => assertError(await refundRaw(tx.transactionId, 'FULL', 100), 400, 'TRANSACTIN_STATUS_NOT_SUCCESS'));
    await runLoop(3, 60_000);
    assert.equal((await txRow(tx.transactionId)).status, 'REVERSED');
    await assertLedgerClean();
  });

  // ---- isolation -------------------------------------------------------------------------------------------------

  test('another merchant cannot refund or reverse a transaction, and nothing is written', async () => {
    const mine = await paid(100);
    await counter.writesNothing(async () => {
      assertError(await refundRaw(mine.transactionId, 'FULL', 100, 'MYR', other), 404, 'TRANSACTION_NOT_FOUND');
      assertError(await reverseRaw(mine.order.id, other), 404, 'TRANSACTION_NOT_FOUND');
    });
    // The other merchant reusing the same order id gets its own payment, never this one.
    const theirs = itemOf(await quickPayRaw(authCode('0000'), mine.order.id, 50, other));
    assert.notEqual(theirs.transactionId, mine.transactionId);
    assert.equal(itemOf(await reverseRaw(mine.order.id, other)).transactionId, theirs.transactionId);
    assert.deepEqual(await txRow(mine.transactionId), { status: 'SUCCESS', amount: 100, balance: 100, refunded: 0, reverseRequested: false });
    await assertLedgerClean();
  });

  // ---- customer-scans payments -----------------------------------------------------------------------------------

  async function paidCheckout(amount: number): Promise<{ transactionId: string; orderId: string; checkoutId: string }> {
    const { transactionId, orderId: id, checkoutId } = await openTngCheckout(server.url, dev.client, dev.merchant.store.id, orderId('ck'), amount);
    const confirm = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
    assert.equal(confirm.status, 303);
    assert.equal((await txRow(transactionId)).status, 'SUCCESS');
    return { transactionId, orderId: id, checkoutId };
  }

  test('a paid checkout refunds like a QuickPay; another merchant cannot touch it', async () => {
    const ck = await paidCheckout(1250);
    await counter.writesNothing(async () => {
      assertError(await refundRaw(ck.transactionId, 'PARTIAL', 10, 'MYR', other), 404, 'TRANSACTION_NOT_FOUND');
      assertError(await reverseRaw(ck.orderId, other), 404, 'TRANSACTION_NOT_FOUND');
    });
    assert.equal(itemOf(await refundRaw(ck.transactionId, 'PARTIAL', 250)).balanceAmount, 1000);
    assertError(await refundRaw(ck.transactionId, 'PARTIAL', 1001), 400, 'INSUFFICIENT_REFUND_AMOUNT');
    assert.equal(itemOf(await refundRaw(ck.transactionId, 'FULL', 1000)).status, 'FULL_REFUNDED');
    assert.deepEqual(await ledgerKinds(ck.transactionId), ['PAYMENT:1250', 'REFUND:1000', 'REFUND:250']);
    await assertLedgerClean();
  });

  test('a paid dynamic QR payment reversed by the merchant: REVERSED, ledger returns it, the QR stays redeemed', async () => {
    const created = await dev.client.payment.createQrCode(qrCodeInput(dev.merchant.store.id));
    const code = created.item.code;
    const pay = await postForm(`${server.url}/payment/unified/pay`, { code, method: 'WECHATPAY_MY' });
    assert.equal(pay.status, 303);
    const transactionId = new URL(pay.headers.get('location') ?? '').searchParams.get('order') ?? '';
    await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
    assert.equal((await txRow(transactionId)).status, 'SUCCESS');
    const reversed = itemOf(await reverseRaw(transactionId));
    assert.deepEqual([reversed.status, reversed.balanceAmount], ['REVERSED', 0]);
    assert.deepEqual(await ledgerKinds(transactionId), ['PAYMENT:500', 'REVERSAL:500']);
    assert.equal((await dev.client.payment.qrCode(code)).item.status, 'REDEEMED');
    const again = await postForm(`${server.url}/payment/unified/pay`, { code, method: 'WECHATPAY_MY' });
    assert.equal(again.status, 400);
    await assertLedgerClean();
  });

  test('a payer cancelling a checkout while a payment is being opened for it: a CANCELLED checkout never ends with a paid transaction', async (t) => {
    let raced = 0;
    for (let round = 0; round < 16; round++) {
      const checkoutId = await createWebCheckout(dev.client, dev.merchant.store.id, orderId('ck-race'), 700);
      const pay = () => postForm(`${server.url}/checkout/pay`, { checkoutId, method: 'TNG_MY' });
      const cancel = () => postForm(`${server.url}/checkout/cancel`, { checkoutId });
      const [payResponse] = round % 2 === 0 ? await Promise.all([pay(), cancel()]) : await Promise.all([pay(), cancel()].reverse()).then(([a, b]) => [b, a]);
      const checkout = (await dev.client.payment.checkout(checkoutId)).item;
      const linked = (await db.selectFrom('payment_checkouts').select('transaction_id').where('id', '=', checkoutId).executeTakeFirstOrThrow()).transaction_id;
      if (linked === null) continue;
      raced += checkout.status === 'CANCELLED' ? 1 : 0;
      // The payer goes on to confirm in the wallet they were sent to.
      if (payResponse?.status === 303) await postForm(`${server.url}/sandbox/wallet/confirm`, { order: linked, outcome: '0000' });
      await runLoop(2, 5_000);
      const tx = await txRow(linked);
      const after = (await dev.client.payment.checkout(checkoutId)).item;
      if (after.status === 'CANCELLED') {
        assert.notEqual(tx.status, 'SUCCESS', `round ${round}: checkout CANCELLED but its payment ${linked} is SUCCESS (money kept)`);
        assert.notEqual(tx.status, 'IN_PROCESS', `round ${round}: checkout CANCELLED but its payment ${linked} is still payable`);
      }
      if (after.status === 'SUCCESS') assert.equal(tx.status, 'SUCCESS');
    }
    t.diagnostic(`rounds ending CANCELLED with a linked payment: ${raced}`);
    await assertLedgerClean();
  });

  test('a payer confirming in the wallet while cancelling on the checkout page: a checkout announced SUCCESS is never reversed', async () => {
    for (let round = 0; round < 24; round++) {
      const { checkoutId, transactionId } = await openTngCheckout(server.url, dev.client, dev.merchant.store.id, orderId('ck-conf'), 900);
      const confirm = () => postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
      const cancel = () => postForm(`${server.url}/checkout/cancel`, { checkoutId });
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const delayMs = round % 6;
      await Promise.all([confirm(), pause(delayMs).then(cancel)]);
      await runLoop(2, 5_000);
      const tx = await txRow(transactionId);
      const checkout = (await dev.client.payment.checkout(checkoutId)).item;
      const announced = await db.selectFrom('outbox_events').select('id').where('subject_id', '=', transactionId).execute();
      const summary = `round ${round}: checkout ${checkout.status}, payment ${tx.status}, ${announced.length} notify`;
      if (checkout.status === 'SUCCESS') assert.equal(tx.status, 'SUCCESS', summary);
      if (tx.status !== 'SUCCESS') assert.equal(announced.length, 0, summary);
      if (checkout.status === 'CANCELLED') assert.notEqual(tx.status, 'SUCCESS', summary);
    }
    await assertLedgerClean();
  });

  test('checkout cancel and expiry without a race: unpaid → CANCELLED or EXPIRED with no payment; with an open payment → CANCELLED and reversed', async () => {
    const create = (amount: number) => createWebCheckout(dev.client, dev.merchant.store.id, orderId('ck-seq'), amount);
    const unpaid = await create(300);
    assert.equal((await postForm(`${server.url}/checkout/cancel`, { checkoutId: unpaid })).status, 303);
    assert.deepEqual([(await dev.client.payment.checkout(unpaid)).item.status, (await dev.client.payment.checkout(unpaid)).item.transactionId], ['CANCELLED', '']);
    const refused = await postForm(`${server.url}/checkout/pay`, { checkoutId: unpaid, method: 'TNG_MY' });
    assert.equal(refused.status, 400);

    const open = await create(400);
    const pay = await postForm(`${server.url}/checkout/pay`, { checkoutId: open, method: 'TNG_MY' });
    const transactionId = new URL(pay.headers.get('location') ?? '').searchParams.get('order') ?? '';
    assert.equal((await postForm(`${server.url}/checkout/cancel`, { checkoutId: open })).status, 303);
    assert.equal((await dev.client.payment.checkout(open)).item.status, 'CANCELLED');
    assert.equal((await txRow(transactionId)).status, 'REVERSED');
    await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
    assert.equal((await txRow(transactionId)).status, 'REVERSED');

    const idle = await create(500);
    server.clock.advanceMs(601_000);
    assert.equal((await dev.client.payment.checkout(idle)).item.status, 'EXPIRED');
    await assertLedgerClean();
  });

  // shared/DESIGN.md §4: a refund retried with its Idempotency-Key gets the first answer (the full suite is idempotency.test.ts).
  test('Idempotency-Key: a refund retried with the same key refunds once', async () => {
    const tx = await paid(100);
    const send = () =>
      dev.client.send('POST', '/v3/payment/refund', {
        body: { transactionId: tx.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 10 }, reason: 'retry' },
        headers: { 'Idempotency-Key': `audit-${tx.transactionId}` },
      });
    const first = itemOf(await send());
    const second = itemOf(await send());
    assert.equal(second.balanceAmount, first.balanceAmount);
    assert.equal((await txRow(tx.transactionId)).refunded, 10);
  });

  // ---- settlement ------------------------------------------------------------------------------------------------

  test('settlement: the S line is the sum of the T lines and net = gross - refunds for the day', async () => {
    const csv = await dev.client.payment.settlementCsv({
      date: new Date(server.clock.nowMs() + 8 * 3_600_000).toISOString().slice(0, 10),
      method: 'ALL',
      region: 'MALAYSIA',
      sequence: 1,
    });
    const lines = csv.trimEnd().split('\n');
    const toMinor = (text: string) => Math.round(Number(text) * 100);
    const tLines = lines.filter((l) => l.startsWith('T,')).map((l) => l.split(','));
    const s = (lines.find((l) => l.startsWith('S,')) ?? '').split(',');
    const sum = (i: number) => tLines.reduce((acc, t) => acc + toMinor(t[i] ?? '0'), 0);
    assert.equal(Number(s[1]), tLines.length);
    for (let i = 2; i <= 6; i++) assert.equal(toMinor(s[i] ?? ''), sum(i), `column ${i}`);
    assert.equal(toMinor(s[6] ?? ''), toMinor(s[2] ?? '') - toMinor(s[3] ?? ''));
    // Every T line names one of this merchant's transactions.
    const mine = new Set(
      (await db.selectFrom('payment_transactions').select('id').where('merchant_id', '=', dev.merchant.merchant.id).execute()).map((r) => r.id),
    );
    for (const t of tLines) assert.ok(mine.has(t[1] ?? ''), `T line for ${t[1]}`);
  });
});
