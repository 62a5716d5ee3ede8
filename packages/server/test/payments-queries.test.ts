// Payment queries (list order, paging, filters, get by id/order, isolation), bad input writing nothing, and the settlement CSV, over HTTP on both databases.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { RawResponse, TunaiClient } from '@tunai/client';
import { allScopes, errorMessages, type QuickPayRequest, type Transaction } from '@tunai/client/contract';
import { buildPlaintext, generateNonce, parsePrivateKey, signPlaintext, signRequest, utf8Base64 } from '@tunai/client/signature';
import { checkLedger } from '../src/app/check-ledger.js';
import type { Database } from '../src/store/schema.js';
import { rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, rawRequest, serverSuite, type Developer, type TestServer, seededRandom, transactionKeys, rmTime } from './harness.js';

// ---------------------------------------------------------------- unique auth codes and order ids (single use across the file)

let codeSequence = 0;
/** An 18-digit auth code: wallet prefix, a file-wide sequence, then the simulator's scenario suffix. */
function code(prefix: '10' | '13' | '28' | '80' | '81', suffix = '0000'): string {
  codeSequence += 1;
  return `${prefix}${String(codeSequence).padStart(12, '0')}${suffix}`;
}
const wechatMy = (suffix?: string) => code('13', suffix);
const wechatCn = (suffix?: string) => code('10', suffix);
const alipayCn = (suffix?: string) => code('28', suffix);
const tng = (suffix?: string) => code('80', suffix);
const boost = (suffix?: string) => code('81', suffix);

let orderSequence = 0;
const nextOrderId = (tag = 'o') => `${tag}-${++orderSequence}`;

function payBody(dev: Developer, authCode: string, options: { orderId?: string; amount?: number } = {}): QuickPayRequest {
  return {
    authCode,
    order: {
      id: options.orderId ?? nextOrderId(),
      title: 'Sales',
      detail: '1 x Teh Tarik',
      additionalData: 'table 4',
      currencyType: 'MYR',
      amount: options.amount ?? 100,
    },
    ipAddress: '8.8.8.8',
    storeId: dev.merchant.store.id,
  };
}

const errorCodeOf = (res: RawResponse): unknown => (res.body as { error?: { code?: unknown } } | null)?.error?.code;

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.rawText}`);
  assert.equal(errorCodeOf(res), code, res.rawText);
}

function assertTransactionShape(t: Transaction): void {
  assert.deepEqual(Object.keys(t).sort(), transactionKeys);
  assert.match(t.transactionId, /^[0-9]{24}$/);
  const created = new Date(t.createdAt);
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${two(created.getUTCFullYear() % 100)}${two(created.getUTCMonth() + 1)}${two(created.getUTCDate())}${two(created.getUTCHours())}${two(created.getUTCMinutes())}${two(created.getUTCSeconds())}`;
  assert.equal(t.transactionId.slice(0, 12), stamp, 'transactionId starts with yyMMddHHmmss (UTC) of createdAt');
}

// ---------------------------------------------------------------- Malaysian days (UTC+8)

const dayMs = 86_400_000;
const myOffsetMs = 8 * 3_600_000;
/** Epoch ms of 00:00 Malaysian time on the day containing `ms`, moved by `days`. */
const myDayStart = (ms: number, days = 0) => Math.floor((ms + myOffsetMs) / dayMs) * dayMs - myOffsetMs + days * dayMs;
const myDate = (ms: number) => new Date(ms + myOffsetMs).toISOString().slice(0, 10);

/** 12345 → "123.45" (the report's major units). */
const major = (minor: number) => `${minor < 0 ? '-' : ''}${Math.trunc(Math.abs(minor) / 100)}.${String(Math.abs(minor) % 100).padStart(2, '0')}`;
const paymentLine = (id: string, amount: number) => `T,${id},${major(amount)},0.00,0.00,0.00,${major(amount)},`;
const returnLine = (id: string, amount: number) => `T,${id},0.00,${major(amount)},0.00,0.00,${major(-amount)},`;
const summary = (count: number, gross: number, refund: number) => `S,${count},${major(gross)},${major(refund)},0.00,0.00,${major(gross - refund)},`;

/** The report's lines without the final empty string after the last \n (and the text must end with one). */
function csvLines(csv: string): string[] {
  assert.ok(csv.endsWith('\n'), `CSV ends with a newline: ${JSON.stringify(csv.slice(-40))}`);
  return csv.slice(0, -1).split('\n');
}

// ---------------------------------------------------------------- random values for the fuzz cases

function randomValue(rng: () => number, depth = 0): unknown {
  const pick = Math.floor(rng() * (depth > 1 ? 7 : 9));
  const int = (n: number) => Math.floor(rng() * n);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rng() < 0.5;
    case 2:
      return [0, -1, 1.5, 9, 10, 1e21, -1e9, Number.MAX_SAFE_INTEGER, 100_000_001, int(100_000)][int(10)];
    case 3:
      return '';
    case 4:
      return 'x'.repeat([1, 24, 25, 33, 601, 5_000][int(6)] ?? 1);
    case 5:
      return ['13', '€', '\u0000', '💳', '<script>', "' or 1=1 --", '\\', '9'.repeat(40), '10.0.0.1', '$gte'][int(10)];
    case 6:
      return String(int(1e9));
    case 7:
      return Array.from({ length: int(4) }, () => randomValue(rng, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < int(4); i++) out[['id', 'title', 'amount', 'x', '$in', 'authCode'][int(6)] ?? 'k'] = randomValue(rng, depth + 1);
      return out;
    }
  }
}

forEachDialect('payment queries, bad input and settlement', (dialect) => {
  const suite = serverSuite(dialect);
  let server: TestServer;
  let db: Kysely<Database>;
  before(() => void ({ server, db } = suite));

  /** `writesNothing(act)` runs `act` and asserts no payment, refund, ledger or simulator row was added. */
  const { countRows, writesNothing } = rowCounter(() => db, [
    'payment_transactions',
    'payment_refunds',
    'ledger_entries',
    'ledger_postings',
    'sim_wallet_codes',
    'sim_wallet_orders',
  ]);

  async function assertLedgerClean(): Promise<void> {
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
  }

  /** Every page of the list for a query, following meta.cursor; checks count/cursor on each page. */
  async function walkPages(client: TunaiClient, limit: number, filter?: unknown): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await client.payment.transactions({ limit, ...(cursor ? { cursor } : {}), ...(filter === undefined ? {} : { filter }) });
      pages += 1;
      assert.equal(page.code, 'SUCCESS');
      assert.equal(page.meta.count, page.items.length);
      assert.ok(page.items.length <= limit);
      ids.push(...page.items.map((t) => t.transactionId));
      const next = page.meta.cursor;
      if (next === undefined) break;
      assert.equal(page.items.length, limit, 'only a full page carries a cursor');
      assert.equal(typeof next, 'string');
      cursor = next;
      assert.ok(pages < 100, 'paging terminates');
    }
    return { ids, pages };
  }

  // ============================================================ 1. queries

  describe('transaction queries', () => {
    let dev: Developer;
    let other: Developer;
    /** Oldest first, as created. */
    const created: { id: string; status: string; method: string; createdAt: string; orderId: string; view: Transaction }[] = [];
    let otherTx: Transaction;

    before(async () => {
      dev = await createDeveloper(server, { companyName: 'Query Co' });
      other = await createDeveloper(server, { companyName: 'Other Co' });
      const record = (view: Transaction) => {
        created.push({ id: view.transactionId, status: view.status, method: view.method, createdAt: view.createdAt, orderId: view.order.id, view });
      };
      const step = () => server.clock.advanceMs(1_000);

      record((await dev.client.payment.quickPay(payBody(dev, wechatMy(), { amount: 1_000 }))).item); // SUCCESS WECHATPAY
      step();
      record((await dev.client.payment.quickPay(payBody(dev, tng(), { amount: 250 }))).item); // SUCCESS TNG
      step();
      const failedOrder = nextOrderId();
      const failed = await dev.client.send('POST', '/v3/payment/quickpay', { body: payBody(dev, wechatMy('2001'), { orderId: failedOrder }) });
      assertError(failed, 400, 'INSUFFICIENT_CARD_BALANCE');
      record((await dev.client.payment.transactionByOrderId(failedOrder)).item); // FAILED
      step();
      const toReverse = (await dev.client.payment.quickPay(payBody(dev, tng(), { amount: 400 }))).item;
      record((await dev.client.payment.reverse(toReverse.order.id)).item); // REVERSED TNG
      step();
      const toRefund = (await dev.client.payment.quickPay(payBody(dev, alipayCn(), { amount: 800 }))).item;
      record(
        (await dev.client.payment.refund({ transactionId: toRefund.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 300 }, reason: 'r' }))
          .item,
      ); // PARTIAL_REFUNDED ALIPAY
      step();
      record((await dev.client.payment.quickPay(payBody(dev, wechatMy('1002')))).item); // IN_PROCESS
      step();
      record((await dev.client.payment.quickPay(payBody(dev, boost()))).item); // SUCCESS BOOST
      step();
      const toFullRefund = (await dev.client.payment.quickPay(payBody(dev, tng(), { amount: 500 }))).item;
      record(
        (await dev.client.payment.refund({ transactionId: toFullRefund.transactionId, refund: { type: 'FULL', currencyType: 'MYR', amount: 500 }, reason: 'r' }))
          .item,
      ); // FULL_REFUNDED TNG
      for (let i = 0; i < 15; i++) {
        step();
        record((await dev.client.payment.quickPay(payBody(dev, i % 2 === 0 ? wechatMy() : tng(), { amount: 100 + i }))).item);
      }
      // The other merchant pays too, with an order id this merchant also uses.
      otherTx = (await other.client.payment.quickPay(payBody(other, wechatMy(), { orderId: created[0]!.orderId, amount: 777 }))).item;
      await other.client.payment.quickPay(payBody(other, tng(), { orderId: 'only-other-1' }));
    });

    test('the setup produced every status, in creation order', () => {
      assert.equal(created.length, 23);
      assert.deepEqual(
        created.slice(0, 8).map((c) => c.status),
        ['SUCCESS', 'SUCCESS', 'FAILED', 'REVERSED', 'PARTIAL_REFUNDED', 'IN_PROCESS', 'SUCCESS', 'FULL_REFUNDED'],
      );
      for (let i = 1; i < created.length; i++) assert.ok(created[i - 1]!.createdAt < created[i]!.createdAt, 'created at different times');
    });

    test('list is newest first with the default page size of 20', async () => {
      const page = await dev.client.payment.transactions();
      assert.equal(page.code, 'SUCCESS');
      assert.equal(page.items.length, 20);
      assert.equal(page.meta.count, 20);
      assert.equal(typeof page.meta.cursor, 'string');
      const newestFirst = [...created].reverse();
      assert.deepEqual(
        page.items.map((t) => t.transactionId),
        newestFirst.slice(0, 20).map((c) => c.id),
      );
      for (const item of page.items) assertTransactionShape(item);
      // Timestamps are descending too.
      for (let i = 1; i < page.items.length; i++) assert.ok(page.items[i - 1]!.createdAt > page.items[i]!.createdAt);
    });

    test('limit at max, at the exact count and one below', async () => {
      const all = await dev.client.payment.transactions({ limit: 100 });
      assert.equal(all.items.length, 23);
      assert.equal(all.meta.count, 23);
      assert.equal(all.meta.cursor, undefined);
      assert.deepEqual(all.items.map((t) => t.transactionId), [...created].reverse().map((c) => c.id));

      const exact = await dev.client.payment.transactions({ limit: 23 });
      assert.equal(exact.items.length, 23);
      assert.equal(exact.meta.cursor, undefined, 'no cursor when nothing is left');

      const oneShort = await dev.client.payment.transactions({ limit: 22 });
      const cursor = oneShort.meta.cursor;
      assert.equal(typeof cursor, 'string');
      const rest = await dev.client.payment.transactions({ limit: 22, cursor: cursor! });
      assert.deepEqual(rest.items.map((t) => t.transactionId), [created[0]!.id]);
      assert.equal(rest.meta.count, 1);
      assert.equal(rest.meta.cursor, undefined);

      const one = await dev.client.payment.transactions({ limit: 1 });
      assert.deepEqual(one.items.map((t) => t.transactionId), [created[22]!.id]);
    });

    test('limit 0, 101, "abc", -1 and 1.5 are 400 VALIDATION_ERROR', async () => {
      for (const limit of ['0', '101', 'abc', '-1', '1.5', '99999']) {
        const res = await dev.client.send('GET', '/v3/payment/transactions', { query: { limit } });
        assertError(res, 400, 'VALIDATION_ERROR');
      }
    });

    test('cursor paging walks every page without repeats or gaps', async () => {
      const newestFirst = [...created].reverse().map((c) => c.id);
      for (const limit of [1, 5, 7, 20]) {
        const walked = await walkPages(dev.client, limit);
        assert.deepEqual(walked.ids, newestFirst, `limit ${limit}`);
        assert.equal(new Set(walked.ids).size, walked.ids.length, 'no repeats');
        assert.equal(walked.pages, Math.ceil(23 / limit));
      }
    });

    test('a bad cursor is 400 VALIDATION_ERROR', async () => {
      const forged = [
        'garbage!!',
        Buffer.from('id:abc').toString('base64url'),
        Buffer.from('id:').toString('base64url'),
        Buffer.from(`id:${'9'.repeat(25)}`).toString('base64url'),
        'A'.repeat(200),
        '%00',
      ];
      for (const cursor of forged) {
        const res = await dev.client.send('GET', '/v3/payment/transactions', { query: { cursor } });
        assertError(res, 400, 'VALIDATION_ERROR');
      }
    });

    test('filter by status, list of statuses, method and createdAt range', async () => {
      const newestFirst = [...created].reverse();
      const idsWhere = (keep: (c: (typeof created)[number]) => boolean) => newestFirst.filter(keep).map((c) => c.id);

      const success = await walkPages(dev.client, 100, { status: 'SUCCESS' });
      assert.deepEqual(success.ids, idsWhere((c) => c.status === 'SUCCESS'));
      assert.equal(success.ids.length, 18);

      const failedOrReversed = await walkPages(dev.client, 100, { status: ['FAILED', 'REVERSED'] });
      assert.deepEqual(failedOrReversed.ids, idsWhere((c) => c.status === 'FAILED' || c.status === 'REVERSED'));
      assert.equal(failedOrReversed.ids.length, 2);

      const mongoIn = await walkPages(dev.client, 100, { status: { $in: ['PARTIAL_REFUNDED', 'FULL_REFUNDED', 'IN_PROCESS'] } });
      assert.deepEqual(mongoIn.ids, idsWhere((c) => ['PARTIAL_REFUNDED', 'FULL_REFUNDED', 'IN_PROCESS'].includes(c.status)));

      const byTng = await walkPages(dev.client, 100, { method: 'TNG' });
      assert.deepEqual(byTng.ids, idsWhere((c) => c.method === 'TNG'));
      assert.ok(byTng.ids.length >= 3);

      const tngSuccess = await walkPages(dev.client, 100, { method: 'TNG', status: 'SUCCESS' });
      assert.deepEqual(tngSuccess.ids, idsWhere((c) => c.method === 'TNG' && c.status === 'SUCCESS'));

      const from = created[2]!.createdAt;
      const to = created[6]!.createdAt;
      const range = await walkPages(dev.client, 100, { createdAt: { $gte: from, $lte: to } });
      assert.deepEqual(range.ids, created.slice(2, 7).reverse().map((c) => c.id), 'inclusive bounds');
      const exclusive = await walkPages(dev.client, 100, { createdAt: { $gt: from, $lt: to } });
      assert.deepEqual(exclusive.ids, created.slice(3, 6).reverse().map((c) => c.id), 'exclusive bounds');

      // Filter and cursor together: pages of 3 successes.
      const pagedSuccess = await walkPages(dev.client, 3, { status: 'SUCCESS' });
      assert.deepEqual(pagedSuccess.ids, success.ids);
      assert.equal(pagedSuccess.pages, 6);

      const none = await dev.client.payment.transactions({ filter: { method: 'PRESTO' } });
      assert.deepEqual(none.items, []);
      assert.equal(none.meta.count, 0);
      assert.equal(none.meta.cursor, undefined);
    });

    test('bad filters are 400 VALIDATION_ERROR', async () => {
      const bad = [
        '{"store":"1"}',
        '{"status":"PAID"}',
        '{"status":["SUCCESS","NOPE"]}',
        '{"status":[]}',
        '{"status":42}',
        '{bad json',
        '[1,2]',
        '"SUCCESS"',
        '{"createdAt":"2024-01-01"}',
        '{"createdAt":{"$gte":"not a time"}}',
        '{"createdAt":{"$ne":"2024-01-01T00:00:00Z"}}',
        `{"method":"${'X'.repeat(2_001)}"}`,
      ];
      for (const filter of bad) {
        const res = await dev.client.send('GET', '/v3/payment/transactions', { query: { filter } });
        assertError(res, 400, 'VALIDATION_ERROR');
      }
    });

    test('get by id and by order id return the object QuickPay/refund/reverse returned', async () => {
      for (const c of created) {
        const byId = await dev.client.payment.transaction(c.id);
        assert.equal(byId.code, 'SUCCESS');
        assert.deepEqual(byId.item, c.view, `by id ${c.id} (${c.status})`);
        const byOrder = await dev.client.payment.transactionByOrderId(c.orderId);
        assert.deepEqual(byOrder.item, c.view, `by order ${c.orderId}`);
      }
      // The list holds the same objects.
      const all = await dev.client.payment.transactions({ limit: 100 });
      assert.deepEqual(all.items, [...created].reverse().map((c) => c.view));
      // The failed one carries its error, the others none.
      const failed = created.find((c) => c.status === 'FAILED')!.view;
      assert.deepEqual(failed.error, { code: 'INSUFFICIENT_CARD_BALANCE', message: 'Insufficient customer balance' });
      assert.deepEqual(created[0]!.view.error, {});
    });

    test('unknown, non-numeric and foreign ids are 404 TRANSACTION_NOT_FOUND', async () => {
      const unknownId = `${created[0]!.id.slice(0, 12)}999999999999`;
      for (const path of [
        `/v3/payment/transaction/${unknownId}`,
        '/v3/payment/transaction/abc',
        '/v3/payment/transaction/12ab',
        `/v3/payment/transaction/${'1'.repeat(33)}`,
        `/v3/payment/transaction/${otherTx.transactionId}`,
        '/v3/payment/transaction/order/no-such-order',
        '/v3/payment/transaction/order/only-other-1',
        `/v3/payment/transaction/order/${'x'.repeat(25)}`,
      ]) {
        const res = await dev.client.send('GET', path);
        assertError(res, 404, 'TRANSACTION_NOT_FOUND');
      }
    });

    test('merchants are isolated: same order id resolves per merchant, lists never mix', async () => {
      const mine = await dev.client.payment.transactionByOrderId(created[0]!.orderId);
      const theirs = await other.client.payment.transactionByOrderId(created[0]!.orderId);
      assert.equal(mine.item.transactionId, created[0]!.id);
      assert.equal(theirs.item.transactionId, otherTx.transactionId);
      assert.equal(theirs.item.order.amount, 777);
      assert.deepEqual(theirs.item, otherTx);

      const myIds = (await walkPages(dev.client, 7)).ids;
      assert.ok(!myIds.includes(otherTx.transactionId));
      const theirIds = (await walkPages(other.client, 7)).ids;
      assert.equal(theirIds.length, 2);
      assert.ok(theirIds.every((id) => !myIds.includes(id)));
      // Their id with our cursor or filter does not leak either.
      const filtered = await walkPages(dev.client, 100, { createdAt: { $gte: otherTx.createdAt } });
      assert.ok(!filtered.ids.includes(otherTx.transactionId));
      // Nor can we refund or reverse theirs.
      const refund = await dev.client.send('POST', '/v3/payment/refund', {
        body: { transactionId: otherTx.transactionId, refund: { type: 'FULL', currencyType: 'MYR', amount: 777 }, reason: 'r' },
      });
      assertError(refund, 404, 'TRANSACTION_NOT_FOUND');
      const reverse = await dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: 'only-other-1' } });
      assertError(reverse, 404, 'TRANSACTION_NOT_FOUND');
      assert.equal((await other.client.payment.transactionByOrderId('only-other-1')).item.status, 'SUCCESS');
    });

    test('query routes need manage_payment and a signature', async () => {
      const noPayment = await createDeveloper(server, { scopes: allScopes.filter((s) => s !== 'manage_payment') });
      for (const path of ['/v3/payment/transactions', `/v3/payment/transaction/${created[0]!.id}`, `/v3/payment/transaction/order/${created[0]!.orderId}`]) {
        assertError(await noPayment.client.send('GET', path), 403, 'CLIENT_NO_PERMISSION');
        assertError(await dev.client.send('GET', path, { sign: false }), 401, 'INVALID_REQUEST_SIGNATURE');
      }
      await assertLedgerClean();
    });

    test('a cursor stays stable while new payments arrive', async () => {
      const first = await dev.client.payment.transactions({ limit: 5 });
      server.clock.advanceMs(1_000);
      const newcomer = (await dev.client.payment.quickPay(payBody(dev, wechatMy()))).item;
      const ids = first.items.map((t) => t.transactionId);
      let cursor = first.meta.cursor;
      while (cursor !== undefined) {
        const page = await dev.client.payment.transactions({ limit: 5, cursor });
        ids.push(...page.items.map((t) => t.transactionId));
        cursor = page.meta.cursor;
      }
      assert.deepEqual(ids, [...created].reverse().map((c) => c.id), 'the walk begun before the newcomer neither repeats nor skips');
      const fresh = await dev.client.payment.transactions({ limit: 1 });
      assert.deepEqual(fresh.items.map((t) => t.transactionId), [newcomer.transactionId]);
    });

    test('order ids with URL-significant characters are found by order id', async () => {
      const shop = await createDeveloper(server, { companyName: 'Odd Orders' });
      for (const orderId of ['A/B-1', 'q?x=1&y=2', 'h#1', 'p%41', 'plus+1', 'semi;colon', "it's~\\`"]) {
        const paid = (await shop.client.payment.quickPay(payBody(shop, wechatMy(), { orderId }))).item;
        assert.equal(paid.order.id, orderId);
        const found = await shop.client.send('GET', `/v3/payment/transaction/order/${encodeURIComponent(orderId)}`);
        assert.equal(found.status, 200, `${orderId}: ${found.rawText}`);
        assert.deepEqual((found.body as { item: Transaction }).item, paid, orderId);
      }
      const res = await shop.client.send('POST', '/v3/payment/quickpay', { body: payBody(shop, wechatMy(), { orderId: 'ümlaut' }) });
      assertError(res, 400, 'VALIDATION_ERROR');
    });

    test(
      'filter on transactionAt uses the payment time, not the creation time',
      async () => {
        // Runs last in this suite: it moves the clock and runs the closed loop.
        const shop = await createDeveloper(server, { companyName: 'Late Payer' });
        const early = (await shop.client.payment.quickPay(payBody(shop, tng()))).item;
        server.clock.advanceMs(1_000);
        const late = (await shop.client.payment.quickPay(payBody(shop, tng('1001')))).item;
        assert.equal(late.status, 'IN_PROCESS');
        const createdMs = Date.parse(late.createdAt);
        server.clock.advanceMs(5_000);
        await server.running.runClosedLoop();
        server.clock.advanceMs(3_000);
        await server.running.runClosedLoop();
        const paid = (await shop.client.payment.transaction(late.transactionId)).item;
        assert.equal(paid.status, 'SUCCESS');
        assert.equal(paid.transactionAt, rmTime(createdMs + 8_000));
        assert.equal(paid.createdAt, late.createdAt);

        const between = new Date(createdMs + 4_000).toISOString();
        const paidAfter = await shop.client.payment.transactions({ filter: { transactionAt: { $gte: between } } });
        assert.deepEqual(paidAfter.items.map((t) => t.transactionId), [late.transactionId]);
        const paidBefore = await shop.client.payment.transactions({ filter: { transactionAt: { $lte: between } } });
        assert.deepEqual(paidBefore.items.map((t) => t.transactionId), [early.transactionId]);
      },
    );
  });

  // ============================================================ 2. bad input writes nothing

  describe('bad QuickPay, refund, reverse and settlement input', () => {
    let dev: Developer;
    let foreign: Developer;
    let paid: Transaction;

    before(async () => {
      dev = await createDeveloper(server, { companyName: 'Input Co' });
      foreign = await createDeveloper(server, { companyName: 'Foreign Co' });
      paid = (await dev.client.payment.quickPay(payBody(dev, wechatMy(), { amount: 1_000 }))).item;
    });

    type Body = Record<string, any>;
    const valid = (): Body => payBody(dev, wechatMy()) as unknown as Body;
    const without = (path: string) => () => {
      const body = valid();
      const [head, tail] = path.split('.');
      if (tail === undefined) delete body[head!];
      else delete body[head!][tail];
      return body;
    };
    const withOrder = (patch: Body) => () => {
      const body = valid();
      body['order'] = { ...body['order'], ...patch };
      return body;
    };

    const refusals: { name: string; body: () => Body; status: number; code: string }[] = [
      { name: 'missing authCode', body: without('authCode'), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'missing order', body: without('order'), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'missing order.id', body: without('order.id'), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'missing order.title', body: without('order.title'), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'missing order.amount', body: without('order.amount'), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'missing ipAddress', body: without('ipAddress'), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'missing storeId', body: without('storeId'), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'empty object', body: () => ({}), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.id 25 chars', body: withOrder({ id: 'i'.repeat(25) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.id empty', body: withOrder({ id: '' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.title 33 chars', body: withOrder({ title: 't'.repeat(33) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.title blank', body: withOrder({ title: '   ' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.detail 601 chars', body: withOrder({ detail: 'd'.repeat(601) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.additionalData 129 chars', body: withOrder({ additionalData: 'a'.repeat(129) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount 9', body: withOrder({ amount: 9 }), status: 400, code: 'MINIMUM_AMOUNT_REQUIRED' },
      { name: 'amount 0', body: withOrder({ amount: 0 }), status: 400, code: 'MINIMUM_AMOUNT_REQUIRED' },
      { name: 'amount -1', body: withOrder({ amount: -1 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount 1.5', body: withOrder({ amount: 1.5 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount "100"', body: withOrder({ amount: '100' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount max+1', body: withOrder({ amount: 100_000_001 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'currencyType USD', body: withOrder({ currencyType: 'USD' }), status: 400, code: 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE' },
      { name: 'auth code of no wallet', body: () => ({ ...valid(), authCode: '990000000000000000' }), status: 400, code: 'AUTH_CODE_INVALID' },
      { name: 'auth code with letters', body: () => ({ ...valid(), authCode: '13000000000000000a' }), status: 400, code: 'AUTH_CODE_INVALID' },
      { name: 'foreign store', body: () => ({ ...valid(), storeId: foreign.merchant.store.id }), status: 404, code: 'STORE_NOT_FOUND' },
      { name: 'unknown store', body: () => ({ ...valid(), storeId: '1234567890123456789' }), status: 404, code: 'STORE_NOT_FOUND' },
      { name: 'body is an array', body: () => [valid()] as unknown as Body, status: 400, code: 'VALIDATION_ERROR' },
    ];

    for (const refusal of refusals) {
      test(`quickpay refuses ${refusal.name} (${refusal.status} ${refusal.code}) and writes nothing`, async () => {
        const body = refusal.body();
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/quickpay', { body }));
        assertError(res, refusal.status, refusal.code);
        assert.equal(typeof (res.body as { error: { message: unknown } }).error.message, 'string');
      });
    }

    const accepted: { name: string; patch: Body }[] = [
      { name: 'order.id 24 chars', patch: { id: `${++orderSequence}-`.padEnd(24, 'i') } },
      { name: 'order.title 32 chars', patch: { title: 't'.repeat(32) } },
      { name: 'order.detail 600 chars', patch: { detail: 'd'.repeat(600) } },
      { name: 'order.additionalData 128 chars', patch: { additionalData: 'a'.repeat(128) } },
      { name: 'amount 10', patch: { amount: 10 } },
      { name: 'amount at max', patch: { amount: 100_000_000 } },
      { name: 'no currencyType', patch: { currencyType: undefined } },
    ];
    for (const ok of accepted) {
      test(`quickpay accepts ${ok.name} and writes one payment`, async () => {
        const body = withOrder(ok.patch)();
        const before = await countRows();
        const res = await dev.client.send('POST', '/v3/payment/quickpay', { body });
        assert.equal(res.status, 200, res.rawText);
        const item = (res.body as { item: Transaction }).item;
        assert.equal(item.status, 'SUCCESS');
        for (const key of ['id', 'title', 'detail', 'additionalData', 'amount'] as const) {
          if (key in ok.patch && ok.patch[key] !== undefined) assert.equal(item.order[key], ok.patch[key]);
        }
        const after = await countRows();
        assert.equal(after['payment_transactions'], before['payment_transactions']! + 1);
        assert.equal(after['ledger_entries'], before['ledger_entries']! + 1);
        assert.equal(after['sim_wallet_codes'], before['sim_wallet_codes']! + 1);
        const stored = await server.running.storage.payments.getByOrderId(dev.merchant.merchant.id, item.order.id);
        assert.equal(stored?.id, item.transactionId);
        assert.equal(stored?.amountMinor, item.order.amount);
      });
    }

    test('unsigned quickpay is 401 INVALID_REQUEST_SIGNATURE and writes nothing', async () => {
      const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/quickpay', { body: valid(), sign: false }));
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
    });

    test('tampered signatures are 401 INVALID_REQUEST_SIGNATURE and write nothing', async () => {
      const signedBody = valid();
      const nonceStr = generateNonce();
      const timestamp = String(Math.floor(server.clock.nowMs() / 1000));
      const { signature } = signRequest({
        body: signedBody,
        method: 'POST',
        requestUrl: new URL(`${server.url}/v3/payment/quickpay`).href,
        nonceStr,
        timestamp,
        privateKey: parsePrivateKey(dev.privateKeyPem),
      });
      // The body changed after signing (amount raised).
      const tampered = { ...signedBody, order: { ...signedBody['order'], amount: 100_000 } };
      let res = await writesNothing(() =>
        dev.client.send('POST', '/v3/payment/quickpay', {
          body: tampered,
          sign: false,
          headers: { 'X-Signature': signature, 'X-Nonce-Str': nonceStr, 'X-Timestamp': timestamp },
        }),
      );
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      // A well-formed signature of random bytes.
      res = await writesNothing(() =>
        dev.client.send('POST', '/v3/payment/quickpay', {
          body: valid(),
          headers: { 'X-Signature': `sha256 ${Buffer.from('x'.repeat(256)).toString('base64')}` },
        }),
      );
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      // Signed by another app's key.
      const stranger = await createDeveloper(server, {});
      assert.notEqual(stranger.privateKeyPem, dev.privateKeyPem);
      res = await writesNothing(() =>
        dev.clientWith({ privateKeyPem: stranger.privateKeyPem }).send('POST', '/v3/payment/quickpay', { body: valid() }),
      );
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      // Garbage header.
      res = await writesNothing(() => dev.client.send('POST', '/v3/payment/quickpay', { body: valid(), headers: { 'X-Signature': 'nonsense' } }));
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
    });

    test('a replayed nonce is 401 SPAM and the replay writes nothing', async () => {
      const nonceStr = `replay${generateNonce()}`;
      const first = await dev.client.send('POST', '/v3/payment/quickpay', { body: valid(), nonceStr });
      assert.equal(first.status, 200, first.rawText);
      const replay = await writesNothing(() => dev.client.send('POST', '/v3/payment/quickpay', { body: valid(), nonceStr }));
      assertError(replay, 401, 'SPAM');
    });

    test('a token without manage_payment is 403 CLIENT_NO_PERMISSION on every payment route', async () => {
      const noPayment = await createDeveloper(server, { scopes: allScopes.filter((s) => s !== 'manage_payment') });
      const body = { ...payBody(noPayment, wechatMy()) };
      let res = await writesNothing(() => noPayment.client.send('POST', '/v3/payment/quickpay', { body }));
      assertError(res, 403, 'CLIENT_NO_PERMISSION');
      res = await writesNothing(() =>
        noPayment.client.send('POST', '/v3/payment/refund', {
          body: { transactionId: paid.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 10 }, reason: 'r' },
        }),
      );
      assertError(res, 403, 'CLIENT_NO_PERMISSION');
      res = await writesNothing(() => noPayment.client.send('POST', '/v3/payment/reverse', { body: { orderId: paid.order.id } }));
      assertError(res, 403, 'CLIENT_NO_PERMISSION');
      res = await noPayment.client.send('POST', '/v3/payment/settlement/csv', { body: { date: '2024-01-01', method: 'ALL', region: 'MALAYSIA', sequence: 1 } });
      assertError(res, 403, 'CLIENT_NO_PERMISSION');
    });

    test('malformed JSON (signed over its raw bytes) is 400 and writes nothing', async () => {
      const url = new URL(`${server.url}/v3/payment/quickpay`).href;
      const token = await dev.client.getAccessToken();
      for (const raw of ['{"authCode":', '{authCode: 1}', '{"a":1}}', 'not json']) {
        const nonce = generateNonce();
        const timestamp = String(Math.floor(server.clock.nowMs() / 1000));
        const plaintext = buildPlaintext({ data: utf8Base64(raw), method: 'POST', nonceStr: nonce, requestUrl: url, signType: 'sha256', timestamp });
        const signature = `sha256 ${signPlaintext(plaintext, parsePrivateKey(dev.privateKeyPem))}`;
        const before = await countRows();
        const res = await rawRequest(
          server.url,
          'POST',
          '/v3/payment/quickpay',
          { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-signature': signature, 'x-nonce-str': nonce, 'x-timestamp': timestamp },
          raw,
        );
        assert.deepEqual(await countRows(), before);
        assert.equal(res.status, 400, `${raw}: ${res.text}`);
        assert.equal(res.json?.error?.code, 'INVALID_REQUEST', res.text);
        assert.match(String(res.json?.error?.message), /Malformed JSON/);
      }
      // Unsigned malformed JSON stops at the signature check.
      const res = await rawRequest(server.url, 'POST', '/v3/payment/quickpay', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, '{');
      assert.equal(res.status, 401, res.text);
      assert.equal(res.json?.error?.code, 'INVALID_REQUEST_SIGNATURE');
    });

    test('refund, reverse and settlement with missing fields are 400 VALIDATION_ERROR and write nothing', async () => {
      const refund = { transactionId: paid.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 10 }, reason: 'r' };
      const refundBodies: unknown[] = [
        {},
        { ...refund, transactionId: undefined },
        { ...refund, refund: undefined },
        { ...refund, reason: undefined },
        { ...refund, reason: '' },
        { ...refund, refund: { ...refund.refund, type: undefined } },
        { ...refund, refund: { ...refund.refund, type: 'HALF' } },
        { ...refund, refund: { ...refund.refund, currencyType: undefined } },
        { ...refund, refund: { ...refund.refund, amount: undefined } },
        { ...refund, refund: { ...refund.refund, amount: 0 } },
        { ...refund, refund: { ...refund.refund, amount: 1.5 } },
      ];
      for (const body of refundBodies) {
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/refund', { body }));
        assertError(res, 400, 'VALIDATION_ERROR');
      }
      for (const body of [{}, { orderId: '' }, { orderId: 'x'.repeat(25) }, { orderId: 12 }, { order: paid.order.id }]) {
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/reverse', { body }));
        assertError(res, 400, 'VALIDATION_ERROR');
      }
      const reportBody = { date: '2024-01-01', method: 'ALL', region: 'MALAYSIA', sequence: 1 };
      for (const missing of ['date', 'method', 'region', 'sequence'] as const) {
        const body: Record<string, unknown> = { ...reportBody };
        delete body[missing];
        const res = await dev.client.send('POST', '/v3/payment/settlement/csv', { body });
        assertError(res, 400, 'VALIDATION_ERROR');
      }
      assertError(await dev.client.send('POST', '/v3/payment/settlement/csv', { body: {} }), 400, 'VALIDATION_ERROR');
      // Without any body at all.
      for (const path of ['/v3/payment/quickpay', '/v3/payment/refund', '/v3/payment/reverse', '/v3/payment/settlement/csv']) {
        const res = await writesNothing(() => dev.client.send('POST', path));
        assertError(res, 400, 'VALIDATION_ERROR');
      }
      // The payment is untouched.
      assert.deepEqual((await dev.client.payment.transaction(paid.transactionId)).item, paid);
    });

    test('fuzzed bodies and queries never get a 5xx', async () => {
      const rng = seededRandom(dialect === 'sqlite' ? 20240501 : 20240502);
      const fields = ['authCode', 'order', 'order.id', 'order.title', 'order.detail', 'order.additionalData', 'order.amount', 'order.currencyType', 'ipAddress', 'storeId', 'terminalId', 'extra'];
      const statuses: number[] = [];
      const check = (res: RawResponse, what: string) => {
        statuses.push(res.status);
        assert.ok(res.status < 500, `${what} → ${res.status} ${res.rawText}`);
        if (res.status !== 200) {
          const code = errorCodeOf(res);
          assert.equal(typeof code, 'string', res.rawText);
          assert.ok((code as string) in errorMessages, `catalog code: ${String(code)}`);
        }
      };
      for (let i = 0; i < 40; i++) {
        const body = valid();
        const changes = 1 + Math.floor(rng() * 3);
        for (let c = 0; c < changes; c++) {
          const field = fields[Math.floor(rng() * fields.length)]!;
          const [head, tail] = field.split('.');
          const value = rng() < 0.2 ? undefined : randomValue(rng);
          const target = tail === undefined ? body : body['order'];
          if (target === null || typeof target !== 'object' || Array.isArray(target)) continue;
          const key = tail ?? head!;
          if (value === undefined) delete target[key];
          else target[key] = value;
        }
        check(await dev.client.send('POST', '/v3/payment/quickpay', { body }), JSON.stringify(body).slice(0, 300));
      }
      for (let i = 0; i < 12; i++) {
        const body = randomValue(rng);
        for (const path of ['/v3/payment/quickpay', '/v3/payment/refund', '/v3/payment/reverse', '/v3/payment/settlement/csv']) {
          check(await dev.client.send('POST', path, { body }), `${path} ${JSON.stringify(body)?.slice(0, 200)}`);
        }
      }
      for (let i = 0; i < 12; i++) {
        const text = String(randomValue(rng)).slice(0, 300);
        check(await dev.client.send('GET', '/v3/payment/transactions', { query: { limit: text } }), `limit ${text}`);
        check(await dev.client.send('GET', '/v3/payment/transactions', { query: { cursor: text } }), `cursor ${text}`);
        check(await dev.client.send('GET', '/v3/payment/transactions', { query: { filter: JSON.stringify(randomValue(rng)) } }), 'filter');
        check(await dev.client.send('GET', `/v3/payment/transaction/${encodeURIComponent(text)}`), `id ${text}`);
        check(await dev.client.send('GET', `/v3/payment/transaction/order/${encodeURIComponent(text || 'x')}`), `order ${text}`);
      }
      assert.ok(statuses.some((s) => s >= 400), 'the fuzz reached refusals');
      await assertLedgerClean();
    });
  });

  // ============================================================ 3. settlement CSV

  describe('settlement CSV', () => {
    let dev: Developer;
    let neighbour: Developer;
    let dayStart: number;
    let date: string;
    const ids: Record<string, string> = {};

    before(async () => {
      dev = await createDeveloper(server, { companyName: 'Settle, Co\nLtd' });
      neighbour = await createDeveloper(server, { companyName: 'Neighbour' });
      // A whole Malaysian day two days ahead, starting 10:00 there.
      dayStart = myDayStart(server.clock.nowMs(), 2);
      date = myDate(dayStart);
      server.clock.setMs(dayStart + 10 * 3_600_000);
      const pay = async (name: string, authCode: string, amount: number) => {
        server.clock.advanceMs(1_000);
        const item = (await dev.client.payment.quickPay(payBody(dev, authCode, { amount }))).item;
        ids[name] = item.transactionId;
        return item;
      };
      await pay('wechat1000', wechatMy(), 1_000);
      await pay('tng250', tng(), 250);
      await pay('alipay500', alipayCn(), 500);
      const refunded = await pay('wechat800', wechatMy(), 800);
      server.clock.advanceMs(1_000);
      await dev.client.payment.refund({ transactionId: refunded.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 300 }, reason: 'r' });
      const reversed = await pay('tng400', tng(), 400);
      server.clock.advanceMs(1_000);
      assert.equal((await dev.client.payment.reverse(reversed.order.id)).item.status, 'REVERSED');
      await pay('wechatCn600', wechatCn(), 600);
      // Neither a failed nor an unfinished payment books anything.
      server.clock.advanceMs(1_000);
      assertError(await dev.client.send('POST', '/v3/payment/quickpay', { body: payBody(dev, tng('2002')) }), 400, 'AUTH_CODE_EXPIRED');
      assert.equal((await dev.client.payment.quickPay(payBody(dev, tng('1002')))).item.status, 'IN_PROCESS');
      // Another merchant's payment the same day.
      await neighbour.client.payment.quickPay(payBody(neighbour, tng(), { amount: 9_999 }));
    });

    const report = (method: string, region: string, on = date, sequence = 1) =>
      dev.client.payment.settlementCsv({ date: on, method: method as 'ALL', region: region as 'MALAYSIA', sequence });
    const header = (on: string, sequence = 1) => `H,${dev.merchant.merchant.id},Settle  Co Ltd,${on},${sequence}`;

    test('ALL / MALAYSIA lists every Malaysian entry of the day, refund and reversal included', async () => {
      const csv = await report('ALL', 'MALAYSIA');
      assert.deepEqual(csvLines(csv), [
        header(date),
        paymentLine(ids['wechat1000']!, 1_000),
        paymentLine(ids['tng250']!, 250),
        paymentLine(ids['wechat800']!, 800),
        returnLine(ids['wechat800']!, 300),
        paymentLine(ids['tng400']!, 400),
        returnLine(ids['tng400']!, 400),
        summary(6, 2_450, 700),
      ]);
    });

    test('per method and region', async () => {
      assert.deepEqual(csvLines(await report('TNG', 'MALAYSIA')), [
        header(date),
        paymentLine(ids['tng250']!, 250),
        paymentLine(ids['tng400']!, 400),
        returnLine(ids['tng400']!, 400),
        summary(3, 650, 400),
      ]);
      assert.deepEqual(csvLines(await report('WECHATPAY', 'MALAYSIA')), [
        header(date),
        paymentLine(ids['wechat1000']!, 1_000),
        paymentLine(ids['wechat800']!, 800),
        returnLine(ids['wechat800']!, 300),
        summary(3, 1_800, 300),
      ]);
      assert.deepEqual(csvLines(await report('WECHATPAY', 'CHINA')), [header(date), paymentLine(ids['wechatCn600']!, 600), summary(1, 600, 0)]);
      for (const method of ['ALIPAY_CN', 'ALIPAY']) {
        assert.deepEqual(csvLines(await report(method, 'CHINA')), [header(date), paymentLine(ids['alipay500']!, 500), summary(1, 500, 0)], method);
      }
      assert.deepEqual(csvLines(await report('ALL', 'CHINA')), [
        header(date),
        paymentLine(ids['alipay500']!, 500),
        paymentLine(ids['wechatCn600']!, 600),
        summary(2, 1_100, 0),
      ]);
      const empty = [header(date), 'T,0,0.00,0.00,0.00,0.00,0.00,', 'S,0,0.00,0.00,0.00,0.00,0.00,'];
      assert.deepEqual(csvLines(await report('ALIPAY_CN', 'MALAYSIA')), empty);
      assert.deepEqual(csvLines(await report('TNG', 'CHINA')), empty);
      assert.deepEqual(csvLines(await report('BOOST', 'MALAYSIA')), empty);
      assert.deepEqual(csvLines(await report('GRABPAY_MY', 'MALAYSIA')), empty);
      // The sequence is echoed in the header.
      assert.equal(csvLines(await report('TNG', 'MALAYSIA', date, 9_999))[0], header(date, 9_999));
    });

    test('content type is text/csv and the neighbour sees only their own entry', async () => {
      const res = await dev.client.send('POST', '/v3/payment/settlement/csv', { body: { date, method: 'ALL', region: 'MALAYSIA', sequence: 1 } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      assert.ok(!res.rawText.includes('99.99'), 'the neighbour\'s payment is not in our report');
      const theirs = csvLines(await neighbour.client.payment.settlementCsv({ date, method: 'ALL', region: 'MALAYSIA', sequence: 1 }));
      assert.equal(theirs.length, 3);
      assert.equal(theirs[0], `H,${neighbour.merchant.merchant.id},Neighbour,${date},1`);
      assert.match(theirs[1]!, /^T,[0-9]{24},99\.99,0\.00,0\.00,0\.00,99\.99,$/);
      assert.equal(theirs[2], summary(1, 9_999, 0));
    });

    test('an empty day prints the spec\'s zero lines exactly', async () => {
      const other = myDate(dayStart - dayMs);
      const csv = await report('ALL', 'MALAYSIA', other);
      assert.equal(csv, `${header(other)}\nT,0,0.00,0.00,0.00,0.00,0.00,\nS,0,0.00,0.00,0.00,0.00,0.00,\n`);
    });

    test('invalid dates, methods, regions and sequences are 400 VALIDATION_ERROR', async () => {
      const good = { date, method: 'ALL', region: 'MALAYSIA', sequence: 1 };
      for (const patch of [
        { date: '2024-02-30' },
        { date: '2023-02-29' },
        { date: '2024-13-01' },
        { date: '2024-2-1' },
        { date: '01-02-2024' },
        { date: '' },
        { method: 'PAYPAL' },
        { method: 'tng' },
        { method: '' },
        { region: 'SINGAPORE' },
        { sequence: 0 },
        { sequence: 10_000 },
        { sequence: '1' },
        { sequence: 1.5 },
      ]) {
        const res = await dev.client.send('POST', '/v3/payment/settlement/csv', { body: { ...good, ...patch } });
        assertError(res, 400, 'VALIDATION_ERROR');
      }
      // A leap day that exists is fine.
      const leap = await report('ALL', 'MALAYSIA', '2024-02-29');
      assert.equal(csvLines(leap)[0], header('2024-02-29'));
      const unsigned = await dev.client.send('POST', '/v3/payment/settlement/csv', { body: good, sign: false });
      assertError(unsigned, 401, 'INVALID_REQUEST_SIGNATURE');
    });

    test('entries land on their Malaysian day: 23:59:59.999 vs 00:00 (UTC+8)', async () => {
      const edge = await createDeveloper(server, { companyName: 'Edge' });
      const nextDay = myDayStart(server.clock.nowMs(), 1); // 00:00 MYT tomorrow (16:00 UTC today)
      const lateDate = myDate(nextDay - 1);
      const earlyDate = myDate(nextDay);
      assert.notEqual(lateDate, earlyDate);
      server.clock.setMs(nextDay - 60_000); // 23:59:00
      const at2359 = (await edge.client.payment.quickPay(payBody(edge, tng(), { amount: 111 }))).item;
      server.clock.setMs(nextDay - 1); // 23:59:59.999
      const lastMs = (await edge.client.payment.quickPay(payBody(edge, wechatMy(), { amount: 222 }))).item;
      server.clock.setMs(nextDay); // 00:00:00.000
      const midnight = (await edge.client.payment.quickPay(payBody(edge, tng(), { amount: 333 }))).item;
      assert.equal(midnight.createdAt, rmTime(nextDay));
      server.clock.advanceMs(5_000);
      // A refund on the new day of yesterday's payment is booked on the new day.
      await edge.client.payment.refund({ transactionId: lastMs.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 22 }, reason: 'r' });

      const edgeReport = async (on: string) =>
        csvLines(await edge.client.payment.settlementCsv({ date: on, method: 'ALL', region: 'MALAYSIA', sequence: 1 }));
      const header = (on: string) => `H,${edge.merchant.merchant.id},Edge,${on},1`;
      assert.deepEqual(await edgeReport(lateDate), [
        header(lateDate),
        paymentLine(at2359.transactionId, 111),
        paymentLine(lastMs.transactionId, 222),
        summary(2, 333, 0),
      ]);
      assert.deepEqual(await edgeReport(earlyDate), [
        header(earlyDate),
        paymentLine(midnight.transactionId, 333),
        returnLine(lastMs.transactionId, 22),
        summary(2, 333, 22),
      ]);
      // In UTC both payments fall on the same calendar date: the report must not use UTC days.
      assert.equal(new Date(nextDay - 1).toISOString().slice(0, 10), new Date(nextDay).toISOString().slice(0, 10));
      await assertLedgerClean();
    });

    test('a day of exactly 1,000 entries, then 1,050: paging at and past the 1,000-row page', { timeout: 60_000 }, async () => {
      const big = await createDeveloper(server, { companyName: 'Big Day' });
      const start = myDayStart(server.clock.nowMs(), 1) + 9 * 3_600_000;
      server.clock.setMs(start);
      const bigDate = myDate(start);
      const made: { id: string; orderId: string; amount: number; method: string }[] = [];
      /** Pays orders [from, to) with 16 requests in flight; amounts and wallets vary with the index. */
      const payRange = async (from: number, to: number) => {
        let next = from;
        const worker = async () => {
          for (;;) {
            const i = next++;
            if (i >= to) return;
            const amount = 10 + (i % 997);
            server.clock.advanceMs(1);
            const method = ['TNG', 'WECHATPAY', 'BOOST'][i % 3]!;
            const authCode = method === 'TNG' ? tng() : method === 'WECHATPAY' ? wechatMy() : boost();
            const item = (await big.client.payment.quickPay(payBody(big, authCode, { amount, orderId: `big-${i}` }))).item;
            assert.equal(item.status, 'SUCCESS');
            made.push({ id: item.transactionId, orderId: item.order.id, amount, method });
          }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
      };
      const fetchLines = async (method = 'ALL') =>
        csvLines(await big.client.payment.settlementCsv({ date: bigDate, method: method as 'ALL', region: 'MALAYSIA', sequence: 1 }));
      const checkReport = (lines: string[], expectedT: string[], gross: number, refund: number) => {
        assert.equal(lines[0], `H,${big.merchant.merchant.id},Big Day,${bigDate},1`);
        const tLines = lines.slice(1, -1);
        assert.equal(tLines.length, expectedT.length);
        assert.deepEqual([...tLines].sort(), [...expectedT].sort(), 'every entry exactly once across pages');
        assert.equal(lines.at(-1), summary(expectedT.length, gross, refund));
      };
      const started = performance.now();

      await payRange(0, 1_000);
      const sum = (list: typeof made) => list.reduce((total, m) => total + m.amount, 0);
      checkReport(await fetchLines(), made.map((m) => paymentLine(m.id, m.amount)), sum(made), 0);

      await payRange(1_000, 1_047);
      // A partial refund and a reversal of earlier payments add two return entries and one more payment entry.
      const refunded = made[0]!;
      server.clock.advanceMs(1_000);
      await big.client.payment.refund({ transactionId: refunded.id, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 5 }, reason: 'r' });
      const reversed = made[1]!;
      await big.client.payment.reverse(reversed.orderId);
      const expected = [...made.map((m) => paymentLine(m.id, m.amount)), returnLine(refunded.id, 5), returnLine(reversed.id, reversed.amount)];
      assert.equal(expected.length, 1_049);
      const lines = await fetchLines();
      checkReport(lines, expected, sum(made), 5 + reversed.amount);
      // Entries come in booking order: the two returns are the last T lines.
      assert.deepEqual(lines.slice(-3, -1), [returnLine(refunded.id, 5), returnLine(reversed.id, reversed.amount)]);

      // One method's slice of the same day.
      const tngMade = made.filter((m) => m.method === 'TNG');
      const tngExpected = tngMade.map((m) => paymentLine(m.id, m.amount));
      const tngRefund = [refunded, reversed].filter((m) => m.method === 'TNG');
      if (refunded.method === 'TNG') tngExpected.push(returnLine(refunded.id, 5));
      if (reversed.method === 'TNG') tngExpected.push(returnLine(reversed.id, reversed.amount));
      checkReport(await fetchLines('TNG'), tngExpected, sum(tngMade), tngRefund.reduce((t, m) => t + (m === refunded ? 5 : m.amount), 0));
      // The list API agrees about how many payments there are.
      const walked = await walkPages(big.client, 100);
      assert.equal(walked.ids.length, made.length);
      assert.equal(new Set(walked.ids).size, made.length);
      await assertLedgerClean();
      assert.ok(performance.now() - started < 45_000, 'the big day stays quick');
    });
  });
});
