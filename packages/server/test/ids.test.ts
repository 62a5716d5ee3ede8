// Generated ids: formats, and no repeats within a process when the clock stands still or steps back; a
// thousand-odd QuickPays at one frozen instant all succeeding over HTTP; and an id another process drew first
// drawn again instead of failing the request, for every id a payment draws (both databases).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { CreateCheckoutRequest, Transaction } from '@tunai/client/contract';
import { ManualClock } from '../src/lib/clock.js';
import { checkLedger } from '../src/app/check-ledger.js';
import { createIds, type Ids } from '../src/lib/ids.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { postForm } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, type Developer, type TestServer } from './harness.js';

/** More than a millisecond's worth of sequence numbers, so the generator must lend itself the next millisecond. */
const idsAtOneInstant = 2_500;
/** Past one millisecond's sequence numbers however the random start falls. */
const paymentsAtOneInstant = 1_100;

function assertStrictlyIncreasing(ids: readonly string[]): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok((ids[i] as string) > (ids[i - 1] as string), `id ${i} (${ids[i]}) does not follow ${ids[i - 1]}`);
  }
}

describe('ids', () => {
  test('transaction ids are 24 digits led by the UTC time, and strictly increase while the clock stands still', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 3, 4, 5, 678));
    const ids = createIds(clock);
    const made = Array.from({ length: idsAtOneInstant }, () => ids.transactionId());
    for (const id of made) assert.match(id, /^\d{24}$/);
    assert.equal((made[0] as string).slice(0, 15), '261122030405678');
    assert.equal(new Set(made).size, made.length);
    assertStrictlyIncreasing(made);
    // The borrowed milliseconds are the next few, not a jump.
    assert.ok((made.at(-1) as string).slice(0, 15) <= '261122030405683', made.at(-1));
  });

  test('transaction ids keep increasing when the clock steps back, then follow it again once it passes them', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 3, 4, 5, 0));
    const ids = createIds(clock);
    const made = [ids.transactionId()];
    clock.setMs(Date.UTC(2026, 10, 22, 3, 4, 4, 0));
    for (let i = 0; i < 10; i++) made.push(ids.transactionId());
    clock.setMs(Date.UTC(2026, 10, 22, 3, 4, 7, 0));
    made.push(ids.transactionId());
    assertStrictlyIncreasing(made);
    assert.equal((made.at(-1) as string).slice(0, 15), '261122030407000');
  });

  test('a numeric id does not give away the next one drawn in the same millisecond', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 3, 4, 5, 0));
    const ids = createIds(clock);
    const trials = 400;
    let nearNeighbours = 0;
    for (let i = 0; i < trials; i++) {
      clock.advanceMs(1);
      const [first, second] = [ids.numericId(), ids.numericId()];
      assert.ok(second > first);
      // Within a thousand of the first is where a guesser would look (the old generator always put it there).
      if (first.slice(0, 13) === second.slice(0, 13) && Number(second.slice(13)) - Number(first.slice(13)) <= 1_000) nearNeighbours++;
    }
    assert.ok(nearNeighbours < trials / 20, `${nearNeighbours} of ${trials} successors were within 1,000 of their predecessor`);
  });

  test('numeric ids are 19 digits led by epoch milliseconds, and strictly increase while the clock stands still or steps back', () => {
    const startMs = Date.UTC(2026, 10, 22, 3, 4, 5, 678);
    const clock = new ManualClock(startMs);
    const ids = createIds(clock);
    const made = Array.from({ length: idsAtOneInstant }, () => ids.numericId());
    clock.setMs(startMs - 60_000);
    made.push(...Array.from({ length: 10 }, () => ids.numericId()));
    for (const id of made) assert.match(id, /^\d{19}$/);
    assert.equal((made[0] as string).slice(0, 13), String(startMs));
    assertStrictlyIncreasing(made);
  });
});

/**
 * The server's own id generator, except that the next numeric or transaction id can be set to one already in the
 * database: what happens when another process drew the same id a moment earlier.
 */
function idsRepeatingOnDemand(clock: ManualClock): Ids & { repeatNext(id: string): void; repeatNextTransactionId(id: string): void } {
  const drawn = createIds(clock);
  let repeat: string | null = null;
  let repeatTransaction: string | null = null;
  return {
    ...drawn,
    numericId() {
      const id = repeat ?? drawn.numericId();
      repeat = null;
      return id;
    },
    transactionId() {
      const id = repeatTransaction ?? drawn.transactionId();
      repeatTransaction = null;
      return id;
    },
    repeatNext(id) {
      repeat = id;
    },
    repeatNextTransactionId(id) {
      repeatTransaction = id;
    },
  };
}

forEachDialect('ids in use', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let db: Kysely<Database>;
  let ids: ReturnType<typeof idsRepeatingOnDemand>;
  let orderSequence = 0;
  before(async () => {
    server = await startTestServer(dialect, {}, { ids: (clock) => (ids = idsRepeatingOnDemand(clock)) });
    dev = await createDeveloper(server);
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  /** A QuickPay with its own order id and immediate-success auth code; the test clock does not move. */
  const quickPay = (amount = 1_000) =>
    dev.client.payment.quickPay({
      authCode: `13${String(++orderSequence).padStart(12, '0')}0000`,
      order: { id: `ids-${orderSequence}`, title: 'Sales', detail: '', additionalData: '', currencyType: 'MYR', amount },
      ipAddress: '127.0.0.1',
      storeId: dev.merchant.store.id,
    });

  test(`${paymentsAtOneInstant} payments without the clock moving all succeed, each with its own transaction id`, async () => {
    const answers: Transaction[] = [];
    const inFlight = 16;
    for (let start = 0; start < paymentsAtOneInstant; start += inFlight) {
      const batch = Array.from({ length: Math.min(inFlight, paymentsAtOneInstant - start) }, () => quickPay());
      for (const answer of await Promise.all(batch)) answers.push(answer.item);
    }
    assert.ok(answers.every((tx) => tx.status === 'SUCCESS'));
    const transactionIds = answers.map((tx) => tx.transactionId);
    assert.equal(new Set(transactionIds).size, paymentsAtOneInstant);
    const stored = await db.selectFrom('payment_transactions').select(['id', 'status']).where('id', 'in', transactionIds).execute();
    assert.equal(stored.length, paymentsAtOneInstant);
    assert.ok(stored.every((row) => row.status === 'SUCCESS'));
  });

  test('a payment whose ledger entry draws a taken id is still booked, once, under a fresh id', async () => {
    const first = (await quickPay()).item;
    const taken = await db.selectFrom('ledger_entries').select('id').where('transaction_id', '=', first.transactionId).executeTakeFirstOrThrow();
    ids.repeatNext(taken.id);
    const second = (await quickPay(2_000)).item;
    assert.equal(second.status, 'SUCCESS');
    assert.equal(second.balanceAmount, 2_000);
    const entries = await db.selectFrom('ledger_entries').select(['id', 'transaction_id', 'amount_minor']).where('transaction_id', '=', second.transactionId).execute();
    assert.equal(entries.length, 1);
    assert.notEqual(entries[0]?.id, taken.id);
    assert.equal(Number(entries[0]?.amount_minor), 2_000);
    // The entry that held the id first is untouched.
    const kept = await db.selectFrom('ledger_entries').select('transaction_id').where('id', '=', taken.id).executeTakeFirstOrThrow();
    assert.equal(kept.transaction_id, first.transactionId);
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
  });

  test('a refund that draws a taken refund id is reserved and paid back under a fresh id', async () => {
    const paid = (await quickPay(3_000)).item;
    const earlier = (await dev.client.payment.refund({ transactionId: paid.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 500 }, reason: 'first' })).item;
    assert.equal(earlier.status, 'PARTIAL_REFUNDED');
    const taken = await db.selectFrom('payment_refunds').select('id').where('transaction_id', '=', paid.transactionId).executeTakeFirstOrThrow();
    ids.repeatNext(taken.id);
    const refunded = (await dev.client.payment.refund({ transactionId: paid.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 700 }, reason: 'second' })).item;
    assert.equal(refunded.status, 'PARTIAL_REFUNDED');
    assert.equal(refunded.balanceAmount, 3_000 - 500 - 700);
    const refunds = await db.selectFrom('payment_refunds').select(['id', 'amount_minor', 'status']).where('transaction_id', '=', paid.transactionId).orderBy('created_at_ms').execute();
    assert.equal(refunds.length, 2);
    assert.equal(new Set(refunds.map((r) => r.id)).size, 2);
    assert.deepEqual(refunds.map((r) => [Number(r.amount_minor), r.status]).sort(), [[500, 'SUCCESS'], [700, 'SUCCESS']]);
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
  });

  test('a checkout that draws a taken checkout id is created under a fresh id', async () => {
    const body = (orderId: string): CreateCheckoutRequest => ({
      order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', amount: 1_250, currencyType: 'MYR' },
      method: [],
      type: 'WEB_PAYMENT',
      storeId: dev.merchant.store.id,
      redirectUrl: 'https://shop.example/return',
      notifyUrl: 'https://shop.example/notify',
    });
    const first = (await dev.client.payment.createCheckout(body(`checkout-${++orderSequence}`))).item;
    ids.repeatNext(first.checkoutId);
    const second = (await dev.client.payment.createCheckout(body(`checkout-${++orderSequence}`))).item;
    assert.notEqual(second.checkoutId, first.checkoutId);
    assert.match(second.checkoutId, /^\d{19}$/);
    const rows = await db.selectFrom('payment_checkouts').select(['id', 'order_id']).where('id', 'in', [first.checkoutId, second.checkoutId]).execute();
    const orderOf = new Map(rows.map((row) => [row.id, row.order_id]));
    // The first checkout keeps its id and order; the second is stored under its fresh id.
    assert.deepEqual([orderOf.get(first.checkoutId), orderOf.get(second.checkoutId)], [`checkout-${orderSequence - 1}`, `checkout-${orderSequence}`]);
  });
  /** The stored transaction row of `id`: its order, amount, status and how it was paid. */
  const storedTransaction = async (id: string) => {
    const row = await db.selectFrom('payment_transactions').select(['id', 'order_id', 'amount_minor', 'status', 'type', 'qr_code']).where('id', '=', id).executeTakeFirstOrThrow();
    return { ...row, amount_minor: Number(row.amount_minor) };
  };

  test('a QuickPay that draws a taken transaction id is paid once under a fresh one', async () => {
    const first = (await quickPay(1_100)).item;
    ids.repeatNextTransactionId(first.transactionId);
    const second = (await quickPay(2_200)).item;
    assert.equal(second.status, 'SUCCESS');
    assert.notEqual(second.transactionId, first.transactionId);
    assert.match(second.transactionId, /^\d{24}$/);
    assert.equal(second.order.id, `ids-${orderSequence}`);
    // The first payment is untouched; the second is stored, paid and booked under its own id.
    assert.deepEqual(await storedTransaction(first.transactionId), { id: first.transactionId, order_id: `ids-${orderSequence - 1}`, amount_minor: 1_100, status: 'SUCCESS', type: 'QUICK_PAY', qr_code: null });
    assert.deepEqual(await storedTransaction(second.transactionId), { id: second.transactionId, order_id: `ids-${orderSequence}`, amount_minor: 2_200, status: 'SUCCESS', type: 'QUICK_PAY', qr_code: null });
    const entries = await db.selectFrom('ledger_entries').select('amount_minor').where('transaction_id', '=', second.transactionId).execute();
    assert.deepEqual(entries.map((entry) => Number(entry.amount_minor)), [2_200]);
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
  });

  test('a checkout payment that draws a taken transaction id opens under a fresh one and is linked to the checkout', async () => {
    const taken = (await quickPay()).item;
    const orderId = `checkout-${++orderSequence}`;
    const checkout = (
      await dev.client.payment.createCheckout({
        order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', amount: 1_250, currencyType: 'MYR' },
        method: ['TNG_MY'],
        type: 'WEB_PAYMENT',
        storeId: dev.merchant.store.id,
        redirectUrl: 'https://shop.example/return',
        notifyUrl: 'https://shop.example/notify',
      })
    ).item;
    ids.repeatNextTransactionId(taken.transactionId);
    const pay = await postForm(`${server.url}/checkout/pay`, { checkoutId: checkout.checkoutId, method: 'TNG_MY' });
    assert.equal(pay.status, 303, await pay.text());
    const transactionId = new URL(pay.headers.get('location') ?? '', server.url).searchParams.get('order') ?? '';
    assert.match(transactionId, /^\d{24}$/);
    assert.notEqual(transactionId, taken.transactionId);
    assert.deepEqual(await storedTransaction(transactionId), { id: transactionId, order_id: orderId, amount_minor: 1_250, status: 'IN_PROCESS', type: 'WEB_PAYMENT', qr_code: null });
    const linked = await db.selectFrom('payment_checkouts').select('transaction_id').where('id', '=', checkout.checkoutId).executeTakeFirstOrThrow();
    assert.equal(linked.transaction_id, transactionId);
    assert.equal((await storedTransaction(taken.transactionId)).order_id, `ids-${orderSequence - 1}`);
  });

  test('a QR payment that draws a taken transaction id opens under a fresh one, which is also its order id', async () => {
    const taken = (await quickPay()).item;
    const input = qrCodeInput(dev.merchant.store.id);
    const qr = (await dev.client.payment.createQrCode(input)).item;
    ids.repeatNextTransactionId(taken.transactionId);
    const pay = await postForm(`${server.url}/payment/unified/pay`, { code: qr.code, method: 'WECHATPAY_MY' });
    assert.equal(pay.status, 303, await pay.text());
    const transactionId = new URL(pay.headers.get('location') ?? '', server.url).searchParams.get('order') ?? '';
    assert.match(transactionId, /^\d{24}$/);
    assert.notEqual(transactionId, taken.transactionId);
    assert.deepEqual(await storedTransaction(transactionId), { id: transactionId, order_id: transactionId, amount_minor: input.amount, status: 'IN_PROCESS', type: 'QR_PAY', qr_code: qr.code });
    // The one-time QR is held by the new payment, not by the id that was taken.
    const held = await db.selectFrom('payment_qr_codes').select('pending_transaction_id').where('code', '=', qr.code).executeTakeFirstOrThrow();
    assert.equal(held.pending_transaction_id, transactionId);
  });
});
