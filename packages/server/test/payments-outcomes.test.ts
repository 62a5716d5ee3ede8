// Wallet simulator outcomes over HTTP: every magic auth-code suffix, wallet detection by prefix, single-use codes, stored state and the ledger.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawResponse } from '@tunai/client';
import type { Store, Transaction } from '@tunai/client/contract';
import { checkLedger } from '../src/app/check-ledger.js';
import type { TransactionRecord } from '../src/app/payment-ports.js';
import { sha256Hex } from '../src/lib/secrets.js';
import { openDatabase, type OpenedDatabase } from '../src/store/database.js';
import { createDeveloper, forEachDialect, rawRequest, startTestServer, type Developer, type TestServer, transactionKeys, rmTime } from './harness.js';

const zeroTime = '0001-01-01T00:00:00Z';

/**
 * Codes are single use per database, so every code in this file is distinct: a running serial fills the
 * middle, the wallet prefix stays in front and the magic scenario digits stay at the end.
 */
let serial = 0;
function authCode(prefix: string, magic: string, length = 18): string {
  serial += 1;
  const middle = length - prefix.length - magic.length;
  const digits = String(serial).padStart(middle, '0');
  assert.equal(digits.length, middle, 'serial outgrew the code');
  return `${prefix}${digits}${magic}`;
}
/** A WeChat Pay Malaysia code (the spec's own examples start 13…). */
const wechatMy = (magic: string): string => authCode('13', magic);
const orderId = (label: string): string => `oc-${label}-${++serial}`;

const iso = rmTime;
/** yyMMddHHmmss (UTC): the head of every transaction id. */
function utcStamp(ms: number): string {
  const at = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(at.getUTCFullYear() % 100)}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}${two(at.getUTCSeconds())}`;
}

function assertError(res: RawResponse, status: number, code: string, what = ''): void {
  assert.equal(res.status, status, `${what} expected HTTP ${status}, got ${res.status}: ${res.rawText}`);
  const body = res.body as { error?: { code?: string; message?: string } };
  assert.equal(body.error?.code, code, `${what} ${res.rawText}`);
  assert.equal(typeof body.error?.message, 'string');
  assert.ok((body.error?.message ?? '').length > 0, 'the error carries a message');
}

interface LedgerRow {
  kind: string;
  amount_minor: number;
  method: string;
  region: string;
  currency: string;
}

forEachDialect('payments: wallet simulator outcomes', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let direct: OpenedDatabase;
  let store: Store;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Outcomes Sdn Bhd' });
    direct = openDatabase(server.database.target);
    store = (await dev.client.stores.get(dev.merchant.store.id)).item;
  });
  after(async () => {
    await direct?.db.destroy();
    await server?.close();
  });

  const merchantId = (): string => dev.merchant.merchant.id;

  const body = (code: string, order: string, amount = 100, extra: Record<string, unknown> = {}) => ({
    authCode: code,
    order: { id: order, title: 'Kopi O', detail: 'two cups', additionalData: 'table 7', currencyType: 'MYR', amount },
    ipAddress: '8.8.8.8',
    storeId: dev.merchant.store.id,
    ...extra,
  });

  const pay = (code: string, order: string, amount = 100, extra: Record<string, unknown> = {}): Promise<RawResponse> =>
    dev.client.send('POST', '/v3/payment/quickpay', { body: body(code, order, amount, extra) });

  async function payItem(code: string, order: string, amount = 100, extra: Record<string, unknown> = {}): Promise<Transaction> {
    const res = await pay(code, order, amount, extra);
    assert.equal(res.status, 200, res.rawText);
    const envelope = res.body as { item: Transaction; code: string };
    assert.equal(envelope.code, 'SUCCESS');
    return envelope.item;
  }

  async function stored(order: string): Promise<TransactionRecord> {
    const tx = await server.running.storage.payments.getByOrderId(merchantId(), order);
    assert.ok(tx, `transaction for order ${order} is stored`);
    return tx;
  }

  async function viaApi(order: string): Promise<Transaction> {
    const res = await dev.client.payment.transactionByOrderId(order);
    assert.equal(res.code, 'SUCCESS');
    return res.item;
  }

  /** Moves the clock to `createdAtMs + ageMs` (never backwards) and runs one closed-loop tick. */
  async function tickAt(createdAtMs: number, ageMs: number): Promise<void> {
    const deltaMs = createdAtMs + ageMs - server.clock.nowMs();
    assert.ok(deltaMs >= 0, `clock would move backwards by ${-deltaMs} ms`);
    server.clock.advanceMs(deltaMs);
    await server.running.runClosedLoop();
  }

  async function ledgerOf(transactionId: string): Promise<LedgerRow[]> {
    return direct.db
      .selectFrom('ledger_entries')
      .select(['kind', 'amount_minor', 'method', 'region', 'currency'])
      .where('transaction_id', '=', transactionId)
      .orderBy('booked_at_ms')
      .orderBy('kind')
      .execute();
  }

  async function simOrder(transactionId: string) {
    return direct.db.selectFrom('sim_wallet_orders').selectAll().where('upstream_order_id', '=', transactionId).executeTakeFirst();
  }

  async function count(table: 'payment_transactions' | 'ledger_entries' | 'sim_wallet_orders' | 'sim_wallet_codes'): Promise<number> {
    const row = await direct.db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function assertLedgerClean(): Promise<void> {
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
    assert.ok(report.transactionsChecked > 0);
  }

  /** Every wire field of an IN_PROCESS answer: nothing final yet (no reference, payee, time or balance). */
  function assertInProcessWire(t: Transaction, order: string, amount: number): void {
    assert.deepEqual(Object.keys(t).sort(), transactionKeys);
    assert.equal(t.status, 'IN_PROCESS');
    assert.equal(t.order.id, order);
    assert.equal(t.order.amount, amount);
    assert.equal(t.balanceAmount, 0);
    assert.equal(t.referenceId, '');
    assert.deepEqual(t.payee, {});
    assert.equal(t.transactionAt, zeroTime);
    assert.deepEqual(t.error, {});
  }

  async function assertFailedStored(order: string, code: string): Promise<TransactionRecord> {
    const tx = await stored(order);
    assert.equal(tx.status, 'FAILED');
    assert.equal(tx.errorCode, code);
    assert.ok(tx.errorMessage && tx.errorMessage.length > 0, 'a failed transaction keeps its error message');
    assert.equal(tx.balanceMinor, 0);
    assert.equal(tx.nextCheckAtMs, null, 'a final transaction leaves the closed loop');
    const wire = await viaApi(order);
    assert.equal(wire.status, 'FAILED');
    assert.deepEqual(wire.error, { code, message: tx.errorMessage });
    assert.equal(wire.balanceAmount, 0);
    assert.deepEqual(await ledgerOf(tx.id), [], 'a failed payment books nothing');
    return tx;
  }

  // ---- immediate success --------------------------------------------------------------------------------

  test('0000: immediate SUCCESS, the full Transaction wire object and one PAYMENT entry', async () => {
    const nowMs = server.clock.nowMs();
    const code = wechatMy('0000');
    const order = orderId('s0000');
    const t = await payItem(code, order, 1234, { terminalId: 'TERM-01' });

    assert.deepEqual(Object.keys(t).sort(), transactionKeys);
    assert.deepEqual(Object.keys(t.order).sort(), ['additionalData', 'amount', 'detail', 'id', 'title']);
    assert.deepEqual(t.order, { id: order, title: 'Kopi O', detail: 'two cups', additionalData: 'table 7', amount: 1234 });
    assert.deepEqual(t.store, store);
    assert.equal(t.status, 'SUCCESS');
    assert.equal(t.method, 'WECHATPAY');
    assert.equal(t.region, 'MALAYSIA');
    assert.equal(t.currencyType, 'MYR');
    assert.equal(t.balanceAmount, 1234);
    assert.ok(Number.isInteger(t.balanceAmount));
    assert.equal(t.platform, 'OPEN_API');
    assert.equal(t.type, 'QUICK_PAY');
    assert.equal(t.terminalId, 'TERM-01');
    assert.deepEqual(t.error, {});
    assert.equal(typeof t.referenceId, 'string');
    assert.ok(t.referenceId.length > 0, 'a paid transaction carries the wallet reference');
    assert.deepEqual(Object.keys(t.payee), ['userId']);
    assert.equal(typeof t.payee.userId, 'string');
    assert.ok((t.payee.userId ?? '').length > 0);
    assert.match(t.transactionId, /^[0-9]{24}$/);
    assert.ok(t.transactionId.startsWith(utcStamp(nowMs)), `${t.transactionId} starts with ${utcStamp(nowMs)}`);
    assert.equal(t.transactionAt, iso(nowMs));
    assert.equal(t.createdAt, iso(nowMs));
    assert.equal(t.updatedAt, iso(nowMs));

    const tx = await stored(order);
    assert.equal(tx.id, t.transactionId);
    assert.equal(tx.status, 'SUCCESS');
    assert.equal(tx.balanceMinor, 1234);
    assert.equal(tx.referenceId, t.referenceId);
    assert.equal(tx.payerUserId, t.payee.userId);
    assert.equal(tx.transactionAtMs, nowMs);
    assert.equal(tx.errorCode, null);
    assert.equal(tx.nextCheckAtMs, null);
    assert.equal(tx.leaseUntilMs, null);
    assert.deepEqual(await viaApi(order), t, 'GET by order answers the same object');
    assert.deepEqual((await dev.client.payment.transaction(t.transactionId)).item, t, 'GET by id answers the same object');
    assert.deepEqual(await ledgerOf(tx.id), [{ kind: 'PAYMENT', amount_minor: 1234, method: 'WECHATPAY', region: 'MALAYSIA', currency: 'MYR' }]);
    const sim = await simOrder(tx.id);
    assert.equal(sim?.status, 'SUCCESS');
    assert.equal(Number(sim?.amount_minor), 1234);
    await assertLedgerClean();
  });

  test('an arbitrary (non-magic) suffix pays at once too', async () => {
    const order = orderId('s5678');
    const t = await payItem(wechatMy('5678'), order, 250);
    assert.equal(t.status, 'SUCCESS');
    assert.equal(t.balanceAmount, 250);
    assert.ok(t.referenceId.length > 0);
    assert.ok((t.payee.userId ?? '').length > 0);
    assert.equal(t.transactionAt, iso(server.clock.nowMs()));
    assert.equal(t.terminalId, '');
    const tx = await stored(order);
    assert.equal(tx.status, 'SUCCESS');
    assert.deepEqual((await ledgerOf(tx.id)).map((e) => [e.kind, e.amount_minor]), [['PAYMENT', 250]]);
    await assertLedgerClean();
  });

  test('order ids "." and ".." (no URL path can carry them) → 400 VALIDATION_ERROR, nothing stored; "..." and "a.b" pay and are found by order id', async () => {
    const before = await direct.db.selectFrom('payment_transactions').select('id').where('merchant_id', '=', merchantId()).execute();
    for (const dots of ['.', '..']) {
      const res = await pay(wechatMy('0000'), dots);
      assertError(res, 400, 'VALIDATION_ERROR', `order id ${dots}`);
      assert.match(res.rawText, /order\.id/);
    }
    const after = await direct.db.selectFrom('payment_transactions').select('id').where('merchant_id', '=', merchantId()).execute();
    assert.equal(after.length, before.length, 'no transaction was stored');
    for (const order of ['...', `a.${orderId('d').slice(0, 20)}`]) {
      const paid = await payItem(wechatMy('0000'), order);
      assert.equal((await viaApi(order)).transactionId, paid.transactionId, `order ${order} is found by its id`);
    }
  });

  // ---- wallet detection ---------------------------------------------------------------------------------

  const wallets: { prefix: string; length: number; method: string; region: string }[] = [
    { prefix: '10', length: 18, method: 'WECHATPAY', region: 'CHINA' },
    { prefix: '11', length: 18, method: 'WECHATPAY', region: 'CHINA' },
    { prefix: '12', length: 18, method: 'WECHATPAY', region: 'CHINA' },
    { prefix: '13', length: 18, method: 'WECHATPAY', region: 'MALAYSIA' },
    { prefix: '14', length: 18, method: 'WECHATPAY', region: 'MALAYSIA' },
    { prefix: '15', length: 18, method: 'WECHATPAY', region: 'MALAYSIA' },
    { prefix: '25', length: 16, method: 'ALIPAY', region: 'CHINA' },
    { prefix: '26', length: 17, method: 'ALIPAY', region: 'CHINA' },
    { prefix: '27', length: 18, method: 'ALIPAY', region: 'CHINA' },
    { prefix: '28', length: 20, method: 'ALIPAY', region: 'CHINA' },
    { prefix: '29', length: 22, method: 'ALIPAY', region: 'CHINA' },
    { prefix: '30', length: 24, method: 'ALIPAY', region: 'CHINA' },
    { prefix: '80', length: 18, method: 'TNG', region: 'MALAYSIA' },
    { prefix: '81', length: 18, method: 'BOOST', region: 'MALAYSIA' },
    { prefix: '82', length: 18, method: 'GRABPAY', region: 'MALAYSIA' },
    { prefix: '83', length: 18, method: 'MAYBANK', region: 'MALAYSIA' },
    { prefix: '84', length: 18, method: 'SHOPEEPAY', region: 'MALAYSIA' },
    { prefix: '85', length: 18, method: 'PRESTO', region: 'MALAYSIA' },
  ];
  for (const w of wallets) {
    test(`wallet detection: ${w.length}-digit code with prefix ${w.prefix} → ${w.method}/${w.region}`, async () => {
      const code = authCode(w.prefix, '0000', w.length);
      assert.equal(code.length, w.length);
      const order = orderId(`w${w.prefix}`);
      const t = await payItem(code, order, 500);
      assert.equal(t.status, 'SUCCESS');
      assert.equal(t.method, w.method);
      assert.equal(t.region, w.region);
      assert.ok(t.referenceId.length > 0);
      const tx = await stored(order);
      assert.equal(tx.method, w.method);
      assert.equal(tx.region, w.region);
      assert.deepEqual(await ledgerOf(tx.id), [{ kind: 'PAYMENT', amount_minor: 500, method: w.method, region: w.region, currency: 'MYR' }]);
      await assertLedgerClean();
    });
  }

  const invalidCodes: { what: string; code: () => string }[] = [
    { what: 'unknown prefix 09', code: () => authCode('09', '0000') },
    { what: 'unknown prefix 16 (18 digits)', code: () => authCode('16', '0000') },
    { what: 'unknown prefix 24 (Alipay range starts at 25)', code: () => authCode('24', '0000', 20) },
    { what: 'unknown prefix 31', code: () => authCode('31', '0000', 20) },
    { what: 'unknown prefix 86', code: () => authCode('86', '0000') },
    { what: 'unknown prefix 79', code: () => authCode('79', '0000') },
    { what: 'WeChat prefix with 17 digits', code: () => authCode('13', '0000', 17) },
    { what: 'WeChat prefix with 19 digits', code: () => authCode('10', '0000', 19) },
    { what: 'Alipay prefix with 15 digits', code: () => authCode('25', '0000', 15) },
    { what: 'Alipay prefix with 25 digits', code: () => authCode('28', '0000', 25) },
    { what: 'TNG prefix with 17 digits', code: () => authCode('80', '0000', 17) },
    { what: 'GRABPAY prefix with 19 digits', code: () => authCode('82', '0000', 19) },
    { what: 'a letter inside', code: () => `13a${authCode('', '0000', 15)}` },
    { what: 'a space inside', code: () => `13 ${authCode('', '0000', 15)}` },
    { what: 'a leading plus', code: () => `+${authCode('13', '0000', 17)}` },
    { what: 'a dash inside', code: () => `1348-${authCode('', '0000', 13)}` },
    { what: 'non-ASCII digits', code: () => `١٣${authCode('', '0000', 16)}` },
  ];
  for (const c of invalidCodes) {
    test(`AUTH_CODE_INVALID: ${c.what}; nothing is written`, async () => {
      const before = {
        transactions: await count('payment_transactions'),
        ledger: await count('ledger_entries'),
        simOrders: await count('sim_wallet_orders'),
        simCodes: await count('sim_wallet_codes'),
      };
      const order = orderId('bad');
      assertError(await pay(c.code(), order), 400, 'AUTH_CODE_INVALID', c.what);
      assert.equal(await server.running.storage.payments.getByOrderId(merchantId(), order), null);
      assertError(await dev.client.send('GET', `/v3/payment/transaction/order/${order}`), 404, 'TRANSACTION_NOT_FOUND');
      assert.deepEqual(
        {
          transactions: await count('payment_transactions'),
          ledger: await count('ledger_entries'),
          simOrders: await count('sim_wallet_orders'),
          simCodes: await count('sim_wallet_codes'),
        },
        before,
      );
    });
  }

  // ---- user paying: the closed loop -------------------------------------------------------------------------

  test('1001: IN_PROCESS, still IN_PROCESS after the 1st query (5 s), SUCCESS at the 2nd (8 s)', async () => {
    const order = orderId('s1001');
    const t0 = server.clock.nowMs();
    const first = await payItem(wechatMy('1001'), order, 300);
    assertInProcessWire(first, order, 300);
    const tx0 = await stored(order);
    assert.equal(tx0.status, 'IN_PROCESS');
    assert.equal(tx0.createdAtMs, t0);
    assert.equal(tx0.nextCheckAtMs, t0 + 5_000, 'first query 5 s after creation');

    await tickAt(t0, 4_999);
    assert.equal((await simOrder(tx0.id))?.query_count, 0, 'not queried before 5 s');
    await tickAt(t0, 5_000);
    assert.equal((await stored(order)).status, 'IN_PROCESS');
    assert.equal((await simOrder(tx0.id))?.query_count, 1);
    assert.equal((await viaApi(order)).status, 'IN_PROCESS');
    assert.deepEqual(await ledgerOf(tx0.id), []);

    await tickAt(t0, 8_000);
    const tx = await stored(order);
    assert.equal(tx.status, 'SUCCESS');
    assert.equal(tx.balanceMinor, 300);
    assert.equal(tx.nextCheckAtMs, null);
    assert.equal((await simOrder(tx0.id))?.query_count, 2);
    const wire = await viaApi(order);
    assert.equal(wire.status, 'SUCCESS');
    assert.equal(wire.balanceAmount, 300);
    assert.ok(wire.referenceId.length > 0);
    assert.ok((wire.payee.userId ?? '').length > 0);
    assert.equal(wire.transactionAt, iso(t0 + 8_000));
    assert.deepEqual(wire.error, {});
    assert.deepEqual((await ledgerOf(tx.id)).map((e) => [e.kind, e.amount_minor]), [['PAYMENT', 300]]);

    await tickAt(t0, 30_000);
    assert.equal((await simOrder(tx0.id))?.query_count, 2, 'a final payment is not queried again');
    assert.equal((await ledgerOf(tx.id)).length, 1);
    await assertLedgerClean();
  });

  test('1002: never reversed before the 45 s deadline (IN_PROCESS at 15 s and 40 s), REVERSED with PAYMENT_TIMEOUT at 45 s, no ledger', async () => {
    const order = orderId('s1002');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(wechatMy('1002'), order, 400), order, 400);
    const id = (await stored(order)).id;

    for (const ageMs of [5_000, 10_000, 14_999, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000]) {
      await tickAt(t0, ageMs);
      const tx = await stored(order);
      assert.equal(tx.status, 'IN_PROCESS', `still in process at ${ageMs} ms`);
      assert.ok(tx.nextCheckAtMs !== null && tx.nextCheckAtMs <= t0 + 45_000, 'the next check never passes the deadline');
      assert.equal((await simOrder(id))?.reverse_attempts, 0, `no reverse at ${ageMs} ms`);
    }
    assert.ok(Number((await simOrder(id))?.query_count) >= 8, 'the loop kept querying');
    assert.equal((await viaApi(order)).status, 'IN_PROCESS');

    await tickAt(t0, 44_999);
    assert.equal((await stored(order)).status, 'IN_PROCESS', 'not reversed a millisecond before the deadline');
    assert.equal((await simOrder(id))?.reverse_attempts, 0);

    await tickAt(t0, 45_000);
    const tx = await stored(order);
    assert.equal(tx.status, 'REVERSED');
    assert.equal(tx.errorCode, 'PAYMENT_TIMEOUT');
    assert.equal(tx.balanceMinor, 0);
    assert.equal(tx.nextCheckAtMs, null);
    const sim = await simOrder(id);
    assert.equal(sim?.status, 'CLOSED');
    assert.equal(sim?.reverse_attempts, 1);
    const wire = await viaApi(order);
    assert.equal(wire.status, 'REVERSED');
    assert.equal(wire.error.code, 'PAYMENT_TIMEOUT');
    assert.equal(typeof wire.error.message, 'string');
    assert.equal(wire.balanceAmount, 0);
    assert.deepEqual(await ledgerOf(id), [], 'nothing was paid, so nothing is booked');
    await assertLedgerClean();
  });

  test('1002 driven only over HTTP: sandbox clock +40 s and +44 s keep it IN_PROCESS, +45 s reverses it', async () => {
    const order = orderId('s1002h');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(authCode('29', '1002', 19), order, 410), order, 410);
    const sandbox = async (advanceSeconds: number): Promise<void> => {
      const moved = await rawRequest(server.url, 'POST', '/sandbox/clock', { 'content-type': 'application/json' }, JSON.stringify({ advanceSeconds }));
      assert.equal(moved.status, 200, moved.text);
      const ran = await rawRequest(server.url, 'POST', '/sandbox/closed-loop/run', { 'content-type': 'application/json' }, '{}');
      assert.equal(ran.status, 200, ran.text);
    };
    await sandbox(40);
    assert.equal(server.clock.nowMs(), t0 + 40_000);
    assert.equal((await viaApi(order)).status, 'IN_PROCESS');
    await sandbox(4);
    assert.equal((await viaApi(order)).status, 'IN_PROCESS');
    await sandbox(1);
    const wire = await viaApi(order);
    assert.equal(wire.status, 'REVERSED');
    assert.equal(wire.error.code, 'PAYMENT_TIMEOUT');
    assert.equal(wire.method, 'ALIPAY');
    assert.deepEqual(await ledgerOf(wire.transactionId), []);
    await assertLedgerClean();
  });

  test('1003: IN_PROCESS, then FAILED with ORDER_CANCELLED at the 2nd query; no ledger', async () => {
    const order = orderId('s1003');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(wechatMy('1003'), order, 150), order, 150);
    await tickAt(t0, 5_000);
    assert.equal((await stored(order)).status, 'IN_PROCESS');
    await tickAt(t0, 8_000);
    const tx = await assertFailedStored(order, 'ORDER_CANCELLED');
    assert.equal(tx.transactionAtMs, t0 + 8_000);
    assert.equal((await simOrder(tx.id))?.status, 'FAILED');
    await tickAt(t0, 50_000);
    assert.equal((await stored(order)).status, 'FAILED', 'a cancelled payment is not reversed later');
    assert.equal((await simOrder(tx.id))?.reverse_attempts, 0);
    await assertLedgerClean();
  });

  test('1004: pays just before the deadline reverse → REVERSED, ledger has one PAYMENT and one REVERSAL', async () => {
    const order = orderId('s1004');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(authCode('82', '1004'), order, 777), order, 777);
    for (const ageMs of [5_000, 10_000, 20_000, 30_000, 40_000, 44_000]) {
      await tickAt(t0, ageMs);
      assert.equal((await stored(order)).status, 'IN_PROCESS', `still in process at ${ageMs} ms`);
    }
    assert.deepEqual(await ledgerOf((await stored(order)).id), []);
    await tickAt(t0, 45_000);
    const tx = await stored(order);
    assert.equal(tx.status, 'REVERSED');
    assert.equal(tx.balanceMinor, 0);
    assert.equal(tx.errorCode, 'PAYMENT_TIMEOUT');
    assert.ok(tx.referenceId.length > 0, 'the payment did happen: its reference is kept');
    const sim = await simOrder(tx.id);
    assert.equal(sim?.status, 'REFUNDED');
    assert.equal(Number(sim?.refunded_minor), 777);
    const entries = await ledgerOf(tx.id);
    assert.deepEqual(
      entries.map((e) => [e.kind, e.amount_minor, e.method, e.region]).sort(),
      [
        ['PAYMENT', 777, 'GRABPAY', 'MALAYSIA'],
        ['REVERSAL', 777, 'GRABPAY', 'MALAYSIA'],
      ],
    );
    const wire = await viaApi(order);
    assert.equal(wire.status, 'REVERSED');
    assert.equal(wire.balanceAmount, 0);
    assert.equal(wire.method, 'GRABPAY');
    await tickAt(t0, 60_000);
    assert.equal((await ledgerOf(tx.id)).length, 2, 'extra ticks book nothing more');
    await assertLedgerClean();
  });

  // ---- terminal failures on pay -----------------------------------------------------------------------------

  const failures: [string, string][] = [
    ['2001', 'INSUFFICIENT_CARD_BALANCE'],
    ['2002', 'AUTH_CODE_EXPIRED'],
    ['2003', 'AUTH_CODE_USED'],
    ['2004', 'CUSTOMER_REACHED_TRANSACTION_LIMIT'],
    ['2005', 'AUTH_CODE_INVALID'],
  ];
  for (const [magic, code] of failures) {
    test(`${magic}: QuickPay answers 400 ${code}; stored FAILED with error {code,message}; GET by id and by order show FAILED`, async () => {
      const order = orderId(`s${magic}`);
      const nowMs = server.clock.nowMs();
      const res = await pay(wechatMy(magic), order, 200);
      assertError(res, 400, code);
      const tx = await assertFailedStored(order, code);
      assert.equal(tx.errorMessage, (res.body as { error: { message: string } }).error.message, 'the stored message is the one answered');
      assert.deepEqual((await dev.client.payment.transaction(tx.id)).item, await viaApi(order), 'by id reads what by order reads');
      assert.equal(tx.transactionAtMs, nowMs);
      assert.equal(tx.method, 'WECHATPAY');
      assert.equal((await simOrder(tx.id))?.status, 'FAILED');
      await tickAt(nowMs, 50_000);
      assert.equal((await stored(order)).status, 'FAILED', 'the loop leaves a failed payment alone');
      await assertLedgerClean();
    });
  }

  test('2005 is the spec\'s failed WeChat QuickPay: error {"code":"AUTH_CODE_INVALID","message":"Invalid Auth Code"}, the wallet\'s order FAILED', async () => {
    const order = orderId('s2005-spec');
    const res = await pay(wechatMy('2005'), order, 100);
    assertError(res, 400, 'AUTH_CODE_INVALID');
    assert.deepEqual(res.body, { error: { code: 'AUTH_CODE_INVALID', message: 'Invalid Auth Code' } });
    const tx = await assertFailedStored(order, 'AUTH_CODE_INVALID');
    const wire = (await dev.client.payment.transaction(tx.id)).item;
    assert.deepEqual(Object.keys(wire).sort(), transactionKeys);
    assert.deepEqual(
      [wire.status, wire.error, wire.method, wire.region, wire.type, wire.balanceAmount, wire.referenceId, wire.payee],
      ['FAILED', { code: 'AUTH_CODE_INVALID', message: 'Invalid Auth Code' }, 'WECHATPAY', 'MALAYSIA', 'QUICK_PAY', 0, '', {}],
    );
    // Unlike a code of no wallet's shape (refused before anything is written), the wallet saw this one.
    assert.equal((await simOrder(tx.id))?.status, 'FAILED');
    await assertLedgerClean();
  });

  test('9999: wallet under maintenance → 503 SYSTEM_ERROR, stored FAILED, nothing at the wallet, no ledger', async () => {
    const order = orderId('s9999');
    const nowMs = server.clock.nowMs();
    const res = await pay(wechatMy('9999'), order, 200);
    assertError(res, 503, 'SYSTEM_ERROR');
    const tx = await assertFailedStored(order, 'SYSTEM_ERROR');
    assert.equal(tx.errorMessage, (res.body as { error: { message: string } }).error.message);
    assert.equal(await simOrder(tx.id), undefined, 'the wallet refused the call');
    await tickAt(nowMs, 50_000);
    assert.equal((await stored(order)).status, 'FAILED');
    await assertLedgerClean();
  });

  // ---- uncertain answers ------------------------------------------------------------------------------------

  test('3001: pay times out but the wallet charged → IN_PROCESS, first query SUCCESS, exactly one PAYMENT even after extra ticks', async () => {
    const order = orderId('s3001');
    const code = authCode('25', '3001', 20);
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(code, order, 900), order, 900);
    const id = (await stored(order)).id;
    assert.deepEqual(await ledgerOf(id), [], 'not booked before the outcome is known');
    await tickAt(t0, 5_000);
    const tx = await stored(order);
    assert.equal(tx.status, 'SUCCESS');
    assert.equal(tx.balanceMinor, 900);
    assert.equal(tx.transactionAtMs, t0, 'paid when the wallet charged, not when we learned it');
    for (const ageMs of [8_000, 11_000, 20_000, 45_000, 60_000]) await tickAt(t0, ageMs);
    assert.equal((await stored(order)).status, 'SUCCESS');
    assert.deepEqual(await ledgerOf(id), [{ kind: 'PAYMENT', amount_minor: 900, method: 'ALIPAY', region: 'CHINA', currency: 'MYR' }]);
    // The wallet charged once: one order for this code, paid, queried once, never reversed.
    const orders = await direct.db.selectFrom('sim_wallet_orders').selectAll().where('code_hash', '=', sha256Hex(`authcode:${code}`)).execute();
    assert.equal(orders.length, 1);
    assert.equal(orders[0]?.status, 'SUCCESS');
    assert.equal(Number(orders[0]?.amount_minor), 900);
    assert.equal(orders[0]?.query_count, 1);
    assert.equal(orders[0]?.reverse_attempts, 0);
    const wire = await viaApi(order);
    assert.equal(wire.status, 'SUCCESS');
    assert.equal(wire.transactionAt, iso(t0));
    assert.ok(wire.referenceId.length > 0);
    await assertLedgerClean();
  });

  test('3002: system error on pay, the wallet never saw it → IN_PROCESS, then FAILED with SYSTEM_ERROR after the first query', async () => {
    const order = orderId('s3002');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(wechatMy('3002'), order, 120), order, 120);
    const id = (await stored(order)).id;
    assert.equal(await simOrder(id), undefined, 'the wallet has no order');
    await tickAt(t0, 4_999);
    assert.equal((await stored(order)).status, 'IN_PROCESS');
    await tickAt(t0, 5_000);
    await assertFailedStored(order, 'SYSTEM_ERROR');
    await tickAt(t0, 50_000);
    assert.equal((await stored(order)).status, 'FAILED');
    await assertLedgerClean();
  });

  test('3003: the deadline reverse fails once, is retried after the 2 s backoff and then succeeds → REVERSED', async () => {
    const order = orderId('s3003');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(authCode('80', '3003'), order, 350), order, 350);
    const id = (await stored(order)).id;
    for (const ageMs of [5_000, 15_000, 25_000, 35_000, 40_000]) await tickAt(t0, ageMs);
    assert.equal((await stored(order)).status, 'IN_PROCESS');

    await tickAt(t0, 45_000);
    let tx = await stored(order);
    assert.equal(tx.status, 'IN_PROCESS', 'the first reverse failed');
    assert.equal(tx.reverseAttempts, 1);
    assert.equal(tx.nextCheckAtMs, t0 + 47_000, 'retried after the 2 s backoff');
    assert.equal((await simOrder(id))?.reverse_attempts, 1);

    await tickAt(t0, 46_999);
    assert.equal((await stored(order)).status, 'IN_PROCESS', 'not retried before the backoff');
    assert.equal((await simOrder(id))?.reverse_attempts, 1);

    await tickAt(t0, 47_000);
    tx = await stored(order);
    assert.equal(tx.status, 'REVERSED');
    assert.equal(tx.errorCode, 'PAYMENT_TIMEOUT');
    assert.equal(tx.nextCheckAtMs, null);
    assert.equal((await simOrder(id))?.reverse_attempts, 2);
    assert.equal((await simOrder(id))?.status, 'CLOSED');
    const wire = await viaApi(order);
    assert.equal(wire.status, 'REVERSED');
    assert.equal(wire.method, 'TNG');
    assert.equal(wire.error.code, 'PAYMENT_TIMEOUT');
    assert.deepEqual(await ledgerOf(id), []);
    await assertLedgerClean();
  });

  test('3003 via the API: the first merchant reverse answers FAILED_TO_REVERSE_ORDER, the retry after the backoff reverses', async () => {
    const order = orderId('s3003r');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(wechatMy('3003'), order, 360), order, 360);
    await tickAt(t0, 1_000);
    assertError(await dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: order } }), 400, 'FAILED_TO_REVERSE_ORDER');
    let tx = await stored(order);
    assert.equal(tx.status, 'IN_PROCESS');
    assert.equal(tx.reverseRequested, true);
    assert.equal(tx.nextCheckAtMs, t0 + 3_000);
    await tickAt(t0, 2_999);
    assert.equal((await stored(order)).status, 'IN_PROCESS');
    await tickAt(t0, 3_000);
    tx = await stored(order);
    assert.equal(tx.status, 'REVERSED');
    assert.equal(tx.errorCode, null, 'a merchant reverse is not a timeout');
    const again = await dev.client.payment.reverse(order);
    assert.equal(again.item.status, 'REVERSED');
    assert.deepEqual(again.item.error, {});
    assert.deepEqual(await ledgerOf(tx.id), []);
    await assertLedgerClean();
  });

  test('3004: the query fails twice (HTTP 500), the 3rd query finds SUCCESS', async () => {
    const order = orderId('s3004');
    const t0 = server.clock.nowMs();
    assertInProcessWire(await payItem(authCode('84', '3004'), order, 640), order, 640);
    const id = (await stored(order)).id;
    await tickAt(t0, 5_000);
    assert.equal((await stored(order)).status, 'IN_PROCESS');
    assert.equal((await simOrder(id))?.query_count, 1);
    await tickAt(t0, 8_000);
    assert.equal((await stored(order)).status, 'IN_PROCESS');
    assert.equal((await simOrder(id))?.query_count, 2);
    await tickAt(t0, 11_000);
    const tx = await stored(order);
    assert.equal(tx.status, 'SUCCESS');
    assert.equal(tx.balanceMinor, 640);
    assert.equal((await simOrder(id))?.query_count, 3);
    const wire = await viaApi(order);
    assert.equal(wire.status, 'SUCCESS');
    assert.equal(wire.method, 'SHOPEEPAY');
    assert.equal(wire.transactionAt, iso(t0 + 11_000));
    await tickAt(t0, 60_000);
    assert.deepEqual(await ledgerOf(id), [{ kind: 'PAYMENT', amount_minor: 640, method: 'SHOPEEPAY', region: 'MALAYSIA', currency: 'MYR' }]);
    await assertLedgerClean();
  });

  // ---- single-use codes -------------------------------------------------------------------------------------

  test('a code that paid cannot pay again: the second order is 400 AUTH_CODE_USED and stored FAILED', async () => {
    const code = wechatMy('0000');
    const firstOrder = orderId('u1');
    const secondOrder = orderId('u2');
    assert.equal((await payItem(code, firstOrder, 100)).status, 'SUCCESS');
    assertError(await pay(code, secondOrder, 100), 400, 'AUTH_CODE_USED');
    await assertFailedStored(secondOrder, 'AUTH_CODE_USED');
    const first = await stored(firstOrder);
    assert.equal(first.status, 'SUCCESS');
    assert.equal((await ledgerOf(first.id)).length, 1, 'the first payment is untouched');
    // The same code on a third order, with another amount, is refused all the same.
    assertError(await pay(code, orderId('u3'), 555), 400, 'AUTH_CODE_USED');
    await assertLedgerClean();
  });

  test('a code whose first use failed (2001) cannot be reused: AUTH_CODE_USED, not a second balance check', async () => {
    const code = authCode('30', '2001', 24);
    const firstOrder = orderId('uf1');
    const secondOrder = orderId('uf2');
    assertError(await pay(code, firstOrder), 400, 'INSUFFICIENT_CARD_BALANCE');
    assertError(await pay(code, secondOrder), 400, 'AUTH_CODE_USED');
    await assertFailedStored(firstOrder, 'INSUFFICIENT_CARD_BALANCE');
    await assertFailedStored(secondOrder, 'AUTH_CODE_USED');
    await assertLedgerClean();
  });

  test('a code the wallet called invalid (2005) is used up too: AUTH_CODE_USED on reuse, like 2001–2004', async () => {
    const code = authCode('25', '2005', 20);
    const firstOrder = orderId('ui1');
    const secondOrder = orderId('ui2');
    assertError(await pay(code, firstOrder), 400, 'AUTH_CODE_INVALID');
    assertError(await pay(code, secondOrder), 400, 'AUTH_CODE_USED');
    assert.equal((await assertFailedStored(firstOrder, 'AUTH_CODE_INVALID')).method, 'ALIPAY');
    await assertFailedStored(secondOrder, 'AUTH_CODE_USED');
    await assertLedgerClean();
  });

  test('a code still being paid (1001) cannot start a second payment, and the first one still completes once', async () => {
    const code = wechatMy('1001');
    const firstOrder = orderId('up1');
    const secondOrder = orderId('up2');
    const t0 = server.clock.nowMs();
    assert.equal((await payItem(code, firstOrder, 210)).status, 'IN_PROCESS');
    assertError(await pay(code, secondOrder, 210), 400, 'AUTH_CODE_USED');
    await assertFailedStored(secondOrder, 'AUTH_CODE_USED');
    await tickAt(t0, 5_000);
    await tickAt(t0, 8_000);
    const first = await stored(firstOrder);
    assert.equal(first.status, 'SUCCESS');
    assert.deepEqual((await ledgerOf(first.id)).map((e) => e.kind), ['PAYMENT']);
    await assertLedgerClean();
  });

  test('a code the wallet never recorded an order for (3002) is still used up', async () => {
    const code = wechatMy('3002');
    const firstOrder = orderId('un1');
    const t0 = server.clock.nowMs();
    assert.equal((await payItem(code, firstOrder)).status, 'IN_PROCESS');
    await tickAt(t0, 5_000);
    assert.equal((await stored(firstOrder)).status, 'FAILED');
    const secondOrder = orderId('un2');
    assertError(await pay(code, secondOrder), 400, 'AUTH_CODE_USED');
    await assertFailedStored(secondOrder, 'AUTH_CODE_USED');
    await assertLedgerClean();
  });

  test('suite end: the whole ledger is consistent', async () => {
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
    assert.equal(report.transactionsChecked, await count('payment_transactions'));
  });
});
