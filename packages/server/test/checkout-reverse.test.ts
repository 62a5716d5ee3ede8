// Checkout payments against cancels and reverses over real HTTP on both databases: a checkout announced SUCCESS is
// never a payment that is being returned, and a merchant's reverse after the announcement leaves the checkout SUCCESS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { Transaction } from '@tunai/client/contract';
import { advancePayment } from '../src/app/advance-payment.js';
import { cancelCheckout } from '../src/app/cancel-checkout.js';
import type { CheckoutRecord } from '../src/app/checkout-ports.js';
import { checkLedger } from '../src/app/check-ledger.js';
import type { PaymentDeps } from '../src/app/payment-deps.js';
import type { PaymentsStorage, WalletSimulatorStorage } from '../src/app/payment-ports.js';
import { WalletSimulator } from '../src/providers/wallet-simulator.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { openTngCheckout, postForm } from './api-checks.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

let serial = 0;
const orderId = (label: string) => `ckrev-${label}-${++serial}`;

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

forEachDialect('checkout payments against cancels and reverses', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let db: Kysely<Database>;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Checkout Reverse Merchant' });
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  /** The deps of the running server with some of its payment storage calls wrapped (every write still hits the database). */
  function withPayments(overrides: (real: PaymentsStorage) => Partial<PaymentsStorage>): PaymentDeps {
    const deps = server.running.deps;
    const real = deps.storage.payments;
    return { ...deps, storage: { ...deps.storage, payments: { ...real, ...overrides(real) } } };
  }

  /** A checkout whose payer picked TNG: the transaction is IN_PROCESS and linked. */
  const openCheckout = (amount: number) => openTngCheckout(server.url, dev.client, dev.merchant.store.id, orderId('ck'), amount);

  /**
   * The payer chooses "pay after a short wait" on the wallet screen (scenario 1001): the wallet is paying, and the
   * closed loop's next query (due 3 s later) hears SUCCESS. Returns with that query due.
   */
  async function payerConfirmsSlowly(transactionId: string): Promise<void> {
    const confirm = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '1001' });
    assert.equal(confirm.status, 303);
    assert.equal((await txRow(transactionId)).status, 'IN_PROCESS');
    server.clock.advanceMs(3_000);
  }

  async function txRow(transactionId: string) {
    const row = await db.selectFrom('payment_transactions').selectAll().where('id', '=', transactionId).executeTakeFirstOrThrow();
    return { status: row.status, balance: Number(row.balance_minor), reverseRequested: Number(row.reverse_requested) === 1 };
  }

  async function notifies(transactionId: string): Promise<string[]> {
    const rows = await db.selectFrom('outbox_events').select(['event_type', 'body']).where('subject_id', '=', transactionId).execute();
    return rows.map((r) => `${r.event_type}:${(JSON.parse(r.body) as { data: { status: string } }).data.status}`);
  }

  async function ledgerKinds(transactionId: string): Promise<string[]> {
    const rows = await db.selectFrom('ledger_entries').select(['kind', 'amount_minor']).where('transaction_id', '=', transactionId).execute();
    return rows.map((r) => `${r.kind}:${Number(r.amount_minor)}`).sort();
  }

  async function settledState(ck: { checkoutId: string; transactionId: string }) {
    // Whatever the loop still has to do is done before the state is judged.
    for (let i = 0; i < 2; i++) {
      server.clock.advanceMs(5_000);
      await server.running.runClosedLoop();
    }
    const checkout = (await dev.client.payment.checkout(ck.checkoutId)).item;
    const tx = (await dev.client.payment.transaction(ck.transactionId)).item;
    const page = (await (await fetch(`${server.url}/checkout/status?checkoutId=${ck.checkoutId}`)).json()) as { status: string };
    return { checkout: checkout.status, page: page.status, linked: checkout.transactionId, payment: tx.status, balance: tx.balanceAmount, notifies: await notifies(ck.transactionId) };
  }

  test('a merchant reverses a paid checkout by its order id: the payment is returned, the checkout stays SUCCESS (as after a refund), no second notify', async () => {
    const ck = await openCheckout(1500);
    const confirm = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: ck.transactionId, outcome: '0000' });
    assert.equal(confirm.status, 303);
    assert.equal((await dev.client.payment.checkout(ck.checkoutId)).item.status, 'SUCCESS');
    assert.deepEqual(await notifies(ck.transactionId), ['PAYMENT_WEB_ONLINE:SUCCESS']);

    // The checkout's payment carries the checkout's order id, so RM's reverse-by-order-id reaches it.
    const byOrder: Transaction = (await dev.client.payment.transactionByOrderId(ck.orderId)).item;
    assert.equal(byOrder.transactionId, ck.transactionId);
    const reversed = (await dev.client.payment.reverse(ck.orderId)).item;
    assert.deepEqual([reversed.transactionId, reversed.status, reversed.balanceAmount, reversed.type], [ck.transactionId, 'REVERSED', 0, 'WEB_PAYMENT']);

    assert.deepEqual(await settledState(ck), {
      checkout: 'SUCCESS',
      page: 'SUCCESS',
      linked: ck.transactionId,
      payment: 'REVERSED',
      balance: 0,
      notifies: ['PAYMENT_WEB_ONLINE:SUCCESS'],
    });
    assert.deepEqual(await ledgerKinds(ck.transactionId), ['PAYMENT:1500', 'REVERSAL:1500']);
    // Retried, the reverse answers the same; a refund has nothing left.
    assert.equal((await dev.client.payment.reverse(ck.orderId)).item.status, 'REVERSED');
    await assert.rejects(
      dev.client.payment.refund({ transactionId: ck.transactionId, refund: { type: 'FULL', currencyType: 'MYR', amount: 1500 }, reason: 'x' }),
      (error: { code?: string }) => error.code === 'TRANSACTIN_STATUS_NOT_SUCCESS',
    );
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  });

  test('the wallet answers SUCCESS between a payer cancel marking the reverse and finishing the checkout: CANCELLED, returned, never announced', async () => {
    const ck = await openCheckout(900);
    await payerConfirmsSlowly(ck.transactionId);

    // The interleaving two requests can produce, made deterministic: the loop's step reads the payment; the payer's
    // cancel marks the reverse; the step records the wallet's SUCCESS; only then does the cancel go on.
    const cancelMarked = deferred();
    const stepDone = deferred();
    let cancelling: Promise<CheckoutRecord> | null = null;
    const cancelDeps = withPayments((real) => ({
      async requestCancel(id, nowMs) {
        const marked = await real.requestCancel(id, nowMs);
        cancelMarked.resolve();
        await stepDone.promise;
        return marked;
      },
    }));
    const stepDeps = withPayments((real) => ({
      async getById(id) {
        const read = await real.getById(id);
        if (cancelling === null) {
          cancelling = cancelCheckout(cancelDeps, ck.checkoutId);
          await cancelMarked.promise;
        }
        return read;
      },
    }));
    assert.equal(await advancePayment(stepDeps, ck.transactionId), true);
    stepDone.resolve();
    assert.ok(cancelling, 'the cancel ran inside the step');
    const answered = await (cancelling as Promise<CheckoutRecord>);

    const state = await settledState(ck);
    assert.equal(answered.status, state.checkout, 'the payer is shown what the checkout became');
    assert.deepEqual(state, { checkout: 'CANCELLED', page: 'CANCELLED', linked: ck.transactionId, payment: 'REVERSED', balance: 0, notifies: [] });
    assert.deepEqual(await ledgerKinds(ck.transactionId), ['PAYMENT:900', 'REVERSAL:900']);
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  });

  test('the wallet answers SUCCESS just before a payer cancel marks the reverse: the cancel answers the paid checkout, the SUCCESS stands and is announced once', async () => {
    const ck = await openCheckout(800);
    await payerConfirmsSlowly(ck.transactionId);
    // The cancel has read the checkout IN_PROCESS; the loop's step records SUCCESS before the cancel's write lands.
    const cancelDeps = withPayments((real) => ({
      async requestCancel(id, nowMs) {
        assert.equal(await advancePayment(server.running.deps, id), true);
        return real.requestCancel(id, nowMs);
      },
    }));
    // Nothing is cancelled: the payer is shown the checkout as the payment left it.
    const answered = await cancelCheckout(cancelDeps, ck.checkoutId);
    assert.equal(answered.status, 'SUCCESS');
    assert.deepEqual(await settledState(ck), {
      checkout: 'SUCCESS',
      page: 'SUCCESS',
      linked: ck.transactionId,
      payment: 'SUCCESS',
      balance: 800,
      notifies: ['PAYMENT_WEB_ONLINE:SUCCESS'],
    });
    assert.equal((await txRow(ck.transactionId)).reverseRequested, false);
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  });

  test('the sandbox wallet closing an order at the moment its payer pays on the wallet screen: the payment is refunded, never lost', async () => {
    const ck = await openCheckout(650);
    const books = server.running.storage.walletSimulator;
    // The real books, with the payer's confirm committed right after the reverse has read the order (still awaiting
    // the payer): the interleaving a payer's tap and the closed loop can produce, made deterministic.
    let payerPaid = false;
    const racing: WalletSimulatorStorage = {
      ...books,
      async getOrder(id) {
        const read = await books.getOrder(id);
        if (!payerPaid) {
          payerPaid = true;
          assert.equal(await books.decideOrder(id, { status: 'SUCCESS', scenario: '0000', paidAtMs: server.clock.nowMs() }), true);
        }
        return read;
      },
    };
    const answer = await new WalletSimulator(racing, server.clock).reverse(ck.transactionId);
    assert.equal(answer.status, 'REFUNDED', 'the payer paid, so the reverse returns the money');
    const order = await books.getOrder(ck.transactionId);
    assert.equal(order?.status, 'REFUNDED');
    assert.equal(order?.refundedMinor, 650);
  });

  test('a merchant reverse (HTTP) lands while the loop records the wallet SUCCESS: the reverse wins, the checkout ends CANCELLED, no SUCCESS notify', async () => {
    const ck = await openCheckout(700);
    await payerConfirmsSlowly(ck.transactionId);
    let reversing: ReturnType<typeof dev.client.payment.reverse> | null = null;
    const stepDeps = withPayments((real) => ({
      async getById(id) {
        const read = await real.getById(id);
        if (reversing === null) {
          // A real POST /v3/payment/reverse: it marks the reverse, then waits for the step's lease to go.
          reversing = dev.client.payment.reverse(ck.orderId);
          const until = performance.now() + 5_000;
          while ((await real.getById(id))?.reverseRequested !== true) {
            assert.ok(performance.now() < until, 'the merchant reverse was marked while the step ran');
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
        return read;
      },
    }));
    assert.equal(await advancePayment(stepDeps, ck.transactionId), true);
    assert.ok(reversing, 'the reverse was sent inside the step');
    const reversed = (await (reversing as ReturnType<typeof dev.client.payment.reverse>)).item;
    assert.deepEqual([reversed.status, reversed.balanceAmount], ['REVERSED', 0]);
    assert.deepEqual(await settledState(ck), { checkout: 'CANCELLED', page: 'CANCELLED', linked: ck.transactionId, payment: 'REVERSED', balance: 0, notifies: [] });
    assert.deepEqual(await ledgerKinds(ck.transactionId), ['PAYMENT:700', 'REVERSAL:700']);
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  });
});
