// Audit of the README's sandbox magic values as a developer meets them: QuickPay auth-code suffixes (the HTTP answer,
// the transaction afterwards, the notify, the ledger and the settlement report), the sandbox wallet screen's outcomes
// on a checkout and a Transaction QR, and the /sandbox routes; driven over HTTP only, on SQLite and PostgreSQL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawResponse } from '@tunai/client';
import type { Transaction } from '@tunai/client/contract';
import { checkLedger } from '../src/app/check-ledger.js';
import { openDatabase, type OpenedDatabase } from '../src/store/database.js';
import { WalletSimulator } from '../src/providers/wallet-simulator.js';
import { postForm } from './api-checks.js';
import { createDeveloper, forEachDialect, rawRequest, startTestServer, type Developer, type TestServer, rmTime } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

/** Codes are single use per database: a run-wide serial fills the middle, the wallet prefix leads, the magic ends it. */
let serial = 0;
const runTag = String(Date.now() % 1_000_000).padStart(6, '0');
function wechatMy(magic: string): string {
  serial += 1;
  return `13${runTag}${String(serial).padStart(6, '0')}${magic}`;
}
const orderId = (label: string): string => `m${++serial}-${label}`.slice(0, 24);

const errorOf = (res: RawResponse): { code?: string; message?: string } => ((res.body ?? {}) as { error?: { code?: string; message?: string } }).error ?? {};
const itemOf = (res: RawResponse): Transaction => (res.body as { item: Transaction }).item;

/** Malaysian calendar day (UTC+8) of an instant: the settlement report's day. */
const myDay = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);

interface World {
  server: TestServer;
  dev: Developer;
  direct: OpenedDatabase;
}

function openWorld(dialect: 'sqlite' | 'postgres', env: Record<string, string> = {}): World {
  const world = {} as World;
  before(async () => {
    world.server = await startTestServer(dialect, env);
    world.dev = await createDeveloper(world.server, { companyName: 'Magic Values Sdn Bhd' });
    world.direct = openDatabase(world.server.database.target);
  });
  after(async () => {
    await world.direct?.db.destroy();
    await world.server?.close();
  });
  return world;
}

async function ledgerKinds(world: World, transactionId: string): Promise<string[]> {
  const rows = await world.direct.db.selectFrom('ledger_entries').select(['kind', 'amount_minor']).where('transaction_id', '=', transactionId).orderBy('kind').execute();
  return rows.map((r) => `${r.kind}:${Number(r.amount_minor)}`);
}

async function assertLedgerClean(world: World, what: string): Promise<void> {
  const report = await checkLedger(world.server.running.storage);
  assert.deepEqual(report.violations, [], `ledger check after ${what}`);
  assert.ok(report.transactionsChecked > 0, `ledger check saw transactions after ${what}`);
}

/** Every T line of this merchant's settlement reports for the given Malaysian days: transaction id → [gross, refund]. */
async function settlementLines(world: World, days: Iterable<string>): Promise<Map<string, string[][]>> {
  const lines = new Map<string, string[][]>();
  for (const date of new Set(days)) {
    const csv = await world.dev.client.payment.settlementCsv({ date, method: 'ALL', region: 'MALAYSIA', sequence: 1 });
    for (const line of csv.trimEnd().split('\n').filter((l) => l.startsWith('T,'))) {
      const [, id, gross, refund] = line.split(',');
      if (!id || id === '0') continue;
      lines.set(id, [...(lines.get(id) ?? []), [gross ?? '', refund ?? '']]);
    }
  }
  return lines;
}

forEachDialect('magic values audit: QuickPay suffixes, driven by the sandbox routes', (dialect) => {
  const world = openWorld(dialect);

  const pay = (code: string, order: string, amount = 500): Promise<RawResponse> =>
    world.dev.client.send('POST', '/v3/payment/quickpay', {
      body: { authCode: code, storeId: world.dev.merchant.store.id, ipAddress: '127.0.0.1', order: { id: order, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount } },
    });
  const byId = async (id: string): Promise<Transaction> => {
    const res = await world.dev.client.send('GET', `/v3/payment/transaction/${id}`);
    assert.equal(res.status, 200, `GET transaction ${id}: ${res.rawText}`);
    return itemOf(res);
  };
  /** Moves the server clock over HTTP to `createdAtMs + ageSeconds` and runs the closed loop over HTTP. */
  async function ageTo(createdAtMs: number, ageSeconds: number): Promise<void> {
    const clock = await world.dev.client.sandbox.clock();
    const deltaMs = createdAtMs + ageSeconds * 1000 - clock.item.nowMs;
    assert.ok(deltaMs >= 0, `the clock would have to go back ${-deltaMs} ms`);
    if (deltaMs >= 1000) await world.dev.client.sandbox.advanceClock(Math.floor(deltaMs / 1000));
    await world.dev.client.sandbox.runClosedLoop();
  }

  interface Expectation {
    magic: string;
    /** The QuickPay answer with the harness's zero wait. */
    answer: { http: number; status?: string; code?: string };
    /** [age in seconds, status (and error code) the transaction reads at that age]. */
    timeline: [number, string, string?][];
    ledger: string[];
  }
  const table: Expectation[] = [
    { magic: '0000', answer: { http: 200, status: 'SUCCESS' }, timeline: [[0, 'SUCCESS']], ledger: ['PAYMENT:500'] },
    { magic: '4242', answer: { http: 200, status: 'SUCCESS' }, timeline: [[0, 'SUCCESS']], ledger: ['PAYMENT:500'] },
    { magic: '1001', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[5, 'IN_PROCESS'], [8, 'SUCCESS']], ledger: ['PAYMENT:500'] },
    { magic: '1002', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[5, 'IN_PROCESS'], [15, 'IN_PROCESS'], [44, 'IN_PROCESS'], [45, 'REVERSED', 'PAYMENT_TIMEOUT']], ledger: [] },
    { magic: '1003', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[5, 'IN_PROCESS'], [8, 'FAILED', 'ORDER_CANCELLED']], ledger: [] },
    { magic: '1004', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[44, 'IN_PROCESS'], [45, 'REVERSED', 'PAYMENT_TIMEOUT']], ledger: ['PAYMENT:500', 'REVERSAL:500'] },
    { magic: '2001', answer: { http: 400, code: 'INSUFFICIENT_CARD_BALANCE' }, timeline: [[0, 'FAILED', 'INSUFFICIENT_CARD_BALANCE']], ledger: [] },
    { magic: '2002', answer: { http: 400, code: 'AUTH_CODE_EXPIRED' }, timeline: [[0, 'FAILED', 'AUTH_CODE_EXPIRED']], ledger: [] },
    { magic: '2003', answer: { http: 400, code: 'AUTH_CODE_USED' }, timeline: [[0, 'FAILED', 'AUTH_CODE_USED']], ledger: [] },
    { magic: '2004', answer: { http: 400, code: 'CUSTOMER_REACHED_TRANSACTION_LIMIT' }, timeline: [[0, 'FAILED', 'CUSTOMER_REACHED_TRANSACTION_LIMIT']], ledger: [] },
    { magic: '2005', answer: { http: 400, code: 'AUTH_CODE_INVALID' }, timeline: [[0, 'FAILED', 'AUTH_CODE_INVALID']], ledger: [] },
    { magic: '3001', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[5, 'SUCCESS']], ledger: ['PAYMENT:500'] },
    { magic: '3002', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[5, 'FAILED', 'SYSTEM_ERROR']], ledger: [] },
    { magic: '3003', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[44, 'IN_PROCESS'], [45, 'IN_PROCESS'], [47, 'REVERSED', 'PAYMENT_TIMEOUT']], ledger: [] },
    { magic: '3004', answer: { http: 200, status: 'IN_PROCESS' }, timeline: [[5, 'IN_PROCESS'], [8, 'IN_PROCESS'], [11, 'SUCCESS']], ledger: ['PAYMENT:500'] },
    { magic: '9999', answer: { http: 503, code: 'SYSTEM_ERROR' }, timeline: [[0, 'FAILED', 'SYSTEM_ERROR']], ledger: [] },
  ];

  for (const row of table) {
    test(`QuickPay …${row.magic}: answer ${row.answer.http} ${row.answer.status ?? row.answer.code}, then ${row.timeline.map(([s, st, c]) => `${st}${c ? `/${c}` : ''}@${s}s`).join(' → ')}; ledger [${row.ledger.join(', ')}]`, async () => {
      const code = wechatMy(row.magic);
      const order = orderId(row.magic);
      const createdAtMs = (await world.dev.client.sandbox.clock()).item.nowMs;
      const res = await pay(code, order);
      assert.equal(res.status, row.answer.http, `…${row.magic} HTTP answer: ${res.rawText}`);
      if (row.answer.status) assert.equal(itemOf(res).status, row.answer.status, `…${row.magic} answered status`);
      if (row.answer.code) assert.equal(errorOf(res).code, row.answer.code, `…${row.magic} answered error code`);
      const found = await world.dev.client.send('GET', `/v3/payment/transaction/order/${order}`);
      assert.equal(found.status, 200, `…${row.magic} is stored and queryable by order id: ${found.rawText}`);
      const id = itemOf(found).transactionId;
      for (const [age, status, errorCode] of row.timeline) {
        await ageTo(createdAtMs, age);
        const t = await byId(id);
        assert.equal(t.status, status, `…${row.magic} at ${age} s`);
        if (errorCode) assert.equal((t.error as { code?: string }).code, errorCode, `…${row.magic} error code at ${age} s`);
        else assert.deepEqual(t.error, {}, `…${row.magic} carries no error at ${age} s`);
        if (status === 'SUCCESS') assert.equal(t.balanceAmount, 500, `…${row.magic} paid: balanceAmount is the amount`);
        else assert.equal(t.balanceAmount, 0, `…${row.magic} ${status}: nothing refundable`);
      }
      assert.deepEqual(await ledgerKinds(world, id), row.ledger, `…${row.magic} ledger entries`);
      // A further run of the loop much later changes nothing (a final outcome stays final, nothing books twice).
      await world.dev.client.sandbox.advanceClock(120);
      await world.dev.client.sandbox.runClosedLoop();
      assert.equal((await byId(id)).status, row.timeline.at(-1)?.[1], `…${row.magic} stays final`);
      assert.deepEqual(await ledgerKinds(world, id), row.ledger, `…${row.magic} ledger unchanged later`);
      await assertLedgerClean(world, `…${row.magic}`);
    });
  }

  test('settlement report: a paid suffix is one gross line, 1004 a gross and a refund line, failures and plain reversals none', async () => {
    const startMs = (await world.dev.client.sandbox.clock()).item.nowMs;
    const ids: Record<string, string> = {};
    for (const magic of ['0000', '1002', '1004', '2001']) {
      const order = orderId(`set-${magic}`);
      await pay(wechatMy(magic), order);
      ids[magic] = itemOf(await world.dev.client.send('GET', `/v3/payment/transaction/order/${order}`)).transactionId;
    }
    await ageTo(startMs, 46);
    const endMs = (await world.dev.client.sandbox.clock()).item.nowMs;
    const lines = await settlementLines(world, [myDay(startMs), myDay(endMs)]);
    assert.deepEqual(lines.get(ids['0000'] ?? ''), [['5.00', '0.00']], '0000 is one gross line');
    assert.deepEqual(lines.get(ids['1004'] ?? '')?.slice().sort(), [['0.00', '5.00'], ['5.00', '0.00']], '1004 is paid and returned');
    assert.equal(lines.get(ids['1002'] ?? ''), undefined, '1002 (never paid) is not in the report');
    assert.equal(lines.get(ids['2001'] ?? ''), undefined, '2001 (refused) is not in the report');
  });

  test('single use: a paid, refused, paying or never-created code is AUTH_CODE_USED next time; a 9999 code is not consumed', async () => {
    for (const magic of ['0000', '2001', '2003', '1002', '3002']) {
      const code = wechatMy(magic);
      await pay(code, orderId(`first-${magic}`));
      const again = await pay(code, orderId(`again-${magic}`));
      assert.equal(again.status, 400, `…${magic} reused: ${again.rawText}`);
      assert.equal(errorOf(again).code, 'AUTH_CODE_USED', `…${magic} reused is AUTH_CODE_USED`);
    }
    const maintenance = wechatMy('9999');
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await pay(maintenance, orderId(`maint-${attempt}`));
      assert.equal(res.status, 503, `9999 attempt ${attempt}: ${res.rawText}`);
      assert.equal(errorOf(res).code, 'SYSTEM_ERROR', `9999 attempt ${attempt} is SYSTEM_ERROR, never AUTH_CODE_USED`);
    }
  });

  test('merchant reverse: 1004 and 3001 still IN_PROCESS are returned (PAYMENT + REVERSAL), 1002 and 3004 closed with no ledger, none PAYMENT_TIMEOUT', async () => {
    for (const [magic, ledger] of [['1004', ['PAYMENT:500', 'REVERSAL:500']], ['3001', ['PAYMENT:500', 'REVERSAL:500']], ['1002', []], ['3004', []], ['3002', []]] as const) {
      const order = orderId(`rev-${magic}`);
      const res = await pay(wechatMy(magic), order);
      assert.equal(itemOf(res).status, 'IN_PROCESS', `…${magic} starts IN_PROCESS`);
      const reversed = await world.dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: order } });
      assert.equal(reversed.status, 200, `…${magic} reverse: ${reversed.rawText}`);
      const t = itemOf(reversed);
      assert.equal(t.status, 'REVERSED', `…${magic} reverse answers REVERSED`);
      assert.deepEqual(t.error, {}, `…${magic}: a merchant's reverse is no timeout`);
      assert.equal((await byId(t.transactionId)).status, 'REVERSED', `…${magic} reads REVERSED`);
      assert.deepEqual(await ledgerKinds(world, t.transactionId), [...ledger], `…${magic} ledger after the merchant reverse`);
    }
    await assertLedgerClean(world, 'merchant reverses');
  });

  test('3003 merchant reverse: FAILED_TO_REVERSE_ORDER first, REVERSED after the 2 s retry, no ledger', async () => {
    const order = orderId('rev-3003');
    await pay(wechatMy('3003'), order);
    const first = await world.dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: order } });
    assert.equal(first.status, 400, `first reverse: ${first.rawText}`);
    assert.equal(errorOf(first).code, 'FAILED_TO_REVERSE_ORDER', 'the wallet refuses the first reverse');
    await world.dev.client.sandbox.advanceClock(2);
    await world.dev.client.sandbox.runClosedLoop();
    const t = itemOf(await world.dev.client.send('GET', `/v3/payment/transaction/order/${order}`));
    assert.equal(t.status, 'REVERSED', 'the loop retried the reverse');
    assert.deepEqual(await ledgerKinds(world, t.transactionId), [], '3003 never paid: nothing booked');
  });

  test('wallet by prefix: WeChat CN/MY, Alipay 16 and 24 digits, the Malaysian wallets; other shapes AUTH_CODE_INVALID, over 64 characters VALIDATION_ERROR', async () => {
    const cases: [string, string, string][] = [
      ['10', 'WECHATPAY', 'CHINA'], ['12', 'WECHATPAY', 'CHINA'], ['13', 'WECHATPAY', 'MALAYSIA'], ['15', 'WECHATPAY', 'MALAYSIA'],
      ['80', 'TNG', 'MALAYSIA'], ['81', 'BOOST', 'MALAYSIA'], ['82', 'GRABPAY', 'MALAYSIA'], ['83', 'MAYBANK', 'MALAYSIA'], ['84', 'SHOPEEPAY', 'MALAYSIA'], ['85', 'PRESTO', 'MALAYSIA'],
    ];
    for (const [prefix, method, region] of cases) {
      serial += 1;
      const code = `${prefix}${runTag}${String(serial).padStart(6, '0')}0000`;
      const t = itemOf(await pay(code, orderId(`w${prefix}`)));
      assert.deepEqual([t.status, t.method, t.region], ['SUCCESS', method, region], `prefix ${prefix}`);
    }
    for (const length of [16, 24]) {
      serial += 1;
      const code = `28${String(serial).padStart(length - 6, '0')}0000`;
      const t = itemOf(await pay(code, orderId(`ali${length}`)));
      assert.deepEqual([t.status, t.method, t.region], ['SUCCESS', 'ALIPAY', 'CHINA'], `Alipay ${length} digits`);
    }
    // 15- and 25-digit Alipay codes, a 19- and a 17-digit WeChat code, an unknown prefix (16), a letter, UnionPay's 62.
    const invalid = ['280000000000000', '2800000000000000000000000', '1300000000000000000', '13000000000000000', '160000000000000000', '13000000000000000a', '62000000000000000000'];
    for (const code of invalid) {
      const before = await world.direct.db.selectFrom('payment_transactions').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      const res = await pay(code, orderId('bad'));
      assert.equal(res.status, 400, `${code}: ${res.rawText}`);
      assert.equal(errorOf(res).code, 'AUTH_CODE_INVALID', `${code} (${code.length} characters) is AUTH_CODE_INVALID`);
      const afterCount = await world.direct.db.selectFrom('payment_transactions').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(afterCount.n), Number(before.n), `${code}: nothing stored`);
    }
    const long = await pay('1'.repeat(65), orderId('long'));
    assert.equal(long.status, 400, `65 characters: ${long.rawText}`);
    assert.equal(errorOf(long).code, 'VALIDATION_ERROR', '65 characters is VALIDATION_ERROR');
  });

  test('a process that reversed at the 45 s deadline and died before recording it: the next process still ends 1002 REVERSED/PAYMENT_TIMEOUT and 1004 REVERSED with PAYMENT + REVERSAL', async () => {
    for (const [magic, ledger] of [['1002', []], ['1004', ['PAYMENT:500', 'REVERSAL:500']]] as const) {
      const order = orderId(`crash-${magic}`);
      const createdAtMs = (await world.dev.client.sandbox.clock()).item.nowMs;
      const t = itemOf(await pay(wechatMy(magic), order));
      await ageTo(createdAtMs, 44);
      assert.equal((await byId(t.transactionId)).status, 'IN_PROCESS', `…${magic} still paying at 44 s`);
      // What the dead process did: its wallet reverse went through (1002 closed, 1004 paid and refunded), nothing recorded.
      const wallet = new WalletSimulator(world.server.running.storage.walletSimulator, world.server.clock);
      await world.dev.client.sandbox.advanceClock(1);
      const answered = await wallet.reverse(t.transactionId);
      assert.equal(answered.status, magic === '1004' ? 'REFUNDED' : 'REVERSED', `…${magic}: the wallet reversed`);
      // Its 60 s lease lapses; any process's loop carries on.
      await ageTo(createdAtMs, 45 + 61);
      const after = await byId(t.transactionId);
      assert.equal(after.status, 'REVERSED', `…${magic} ends REVERSED, as the README says, not ${after.status} ${JSON.stringify(after.error)}`);
      assert.equal((after.error as { code?: string }).code, 'PAYMENT_TIMEOUT', `…${magic} timed out`);
      assert.deepEqual(await ledgerKinds(world, t.transactionId), [...ledger], `…${magic} ledger matches the wallet's books`);
    }
    await assertLedgerClean(world, 'a reverse recorded by another process');
  });

  test('amounts are not magic (upstream-providers §4.4 proposes …01/…03/…04/…06/…68/…99; tunai implements none): a …0000 code pays every such amount at once', async () => {
    for (const amount of [1001, 1003, 1004, 1006, 1068, 1099]) {
      const res = await pay(wechatMy('0000'), orderId(`amt${amount}`), amount);
      assert.equal(res.status, 200, `amount ${amount}: ${res.rawText}`);
      assert.deepEqual([itemOf(res).status, itemOf(res).balanceAmount], ['SUCCESS', amount], `amount ${amount} pays at once`);
    }
  });

  test('an empty auth code is VALIDATION_ERROR, not AUTH_CODE_INVALID (the README\'s "anything else" row names only > 64 characters)', async () => {
    const res = await pay('', orderId('empty'));
    assert.equal(res.status, 400, `empty code: ${res.rawText}`);
    assert.equal(errorOf(res).code, 'VALIDATION_ERROR', 'an empty code fails the schema');
  });

  test('/sandbox routes: clock read and moved (whole seconds ≥ 1), closed loop and outbox runs answer counts; signed calls follow the moved clock', async () => {
    const read = await rawRequest(world.server.url, 'GET', '/sandbox/clock', {});
    assert.equal(read.status, 200, `GET /sandbox/clock: ${read.text}`);
    const before = read.json.item as { now: string; nowMs: number };
    assert.equal(before.now, rmTime(before.nowMs), 'now is nowMs as ISO');
    const moved = await rawRequest(world.server.url, 'POST', '/sandbox/clock', { 'content-type': 'application/json' }, '{"advanceSeconds":60}');
    assert.equal(moved.status, 200, `POST /sandbox/clock: ${moved.text}`);
    assert.equal(moved.json.item.nowMs, before.nowMs + 60_000, 'the clock moved by exactly 60 s');
    for (const bad of ['{"advanceSeconds":0}', '{"advanceSeconds":-1}', '{"advanceSeconds":1.5}', '{"advanceSeconds":31536001}', '{}']) {
      const res = await rawRequest(world.server.url, 'POST', '/sandbox/clock', { 'content-type': 'application/json' }, bad);
      assert.equal(res.status, 400, `${bad}: ${res.text}`);
      assert.equal(res.json?.error?.code, 'VALIDATION_ERROR', `${bad} is VALIDATION_ERROR`);
    }
    const loop = await rawRequest(world.server.url, 'POST', '/sandbox/closed-loop/run', {});
    assert.equal(loop.status, 200, `closed-loop run: ${loop.text}`);
    assert.ok(Number.isInteger(loop.json.item.processed), 'closed-loop run answers a count');
    const outbox = await rawRequest(world.server.url, 'POST', '/sandbox/outbox/run', {});
    assert.equal(outbox.status, 200, `outbox run: ${outbox.text}`);
    assert.ok(Number.isInteger(outbox.json.item.attempted), 'outbox run answers a count');

    // Past the 300 s window a client on the wall clock is refused; one given the offset is not.
    await world.dev.client.sandbox.advanceClock(301);
    const offsetMs = (await world.dev.client.sandbox.clock()).item.nowMs - Date.now();
    const wallClient = world.dev.clientWith({ nowMs: () => Date.now() });
    const refused = await wallClient.send('GET', '/v3/payment/transactions');
    assert.equal(refused.status, 401, `wall-clock client: ${refused.rawText}`);
    assert.equal(errorOf(refused).code, 'INVALID_TIMESTAMP', 'a wall-clock client is INVALID_TIMESTAMP');
    const offsetClient = world.dev.clientWith({ nowMs: () => Date.now() + offsetMs });
    assert.equal((await offsetClient.send('GET', '/v3/payment/transactions')).status, 200, 'a client with the offset is accepted');
  });
});

forEachDialect('magic values audit: the sandbox wallet screen (checkout and Transaction QR)', (dialect) => {
  const world = openWorld(dialect);
  const receiver = new WebhookReceiver();
  before(async () => {
    await receiver.start();
  });
  after(async () => {
    await receiver.stop();
  });

  async function openCheckout(label: string): Promise<{ checkoutId: string; transactionId: string; order: string }> {
    const order = orderId(label);
    const created = await world.dev.client.payment.createCheckout({
      order: { id: order, title: 'Teh', detail: '', additionalData: '', currencyType: 'MYR', amount: 700 },
      method: [],
      type: 'WEB_PAYMENT',
      storeId: world.dev.merchant.store.id,
      redirectUrl: 'https://shop.example/return',
      notifyUrl: receiver.url(),
    });
    const picked = await postForm(`${world.server.url}/checkout/pay`, { checkoutId: created.item.checkoutId, method: 'TNG_MY' });
    assert.equal(picked.status, 303, 'picking TNG opens the sandbox wallet');
    const transactionId = new URL(picked.headers.get('location') ?? '', world.server.url).searchParams.get('order') ?? '';
    assert.match(transactionId, /^[0-9]{24}$/, 'the wallet link names the transaction');
    return { checkoutId: created.item.checkoutId, transactionId, order };
  }

  const landing = async (checkoutId: string): Promise<string> => {
    const back = await fetch(`${world.server.url}/checkout?checkoutId=${checkoutId}`, { redirect: 'manual' });
    if (back.status !== 303) return `page ${back.status}`;
    return new URL(back.headers.get('location') ?? '').searchParams.get('status') ?? '';
  };
  const notifiesFor = (transactionId: string): number => receiver.requests.filter((r) => r.body.includes(transactionId)).length;

  test('the Outcome list is exactly the README\'s: 0000, 1001–1004, 2001, 2004, 3001, 3003, 3004, 9999; 2002, 2003, 2005, 3002 are refused', async () => {
    const { transactionId } = await openCheckout('list');
    const page = await (await fetch(`${world.server.url}/sandbox/wallet?order=${transactionId}`)).text();
    const offered = [...page.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(offered, ['0000', '1001', '1002', '1003', '1004', '2001', '2004', '3001', '3003', '3004', '9999'], 'the wallet screen offers the README list');
    for (const outcome of ['2002', '2003', '2005', '3002']) {
      const res = await postForm(`${world.server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome });
      assert.equal(res.status, 400, `outcome ${outcome} is refused`);
    }
    const tx = await world.dev.client.payment.transaction(transactionId);
    assert.equal(tx.item.status, 'IN_PROCESS', 'a refused outcome leaves the payment open');
  });

  interface PayerRow {
    outcome: string;
    /** [status, error code, checkout status, redirect status] right after the choice and the closed loop's first steps. */
    soon: [string, string | undefined, string, string];
    /** The same once the checkout's endAt (600 s) has passed. */
    late: [string, string | undefined, string, string];
    ledger: string[];
    notifies: number;
  }
  const rows: PayerRow[] = [
    { outcome: '0000', soon: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], late: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], ledger: ['PAYMENT:700'], notifies: 1 },
    { outcome: '1001', soon: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], late: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], ledger: ['PAYMENT:700'], notifies: 1 },
    { outcome: '1002', soon: ['IN_PROCESS', undefined, 'IN_PROCESS', 'page 200'], late: ['FAILED', 'PAYMENT_TIMEOUT', 'EXPIRED', 'EXPIRED'], ledger: [], notifies: 0 },
    { outcome: '1003', soon: ['FAILED', 'ORDER_CANCELLED', 'CANCELLED', 'CANCELLED'], late: ['FAILED', 'ORDER_CANCELLED', 'CANCELLED', 'CANCELLED'], ledger: [], notifies: 0 },
    { outcome: '1004', soon: ['IN_PROCESS', undefined, 'IN_PROCESS', 'page 200'], late: ['REVERSED', 'PAYMENT_TIMEOUT', 'EXPIRED', 'EXPIRED'], ledger: ['PAYMENT:700', 'REVERSAL:700'], notifies: 0 },
    { outcome: '2001', soon: ['FAILED', 'INSUFFICIENT_CARD_BALANCE', 'FAILED', 'FAILED'], late: ['FAILED', 'INSUFFICIENT_CARD_BALANCE', 'FAILED', 'FAILED'], ledger: [], notifies: 0 },
    { outcome: '2004', soon: ['FAILED', 'CUSTOMER_REACHED_TRANSACTION_LIMIT', 'FAILED', 'FAILED'], late: ['FAILED', 'CUSTOMER_REACHED_TRANSACTION_LIMIT', 'FAILED', 'FAILED'], ledger: [], notifies: 0 },
    { outcome: '3001', soon: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], late: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], ledger: ['PAYMENT:700'], notifies: 1 },
    { outcome: '3003', soon: ['IN_PROCESS', undefined, 'IN_PROCESS', 'page 200'], late: ['FAILED', 'PAYMENT_TIMEOUT', 'EXPIRED', 'EXPIRED'], ledger: [], notifies: 0 },
    { outcome: '3004', soon: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], late: ['SUCCESS', undefined, 'SUCCESS', 'SUCCESS'], ledger: ['PAYMENT:700'], notifies: 1 },
    { outcome: '9999', soon: ['FAILED', 'SYSTEM_ERROR', 'FAILED', 'FAILED'], late: ['FAILED', 'SYSTEM_ERROR', 'FAILED', 'FAILED'], ledger: [], notifies: 0 },
    { outcome: 'CANCEL', soon: ['FAILED', 'ORDER_CANCELLED', 'CANCELLED', 'CANCELLED'], late: ['FAILED', 'ORDER_CANCELLED', 'CANCELLED', 'CANCELLED'], ledger: [], notifies: 0 },
  ];

  test('every wallet-screen outcome on a checkout: payment, checkout, redirect, notify and ledger within 15 s, and after endAt', async () => {
    const opened: (PayerRow & { checkoutId: string; transactionId: string })[] = [];
    for (const row of rows) {
      const { checkoutId, transactionId } = await openCheckout(`payer-${row.outcome}`);
      const res = row.outcome === 'CANCEL'
        ? await postForm(`${world.server.url}/sandbox/wallet/cancel`, { order: transactionId })
        : await postForm(`${world.server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: row.outcome });
      assert.equal(res.status, 303, `${row.outcome}: the wallet screen sends the payer back`);
      opened.push({ ...row, checkoutId, transactionId });
    }
    const check = async (stage: 'soon' | 'late'): Promise<void> => {
      await world.dev.client.sandbox.runOutbox();
      for (const row of opened) {
        const [status, errorCode, checkoutStatus, redirect] = row[stage];
        const t = (await world.dev.client.payment.transaction(row.transactionId)).item;
        assert.equal(t.status, status, `${row.outcome} (${stage}) payment status`);
        assert.equal((t.error as { code?: string }).code, errorCode, `${row.outcome} (${stage}) error code`);
        assert.equal((await world.dev.client.payment.checkout(row.checkoutId)).item.status, checkoutStatus, `${row.outcome} (${stage}) checkout status`);
        assert.equal(await landing(row.checkoutId), redirect, `${row.outcome} (${stage}) redirect status`);
        assert.equal(notifiesFor(row.transactionId), row.notifies, `${row.outcome} (${stage}) notifies`);
      }
    };
    // 1001 pays at the 2nd query (3 s after the nudge), 3004 at the 3rd (6 s), 1003 cancels at the 2nd.
    for (let step = 0; step < 5; step++) {
      await world.dev.client.sandbox.advanceClock(3);
      await world.dev.client.sandbox.runClosedLoop();
    }
    await check('soon');
    await world.dev.client.sandbox.advanceClock(600);
    await world.dev.client.sandbox.runClosedLoop();
    // 3003: the first reverse at endAt fails; the retry comes 2 s later.
    await world.dev.client.sandbox.advanceClock(2);
    await world.dev.client.sandbox.runClosedLoop();
    await check('late');
    for (const row of opened) assert.deepEqual(await ledgerKinds(world, row.transactionId), row.ledger, `${row.outcome} ledger`);
    await assertLedgerClean(world, 'wallet-screen outcomes');
  });

  test('Transaction QR (dynamic): 1002 on the wallet screen fails (PAYMENT_TIMEOUT) 5 min after the scan (not at 45 s), then the QR takes a new payment', async () => {
    const qr = await world.dev.client.payment.createQrCode({
      amount: 300,
      currencyType: 'MYR',
      expiry: { type: 'PERMANENT' },
      isPreFillAmount: true,
      method: ['TNG_MY'],
      order: { title: 'Vending', detail: 'slot C3' },
      redirectUrl: 'https://shop.example/qr',
      storeId: world.dev.merchant.store.id,
      type: 'DYNAMIC',
    });
    const code = qr.item.code;
    const scan = async (): Promise<string> => {
      const res = await postForm(`${world.server.url}/payment/unified/pay`, { code, method: 'TNG_MY' });
      assert.equal(res.status, 303, 'the unified page opens the wallet');
      return new URL(res.headers.get('location') ?? '').searchParams.get('order') ?? '';
    };
    const transactionId = await scan();
    const confirmed = await postForm(`${world.server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '1002' });
    assert.equal(confirmed.status, 303, '1002 chosen');
    await world.dev.client.sandbox.advanceClock(60);
    await world.dev.client.sandbox.runClosedLoop();
    assert.equal((await world.dev.client.payment.transaction(transactionId)).item.status, 'IN_PROCESS', 'still paying at 60 s: the payer deadline is 5 min');
    await world.dev.client.sandbox.advanceClock(240);
    await world.dev.client.sandbox.runClosedLoop();
    const t = (await world.dev.client.payment.transaction(transactionId)).item;
    assert.equal(t.status, 'FAILED', 'closed at 5 min, nothing charged');
    assert.equal((t.error as { code?: string }).code, 'PAYMENT_TIMEOUT', 'timed out');
    assert.equal((await world.dev.client.payment.qrCode(code)).item.status, 'VALID', 'the dynamic QR is released');
    const next = await scan();
    await postForm(`${world.server.url}/sandbox/wallet/confirm`, { order: next, outcome: '0000' });
    assert.equal((await world.dev.client.payment.transaction(next)).item.status, 'SUCCESS', 'a second payer pays it');
    assert.equal((await world.dev.client.payment.qrCode(code)).item.status, 'REDEEMED', 'then it is redeemed');
  });
});

forEachDialect('magic values audit: QuickPay answers within TUNAI_QUICKPAY_WAIT_MS (clock following real time)', (dialect) => {
  // The developer's experience with the default wait: QuickPay holds the request until the outcome is final or the wait
  // ends. The server sleeps for real between steps, so the test clock follows real time while the requests run.
  const world = openWorld(dialect, { TUNAI_QUICKPAY_WAIT_MS: '12000' });

  test('each suffix answers its final outcome when it comes within the wait (1001, 1003, 3001, 3002, 3004), else IN_PROCESS (1002, 1004, 3003)', async () => {
    const startClockMs = world.server.clock.nowMs();
    const startRealMs = Date.now();
    const ticker = setInterval(() => world.server.clock.setMs(Math.max(world.server.clock.nowMs(), startClockMs + (Date.now() - startRealMs))), 5);
    try {
      const expected: [string, number, string, number][] = [
        // magic, HTTP, status or error code, earliest answer (s of the wait)
        ['1001', 200, 'SUCCESS', 8],
        ['1003', 400, 'ORDER_CANCELLED', 8],
        ['3001', 200, 'SUCCESS', 5],
        ['3002', 503, 'SYSTEM_ERROR', 5],
        ['3004', 200, 'SUCCESS', 11],
        ['1002', 200, 'IN_PROCESS', 12],
        ['1004', 200, 'IN_PROCESS', 12],
        ['3003', 200, 'IN_PROCESS', 12],
      ];
      const answers = await Promise.all(expected.map(async ([magic]) => {
        const res = await world.dev.client.send('POST', '/v3/payment/quickpay', {
          body: { authCode: wechatMy(magic), storeId: world.dev.merchant.store.id, ipAddress: '127.0.0.1', order: { id: orderId(`wait-${magic}`), title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 500 } },
        });
        return { res, atMs: world.server.clock.nowMs() - startClockMs };
      }));
      expected.forEach(([magic, http, outcome, earliestSeconds], i) => {
        const { res, atMs } = answers[i] as { res: RawResponse; atMs: number };
        assert.equal(res.status, http, `…${magic} HTTP: ${res.rawText}`);
        assert.equal(http === 200 ? itemOf(res).status : errorOf(res).code, outcome, `…${magic} answer`);
        assert.ok(atMs >= earliestSeconds * 1000, `…${magic} answered at ${atMs} ms, not before ${earliestSeconds} s`);
      });
    } finally {
      clearInterval(ticker);
    }
  });
});

forEachDialect('magic values audit: outside sandbox mode', (dialect) => {
  const world = openWorld(dialect, { TUNAI_SANDBOX: 'false' });

  test('TUNAI_SANDBOX=false: no /sandbox route exists (404 API_ENDPOINT_NOT_FOUND)', async () => {
    for (const [method, path] of [['GET', '/sandbox/clock'], ['POST', '/sandbox/clock'], ['POST', '/sandbox/closed-loop/run'], ['POST', '/sandbox/outbox/run'], ['GET', '/sandbox/wallet?order=1']] as const) {
      const res = await rawRequest(world.server.url, method, path, method === 'POST' ? { 'content-type': 'application/json' } : {}, method === 'POST' ? '{"advanceSeconds":60}' : undefined);
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.json?.error?.code, 'API_ENDPOINT_NOT_FOUND', `${method} ${path} is an unknown route`);
    }
  });
});
