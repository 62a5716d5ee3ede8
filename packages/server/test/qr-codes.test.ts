// Transaction QR over real HTTP on both databases: create (every field), list (order, limit, cursor, filters), get,
// the QR's payments, isolation between merchants, auth, and bad input that writes nothing.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { TunaiClient } from '@tunai/client';
import { allScopes, limits, type CreateQrCodeRequest, type CreatedQrCode, type QrCode, type Store, type Transaction } from '@tunai/client/contract';
import { generateNonce } from '@tunai/client/signature';
import { checkLedger } from '../src/app/check-ledger.js';
import type { Database } from '../src/store/schema.js';
import { assertError, postForm, rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, rawRequest, storeInput, transactionKeys, twoMerchantSuite, type Developer, type TestServer, rmTime } from './harness.js';

// ---------------------------------------------------------------- helpers

const iso = rmTime;
const dayMs = 86_400_000;

/** `ms` as RFC 3339 in Malaysian time with microseconds, the way the go SDK writes a time.Time (the extra digits are below a ms). */
function mytRfc3339(ms: number): string {
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 23)}456+08:00`;
}

const qrKeys = ['amount', 'code', 'createdAt', 'currencyType', 'expiry', 'isPreFillAmount', 'method', 'order', 'platform', 'qrCodeUrl', 'redirectUrl', 'status', 'type', 'updatedAt'];
const createdKeys = [...qrKeys, 'store'].sort();
const queriedKeys = [...qrKeys, 'storeId'].sort();

/** The spec's example request: a DYNAMIC, pre-filled, PERMANENT QR for one WeChat Pay payment. */
function qrBody(storeId: string, patch: Record<string, unknown> = {}): CreateQrCodeRequest {
  return {
    amount: 100,
    currencyType: 'MYR',
    expiry: { type: 'PERMANENT' },
    isPreFillAmount: true,
    method: ['WECHATPAY'],
    order: { title: 'title', detail: 'detail', additionalData: 'extra' },
    redirectUrl: 'https://shop.example/qr',
    storeId,
    type: 'DYNAMIC',
    ...patch,
  } as CreateQrCodeRequest;
}

/** Every page of a QR list, following meta.cursor; checks count and cursor on each page. */
async function walkQrPages(client: TunaiClient, query: { limit: number; filter?: unknown; order?: '-createdAt' | 'createdAt' }): Promise<{ codes: string[]; pages: number }> {
  const codes: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await client.payment.qrCodes({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    pages += 1;
    assert.equal(page.code, 'SUCCESS');
    assert.equal(page.meta.count, page.items.length);
    assert.ok(page.items.length <= query.limit);
    codes.push(...page.items.map((q) => q.code));
    if (page.meta.cursor === undefined) break;
    assert.equal(page.items.length, query.limit, 'only a full page carries a cursor');
    cursor = page.meta.cursor;
    assert.ok(pages < 50, 'paging terminates');
  }
  assert.equal(new Set(codes).size, codes.length, 'no code repeats across pages');
  return { codes, pages };
}

forEachDialect('Transaction QR API', (dialect) => {
  const suite = twoMerchantSuite(dialect, { dev: 'QR Shop', other: 'Other Shop' });
  let server: TestServer;
  let db: Kysely<Database>;
  let dev: Developer;
  let other: Developer;
  let storeId: string;
  let storeView: Store;

  before(async () => {
    ({ server, db, dev, other } = suite);
    storeId = dev.merchant.store.id;
    storeView = (await dev.client.stores.get(storeId)).item;
  });

  const { countRows, writesNothing } = rowCounter(() => db, ['payment_qr_codes', 'payment_transactions']);

  /** Pays a QR through the unified page and the sandbox wallet; returns the transaction id. */
  async function payQr(code: string, method: string, options: { outcome?: string; amount?: string } = {}): Promise<string> {
    const pay = await postForm(`${server.url}/payment/unified/pay`, { code, method, ...(options.amount === undefined ? {} : { amount: options.amount }) });
    assert.equal(pay.status, 303, await pay.text());
    const wallet = new URL(pay.headers.get('location') ?? '');
    assert.equal(wallet.pathname, '/sandbox/wallet');
    const transactionId = wallet.searchParams.get('order') ?? '';
    assert.match(transactionId, /^[0-9]{24}$/);
    const confirm = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: options.outcome ?? '0000' });
    assert.equal(confirm.status, 303);
    assert.equal(confirm.headers.get('location'), `../../payment/unified/result?transactionId=${transactionId}`, 'relative to /sandbox/wallet/confirm');
    return transactionId;
  }

  // ============================================================ create and get

  describe('create and get', () => {
    interface CreateCase {
      name: string;
      body: (nowMs: number) => Record<string, unknown>;
      expect: (nowMs: number) => Omit<CreatedQrCode, 'store' | 'code' | 'qrCodeUrl' | 'createdAt' | 'updatedAt' | 'status' | 'platform' | 'currencyType'>;
    }
    const order = { title: 'title', detail: 'detail', additionalData: 'extra' };
    const permanent = { type: 'PERMANENT', day: 0, expiredAt: '2050-12-31T23:59:59Z' };
    const cases: CreateCase[] = [
      {
        name: 'STATIC, PERMANENT, pre-filled, a bare wallet name',
        body: () => ({ type: 'STATIC', method: ['WECHATPAY'] }),
        expect: () => ({ type: 'STATIC', isPreFillAmount: true, amount: 100, method: ['WECHATPAY'], expiry: permanent, redirectUrl: 'https://shop.example/qr', order }),
      },
      {
        name: 'DYNAMIC, PERMANENT, not pre-filled (amount stored 0), suffixed and bare names, no redirectUrl',
        body: () => ({ isPreFillAmount: false, amount: 500, method: ['WECHATPAY_MY', 'BOOST_MY', 'TNG', 'ALIPAY_CN'], redirectUrl: undefined }),
        expect: () => ({ type: 'DYNAMIC', isPreFillAmount: false, amount: 0, method: ['WECHATPAY_MY', 'BOOST_MY', 'TNG', 'ALIPAY_CN'], expiry: permanent, redirectUrl: '', order }),
      },
      {
        name: 'STATIC, DYNAMIC expiry of 1 day, method null (go SDK) → []',
        body: () => ({ type: 'STATIC', amount: 1250, method: null, expiry: { type: 'DYNAMIC', day: 1 } }),
        expect: (now) => ({ type: 'STATIC', isPreFillAmount: true, amount: 1250, method: [], expiry: { type: 'DYNAMIC', day: 1, expiredAt: iso(now + dayMs) }, redirectUrl: 'https://shop.example/qr', order }),
      },
      {
        name: 'DYNAMIC, DYNAMIC expiry at the most days, method omitted → []',
        body: () => ({ method: undefined, expiry: { type: 'DYNAMIC', day: limits.qrExpiryDaysMax } }),
        expect: (now) => ({
          type: 'DYNAMIC',
          isPreFillAmount: true,
          amount: 100,
          method: [],
          expiry: { type: 'DYNAMIC', day: 3_650, expiredAt: iso(now + 3_650 * dayMs) },
          redirectUrl: 'https://shop.example/qr',
          order,
        }),
      },
      {
        name: 'STATIC, FIX expiry given in +08:00 with microseconds (go SDK), amount at the maximum',
        body: (now) => ({ type: 'STATIC', amount: 100_000_000, expiry: { type: 'FIX', expiredAt: mytRfc3339(now + 30 * dayMs + 1_234) } }),
        expect: (now) => ({
          type: 'STATIC',
          isPreFillAmount: true,
          amount: 100_000_000,
          method: ['WECHATPAY'],
          expiry: { type: 'FIX', day: 0, expiredAt: iso(now + 30 * dayMs + 1_234) },
          redirectUrl: 'https://shop.example/qr',
          order,
        }),
      },
      {
        name: 'DYNAMIC, FIXED (the spec\'s spelling) in UTC with day ignored → FIX',
        body: (now) => ({ expiry: { type: 'FIXED', day: 9, expiredAt: iso(now + 3_600_000) } }),
        expect: (now) => ({
          type: 'DYNAMIC',
          isPreFillAmount: true,
          amount: 100,
          method: ['WECHATPAY'],
          expiry: { type: 'FIX', day: 0, expiredAt: iso(now + 3_600_000) },
          redirectUrl: 'https://shop.example/qr',
          order,
        }),
      },
      {
        name: 'no expiry → PERMANENT, isPreFillAmount omitted → false, order.details (go SDK) → detail, no additionalData',
        body: () => ({ expiry: undefined, isPreFillAmount: undefined, amount: undefined, order: { title: 'Kiosk', details: '1 x iPhone X' } }),
        expect: () => ({
          type: 'DYNAMIC',
          isPreFillAmount: false,
          amount: 0,
          method: ['WECHATPAY'],
          expiry: permanent,
          redirectUrl: 'https://shop.example/qr',
          order: { title: 'Kiosk', detail: '1 x iPhone X', additionalData: '' },
        }),
      },
      {
        name: 'every QR wallet by its suffixed name, echoed in order',
        body: () => ({ type: 'STATIC', method: ['MAYBANK_MY', 'WECHATPAY_MY', 'WECHATPAY_CN', 'ALIPAY_CN', 'BOOST_MY', 'TNG_MY', 'GRABPAY_MY', 'PRESTO_MY', 'SHOPEEPAY_MY'] }),
        expect: () => ({
          type: 'STATIC',
          isPreFillAmount: true,
          amount: 100,
          method: ['MAYBANK_MY', 'WECHATPAY_MY', 'WECHATPAY_CN', 'ALIPAY_CN', 'BOOST_MY', 'TNG_MY', 'GRABPAY_MY', 'PRESTO_MY', 'SHOPEEPAY_MY'],
          expiry: permanent,
          redirectUrl: 'https://shop.example/qr',
          order,
        }),
      },
    ];

    const seenCodes = new Set<string>();
    for (const c of cases) {
      test(`create ${c.name}: every field exact, then get shows storeId instead of store`, async () => {
        server.clock.advanceMs(1_000);
        const now = server.clock.nowMs();
        const body = qrBody(storeId, c.body(now));
        const before = await countRows();
        const res = await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body });
        assert.equal(res.status, 200, res.rawText);
        const envelope = res.body as { item: CreatedQrCode; code: string };
        assert.equal(envelope.code, 'SUCCESS');
        const item = envelope.item;
        assert.deepEqual(Object.keys(item).sort(), createdKeys);
        assert.match(item.code, /^[0-9a-f]{32}$/);
        assert.ok(!seenCodes.has(item.code), 'a fresh code each time');
        seenCodes.add(item.code);
        const fields = {
          ...c.expect(now),
          currencyType: 'MYR',
          platform: 'OPEN_API',
          code: item.code,
          status: 'VALID',
          qrCodeUrl: `${server.url}/payment/unified?code=${item.code}`,
          createdAt: iso(now),
          updatedAt: iso(now),
        };
        assert.deepEqual(item, { store: storeView, ...fields });
        const after = await countRows();
        assert.equal(after['payment_qr_codes'], before['payment_qr_codes']! + 1);
        assert.equal(after['payment_transactions'], before['payment_transactions']);

        const got = await dev.client.payment.qrCode(item.code);
        assert.equal(got.code, 'SUCCESS');
        assert.deepEqual(Object.keys(got.item).sort(), queriedKeys);
        assert.deepEqual(got.item, { storeId, ...fields });
        // The page the qrCodeUrl names is served for it.
        const page = await fetch(item.qrCodeUrl);
        assert.equal(page.status, 200);
        assert.match(await page.text(), new RegExp(`name="code" value="${item.code}"`));
      });
    }

    test('the store object on create is the store of storeId, for a second store too', async () => {
      const second = (await dev.client.stores.create(storeInput('Second Branch'))).item;
      const created = (await dev.client.payment.createQrCode(qrBody(second.id))).item;
      assert.deepEqual(created.store, second);
      assert.equal((await dev.client.payment.qrCode(created.code)).item.storeId, second.id);
    });
  });

  // ============================================================ list

  describe('list: order, limit, cursor and filters', () => {
    let shop: Developer;
    let storeA: string;
    let storeB: string;
    /** As created, with what each was created as. */
    const made: { code: string; createdAt: string; type: string; expiryType: string; storeId: string; view: QrCode }[] = [];
    let redeemed: string;
    const newestFirst = () => [...made].sort((x, y) => (x.createdAt === y.createdAt ? (x.code < y.code ? 1 : -1) : x.createdAt < y.createdAt ? 1 : -1)).map((m) => m.code);
    const oldestFirst = () => [...newestFirst()].reverse();

    before(async () => {
      shop = await createDeveloper(server, { companyName: 'List Co' });
      storeA = shop.merchant.store.id;
      storeB = (await shop.client.stores.create(storeInput('List B'))).item.id;
      // [type, expiry, store, created in the same ms as the previous one]
      const plan: ['STATIC' | 'DYNAMIC', 'PERMANENT' | 'DYNAMIC' | 'FIX', 'A' | 'B', boolean][] = [
        ['STATIC', 'PERMANENT', 'A', false],
        ['DYNAMIC', 'DYNAMIC', 'A', false],
        ['STATIC', 'FIX', 'B', false],
        ['DYNAMIC', 'PERMANENT', 'A', false],
        ['STATIC', 'DYNAMIC', 'B', false],
        ['DYNAMIC', 'FIX', 'A', true],
        ['STATIC', 'PERMANENT', 'A', true],
        ['DYNAMIC', 'PERMANENT', 'B', false],
        ['STATIC', 'FIX', 'A', false],
        ['DYNAMIC', 'DYNAMIC', 'B', false],
        ['STATIC', 'PERMANENT', 'B', false],
        ['DYNAMIC', 'PERMANENT', 'A', false],
      ];
      for (const [type, expiryType, store, sameMs] of plan) {
        if (!sameMs) server.clock.advanceMs(1_000);
        const now = server.clock.nowMs();
        const expiry = expiryType === 'PERMANENT' ? { type: expiryType } : expiryType === 'DYNAMIC' ? { type: expiryType, day: 7 } : { type: expiryType, expiredAt: iso(now + 5 * dayMs) };
        const created = (await shop.client.payment.createQrCode(qrBody(store === 'A' ? storeA : storeB, { type, expiry }))).item;
        const { store: _store, ...rest } = created;
        made.push({ code: created.code, createdAt: created.createdAt, type, expiryType, storeId: created.store.id, view: { storeId: created.store.id, ...rest } });
      }
      // The fourth (DYNAMIC, PERMANENT, store A) is paid once and so REDEEMED.
      redeemed = made[3]!.code;
      await payQr(redeemed, 'WECHATPAY_MY');
      const paid = (await shop.client.payment.qrCode(redeemed)).item;
      assert.equal(paid.status, 'REDEEMED');
      made[3]!.view = paid;
    });

    test('default order is newest first (ties by code), every item as get shows it, no cursor when all fit', async () => {
      const page = await shop.client.payment.qrCodes();
      assert.equal(page.code, 'SUCCESS');
      assert.equal(page.meta.count, 12);
      assert.equal(page.meta.cursor, undefined);
      assert.deepEqual(page.items.map((q) => q.code), newestFirst());
      const byCode = new Map(made.map((m) => [m.code, m.view]));
      for (const item of page.items) {
        assert.deepEqual(Object.keys(item).sort(), queriedKeys);
        assert.deepEqual(item, byCode.get(item.code));
        assert.deepEqual(item, (await shop.client.payment.qrCode(item.code)).item);
      }
      // Three share a creation ms, so the tie-break by code is exercised.
      assert.equal(new Set(made.map((m) => m.createdAt)).size, 10);
    });

    test('order createdAt is oldest first; -createdAt and order=createdAt spelled by hand agree', async () => {
      assert.deepEqual((await shop.client.payment.qrCodes({ order: 'createdAt' })).items.map((q) => q.code), oldestFirst());
      assert.deepEqual((await shop.client.payment.qrCodes({ order: '-createdAt' })).items.map((q) => q.code), newestFirst());
      const plain = await shop.client.send('GET', '/v3/payment/transaction/qrcodes?order=createdAt');
      assert.equal(plain.status, 200, plain.rawText);
      assert.deepEqual((plain.body as { items: QrCode[] }).items.map((q) => q.code), oldestFirst());
      const bracket = await shop.client.send('GET', `/v3/payment/transaction/qrcodes?${encodeURIComponent('order[]')}=-createdAt`);
      assert.deepEqual((bracket.body as { items: QrCode[] }).items.map((q) => q.code), newestFirst());
    });

    test('limit: 1, 5, 11 carry a cursor; 12 and 100 do not', async () => {
      for (const [limit, hasCursor] of [[1, true], [5, true], [11, true], [12, false], [100, false]] as const) {
        const page = await shop.client.payment.qrCodes({ limit });
        assert.equal(page.items.length, Math.min(limit, 12), `limit ${limit}`);
        assert.deepEqual(page.items.map((q) => q.code), newestFirst().slice(0, limit));
        assert.equal(typeof page.meta.cursor === 'string', hasCursor, `limit ${limit} cursor`);
      }
    });

    test('cursor paging walks every QR once in both orders and with a filter', async () => {
      const down = await walkQrPages(shop.client, { limit: 5 });
      assert.deepEqual(down.codes, newestFirst());
      assert.equal(down.pages, 3);
      const up = await walkQrPages(shop.client, { limit: 2, order: 'createdAt' });
      assert.deepEqual(up.codes, oldestFirst());
      assert.equal(up.pages, 6, 'the last page, though full, carries no cursor');
      const statics = await walkQrPages(shop.client, { limit: 2, filter: { type: 'STATIC' } });
      assert.deepEqual(statics.codes, newestFirst().filter((code) => made.find((m) => m.code === code)?.type === 'STATIC'));
    });

    test('a cursor stays stable while a new QR is created', async () => {
      const first = await shop.client.payment.qrCodes({ limit: 4 });
      server.clock.advanceMs(1_000);
      const newcomer = (await shop.client.payment.createQrCode(qrBody(storeB, { type: 'STATIC' }))).item;
      const codes = first.items.map((q) => q.code);
      let cursor = first.meta.cursor;
      while (cursor !== undefined) {
        const page = await shop.client.payment.qrCodes({ limit: 4, cursor });
        codes.push(...page.items.map((q) => q.code));
        cursor = page.meta.cursor;
      }
      assert.deepEqual(codes, newestFirst());
      assert.deepEqual((await shop.client.payment.qrCodes({ limit: 1 })).items.map((q) => q.code), [newcomer.code]);
      const { store: _store, ...rest } = newcomer;
      made.push({ code: newcomer.code, createdAt: newcomer.createdAt, type: 'STATIC', expiryType: 'PERMANENT', storeId: storeB, view: { storeId: storeB, ...rest } });
    });

    test('filters: type, expiry.type, status, storeId and combinations', async () => {
      const expectWhere = (keep: (m: (typeof made)[number]) => boolean) => newestFirst().filter((code) => keep(made.find((m) => m.code === code)!));
      const list = async (filter: unknown) => (await shop.client.payment.qrCodes({ filter, limit: 100 })).items.map((q) => q.code);
      for (const type of ['STATIC', 'DYNAMIC']) assert.deepEqual(await list({ type }), expectWhere((m) => m.type === type), type);
      for (const expiryType of ['PERMANENT', 'DYNAMIC', 'FIX']) {
        const codes = await list({ 'expiry.type': expiryType });
        assert.deepEqual(codes, expectWhere((m) => m.expiryType === expiryType), expiryType);
        assert.ok(codes.length >= 2);
      }
      assert.deepEqual(await list({ status: 'REDEEMED' }), [redeemed]);
      assert.deepEqual(await list({ status: 'VALID' }), expectWhere((m) => m.code !== redeemed));
      assert.deepEqual(await list({ storeId: storeB }), expectWhere((m) => m.storeId === storeB));
      assert.deepEqual(await list({ storeId: storeA, type: 'DYNAMIC', 'expiry.type': 'PERMANENT' }), expectWhere((m) => m.storeId === storeA && m.type === 'DYNAMIC' && m.expiryType === 'PERMANENT'));
      assert.deepEqual(await list({ type: 'STATIC', status: 'REDEEMED' }), []);
      assert.deepEqual(await list({}), newestFirst());
      // Someone else's store names nothing of theirs here, and their list holds none of ours.
      assert.deepEqual(await list({ storeId }), []);
      const theirs = (await dev.client.payment.qrCodes({ limit: 100 })).items.map((q) => q.code);
      assert.ok(theirs.length > 0);
      assert.ok(theirs.every((code) => !made.some((m) => m.code === code)));
    });

    const badQueries: [string, string][] = [
      ['limit 0', 'limit=0'],
      ['limit 101', 'limit=101'],
      ['limit -1', 'limit=-1'],
      ['limit x', 'limit=x'],
      ['order amount', 'order=amount'],
      ['order twice', `${encodeURIComponent('order[]')}=createdAt&${encodeURIComponent('order[]')}=-createdAt`],
      ['filter not JSON', `filter=${encodeURIComponent('{')}`],
      ['filter an array', `filter=${encodeURIComponent('[]')}`],
      ['filter on an unknown key', `filter=${encodeURIComponent('{"amount":100}')}`],
      ['filter type ONCE', `filter=${encodeURIComponent('{"type":"ONCE"}')}`],
      ['filter expiry.type NEVER', `filter=${encodeURIComponent('{"expiry.type":"NEVER"}')}`],
      ['filter status USED', `filter=${encodeURIComponent('{"status":"USED"}')}`],
      ['filter storeId a number', `filter=${encodeURIComponent('{"storeId":12}')}`],
      ['filter longer than the limit', `filter=${encodeURIComponent(JSON.stringify({ type: 'x'.repeat(limits.filterQueryCharsMax) }))}`],
      ['garbage cursor', 'cursor=garbage'],
      ['a transaction-list cursor', `cursor=${Buffer.from('id:123').toString('base64url')}`],
    ];
    for (const [name, query] of badQueries) {
      test(`list refuses ${name} (400 VALIDATION_ERROR)`, async () => {
        assertError(await shop.client.send('GET', `/v3/payment/transaction/qrcodes?${query}`), 400, 'VALIDATION_ERROR');
      });
    }
  });

  // ============================================================ the QR's payments

  describe('get by code and the payments of a QR', () => {
    let shopQr: CreatedQrCode;
    let otherQr: CreatedQrCode;
    const paid: { id: string; amount: number; method: string; status: string }[] = [];

    before(async () => {
      shopQr = (await dev.client.payment.createQrCode(qrBody(storeId, { type: 'STATIC', isPreFillAmount: false, amount: undefined, method: [], order: { title: 'Counter', detail: 'pay here', additionalData: 'till 2' } }))).item;
      otherQr = (await dev.client.payment.createQrCode(qrBody(storeId, { type: 'STATIC', amount: 700 }))).item;
      const pays: [string, string, string, number, string][] = [
        ['WECHATPAY_MY', '12.50', '0000', 1_250, 'SUCCESS'],
        ['TNG_MY', '3', '0000', 300, 'SUCCESS'],
        ['BOOST_MY', '0.10', '2001', 10, 'FAILED'],
        ['ALIPAY_CN', '1000000', '0000', 100_000_000, 'SUCCESS'],
      ];
      for (const [method, amount, outcome, minor, status] of pays) {
        server.clock.advanceMs(1_000);
        paid.push({ id: await payQr(shopQr.code, method, { amount, outcome }), amount: minor, method: method.split('_')[0]!, status });
      }
      server.clock.advanceMs(1_000);
      await payQr(otherQr.code, 'WECHATPAY_CN');
    });

    test('a STATIC QR stays VALID after many payments; get by code answers it', async () => {
      const got = await dev.client.payment.qrCode(shopQr.code);
      assert.equal(got.item.status, 'VALID');
      assert.equal(got.item.amount, 0);
      assert.equal(got.item.isPreFillAmount, false);
    });

    test('transactions by code: only that QR\'s payments, newest first, QR_PAY with the transaction id as order id', async () => {
      const list = await dev.client.payment.qrCodeTransactions(shopQr.code);
      assert.equal(list.code, 'SUCCESS');
      assert.equal(list.meta.count, 4);
      assert.equal(list.meta.cursor, undefined);
      assert.deepEqual(list.items.map((t) => t.transactionId), [...paid].reverse().map((p) => p.id));
      for (const t of list.items) {
        const expected = paid.find((p) => p.id === t.transactionId)!;
        assert.deepEqual(Object.keys(t).sort(), transactionKeys);
        assert.equal(t.type, 'QR_PAY');
        assert.equal(t.order.id, t.transactionId);
        assert.equal(t.order.title, 'Counter');
        assert.equal(t.order.detail, 'pay here');
        assert.equal(t.order.additionalData, 'till 2');
        assert.equal(t.order.amount, expected.amount);
        assert.equal(t.method, expected.method);
        assert.equal(t.status, expected.status);
        assert.equal(t.platform, 'OPEN_API');
        assert.deepEqual(t, (await dev.client.payment.transaction(t.transactionId)).item);
      }
      const others = await dev.client.payment.qrCodeTransactions(otherQr.code);
      assert.equal(others.items.length, 1);
      assert.equal(others.items[0]?.order.amount, 700);
      assert.ok(!paid.some((p) => p.id === others.items[0]?.transactionId));
      assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
    });

    test('transactions by code page with limit and cursor, and filter by status', async () => {
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page: { items: Transaction[]; meta: { cursor?: string } } = await dev.client.payment.qrCodeTransactions(shopQr.code, { limit: 1, ...(cursor ? { cursor } : {}) });
        ids.push(...page.items.map((t) => t.transactionId));
        cursor = page.meta.cursor;
        pages += 1;
        assert.ok(pages < 10);
      } while (cursor !== undefined);
      assert.deepEqual(ids, [...paid].reverse().map((p) => p.id));
      const failed = await dev.client.payment.qrCodeTransactions(shopQr.code, { filter: { status: 'FAILED' } });
      assert.deepEqual(failed.items.map((t) => t.transactionId), paid.filter((p) => p.status === 'FAILED').map((p) => p.id));
      assertError(await dev.client.send('GET', `/v3/payment/transaction/qrcode/${shopQr.code}/transactions?limit=101`), 400, 'VALIDATION_ERROR');
      assertError(await dev.client.send('GET', `/v3/payment/transaction/qrcode/${shopQr.code}/transactions?filter=${encodeURIComponent('{"colour":1}')}`), 400, 'VALIDATION_ERROR');
    });

    test('another merchant\'s code, an unknown code and a malformed one are 404 TRANSACTION_QR_CODE_NOT_FOUND', async () => {
      const unknown = randomBytes(16).toString('hex');
      for (const [client, code] of [
        [other.client, shopQr.code],
        [dev.client, unknown],
        [dev.client, shopQr.code.toUpperCase()],
        [dev.client, 'not-a-code'],
        [dev.client, `${shopQr.code}0`],
      ] as const) {
        assertError(await client.send('GET', `/v3/payment/transaction/qrcode/${encodeURIComponent(code)}`), 404, 'TRANSACTION_QR_CODE_NOT_FOUND');
        assertError(await client.send('GET', `/v3/payment/transaction/qrcode/${encodeURIComponent(code)}/transactions`), 404, 'TRANSACTION_QR_CODE_NOT_FOUND');
      }
      // Their own QR is theirs alone.
      const theirs = (await other.client.payment.createQrCode(qrBody(other.merchant.store.id))).item;
      assertError(await dev.client.send('GET', `/v3/payment/transaction/qrcode/${theirs.code}`), 404, 'TRANSACTION_QR_CODE_NOT_FOUND');
      assert.equal((await other.client.payment.qrCode(theirs.code)).item.code, theirs.code);
    });
  });

  // ============================================================ auth

  describe('auth', () => {
    let code: string;
    before(async () => {
      code = (await dev.client.payment.createQrCode(qrBody(storeId))).item.code;
    });
    const routes = (): { method: string; path: string; body?: unknown }[] => [
      { method: 'POST', path: '/v3/payment/transaction/qrcode', body: qrBody(storeId) },
      { method: 'GET', path: '/v3/payment/transaction/qrcodes' },
      { method: 'GET', path: `/v3/payment/transaction/qrcode/${code}` },
      { method: 'GET', path: `/v3/payment/transaction/qrcode/${code}/transactions` },
    ];

    test('no access token is 401 TOKEN_INVALID on every route and writes nothing', async () => {
      for (const route of routes()) {
        const options = route.body === undefined ? {} : { body: route.body };
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...options, accessToken: null, sign: false })), 401, 'TOKEN_INVALID');
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...options, accessToken: null })), 401, 'TOKEN_INVALID');
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...options, accessToken: 'not.a.token' })), 401, 'TOKEN_INVALID');
      }
    });

    test('a token without manage_payment is 403 CLIENT_NO_PERMISSION and writes nothing', async () => {
      const noPayment = await createDeveloper(server, { companyName: 'No Pay', scopes: allScopes.filter((s) => s !== 'manage_payment') });
      for (const route of routes()) {
        const body = route.body === undefined ? {} : { body: qrBody(noPayment.merchant.store.id) };
        assertError(await writesNothing(() => noPayment.client.send(route.method, route.path, body)), 403, 'CLIENT_NO_PERMISSION');
      }
    });

    test('an unsigned request is 401 INVALID_REQUEST_SIGNATURE even for an app that does not require signing', async () => {
      for (const route of routes()) {
        const body = route.body === undefined ? {} : { body: route.body };
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...body, sign: false })), 401, 'INVALID_REQUEST_SIGNATURE');
        assertError(await writesNothing(() => dev.clientWith({ signing: 'never' }).send(route.method, route.path, body)), 401, 'INVALID_REQUEST_SIGNATURE');
      }
    });

    test('a signature by another key, a body changed after signing and a stale timestamp are refused and write nothing', async () => {
      const stranger = await createDeveloper(server, { companyName: 'Stranger' });
      let res = await writesNothing(() => dev.clientWith({ privateKeyPem: stranger.privateKeyPem }).send('POST', '/v3/payment/transaction/qrcode', { body: qrBody(storeId) }));
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      const stale = String(Math.floor(server.clock.nowMs() / 1000) - 3_600);
      res = await writesNothing(() => dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: qrBody(storeId), timestamp: stale }));
      assertError(res, 401, 'INVALID_TIMESTAMP');
      // Headers signed for a body: sent raw with that body they pass (the control), with one field changed they do not.
      const token = await dev.client.getAccessToken();
      const control = await rawRequest(
        server.url,
        'POST',
        '/v3/payment/transaction/qrcode',
        { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(await captureSignedHeaders(qrBody(storeId))) },
        JSON.stringify(qrBody(storeId)),
      );
      assert.equal(control.status, 200, control.text);
      const signedFor = await captureSignedHeaders(qrBody(storeId));
      const tampered = JSON.stringify({ ...qrBody(storeId), amount: 99_999 });
      const raw = await writesNothing(() =>
        rawRequest(server.url, 'POST', '/v3/payment/transaction/qrcode', { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...signedFor }, tampered),
      );
      assert.equal(raw.status, 401, raw.text);
      assert.equal(raw.json?.error?.code, 'INVALID_REQUEST_SIGNATURE');
    });

    /** The X-Signature/X-Nonce-Str/X-Timestamp the client would send for `body` (read off a request to a local echo). */
    async function captureSignedHeaders(body: unknown): Promise<Record<string, string>> {
      let seen: Headers | undefined;
      const capture = dev.clientWith({
        fetch: async (input, init) => {
          if (String(input).includes('/v1/token')) return fetch(input, init);
          seen = new Headers(init?.headers);
          return new Response('{}', { status: 200 });
        },
      });
      await capture.send('POST', '/v3/payment/transaction/qrcode', { body });
      assert.ok(seen);
      return { 'x-signature': seen.get('x-signature') ?? '', 'x-nonce-str': seen.get('x-nonce-str') ?? '', 'x-timestamp': seen.get('x-timestamp') ?? '' };
    }

    test('a replayed nonce is 401 SPAM and the replay writes nothing', async () => {
      const nonceStr = `qrreplay${generateNonce()}`;
      const first = await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: qrBody(storeId), nonceStr });
      assert.equal(first.status, 200, first.rawText);
      const replay = await writesNothing(() => dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: qrBody(storeId), nonceStr }));
      assertError(replay, 401, 'SPAM');
      const replayGet = await dev.client.send('GET', `/v3/payment/transaction/qrcode/${code}`, { nonceStr });
      assertError(replayGet, 401, 'SPAM');
    });
  });

  // ============================================================ bad input writes nothing

  describe('bad create input: catalog error and no row', () => {
    let foreignStore: string;
    let deletedStore: string;
    before(async () => {
      foreignStore = other.merchant.store.id;
      deletedStore = (await dev.client.stores.create(storeInput('Closing Down'))).item.id;
      await dev.client.stores.delete(deletedStore);
    });

    type Patch = (now: number) => Record<string, unknown>;
    const withOrder = (patch: Record<string, unknown>): Patch => () => ({ order: { title: 'title', detail: 'detail', additionalData: 'extra', ...patch } });
    const redirectOfLength = (n: number) => `https://shop.example/${'r'.repeat(n - 'https://shop.example/'.length)}`;
    const refusals: { name: string; patch: Patch; body?: (now: number) => unknown; status: number; code: string }[] = [
      { name: 'currencyType USD', patch: () => ({ currencyType: 'USD' }), status: 400, code: 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE' },
      { name: 'currencyType myr (lower case)', patch: () => ({ currencyType: 'myr' }), status: 400, code: 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE' },
      { name: 'currencyType missing', patch: () => ({ currencyType: undefined }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'pre-filled amount 9', patch: () => ({ amount: 9 }), status: 400, code: 'MINIMUM_AMOUNT_REQUIRED' },
      { name: 'pre-filled amount 0', patch: () => ({ amount: 0 }), status: 400, code: 'MINIMUM_AMOUNT_REQUIRED' },
      { name: 'pre-filled amount missing', patch: () => ({ amount: undefined }), status: 400, code: 'MINIMUM_AMOUNT_REQUIRED' },
      { name: 'amount 100000001 (max+1)', patch: () => ({ amount: 100_000_001 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount 100000001 even when not pre-filled', patch: () => ({ amount: 100_000_001, isPreFillAmount: false }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount -1', patch: () => ({ amount: -1 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount 1.5', patch: () => ({ amount: 1.5 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount "100"', patch: () => ({ amount: '100' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'isPreFillAmount "true"', patch: () => ({ isPreFillAmount: 'true' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'method FPX_MY (a bank, not a QR wallet)', patch: () => ({ method: ['FPX_MY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'method FPX', patch: () => ({ method: ['WECHATPAY', 'FPX'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'method RAZER_MY (checkout only)', patch: () => ({ method: ['RAZER_MY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'method PAYPAL', patch: () => ({ method: ['PAYPAL'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'method wechatpay (lower case)', patch: () => ({ method: ['wechatpay'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'method entry empty', patch: () => ({ method: [''] }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'method not a list', patch: () => ({ method: 'WECHATPAY' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'method with 33 entries (max+1)', patch: () => ({ method: new Array(limits.methodListEntriesMax + 1).fill('WECHATPAY') }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'expiry DYNAMIC day 0', patch: () => ({ expiry: { type: 'DYNAMIC', day: 0 } }), status: 400, code: 'EXPIRY_MIN' },
      { name: 'expiry DYNAMIC without day', patch: () => ({ expiry: { type: 'DYNAMIC' } }), status: 400, code: 'EXPIRY_MIN' },
      { name: 'expiry DYNAMIC day 3651 (max+1)', patch: () => ({ expiry: { type: 'DYNAMIC', day: limits.qrExpiryDaysMax + 1 } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry DYNAMIC day -1', patch: () => ({ expiry: { type: 'DYNAMIC', day: -1 } }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'expiry DYNAMIC day 1.5', patch: () => ({ expiry: { type: 'DYNAMIC', day: 1.5 } }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'expiry FIX a second ago', patch: (now) => ({ expiry: { type: 'FIX', expiredAt: iso(now - 1_000) } }), status: 400, code: 'EXPIRY_MIN' },
      { name: 'expiry FIX at this very ms', patch: (now) => ({ expiry: { type: 'FIX', expiredAt: iso(now) } }), status: 400, code: 'EXPIRY_MIN' },
      { name: 'expiry FIX at Go\'s zero time', patch: () => ({ expiry: { type: 'FIX', expiredAt: '0001-01-01T00:00:00Z' } }), status: 400, code: 'EXPIRY_MIN' },
      { name: 'expiry FIX a date without a time', patch: () => ({ expiry: { type: 'FIX', expiredAt: '2099-01-01' } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry FIX without a zone', patch: () => ({ expiry: { type: 'FIX', expiredAt: '2099-01-01T00:00:00' } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry FIX February 30th', patch: () => ({ expiry: { type: 'FIX', expiredAt: '2030-02-30T00:00:00Z' } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry FIX at 24:00:00 (no such hour in RFC 3339)', patch: () => ({ expiry: { type: 'FIX', expiredAt: '2030-01-01T24:00:00Z' } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry FIX without expiredAt', patch: () => ({ expiry: { type: 'FIX' } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry FIX beyond ten years', patch: (now) => ({ expiry: { type: 'FIX', expiredAt: iso(now + limits.qrExpiryMsMax + 1_000) } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry type NEVER', patch: () => ({ expiry: { type: 'NEVER' } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry type permanent (lower case)', patch: () => ({ expiry: { type: 'permanent' } }), status: 400, code: 'EXPIRY_INVALID' },
      { name: 'expiry without type', patch: () => ({ expiry: { day: 3 } }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl javascript:alert(1)', patch: () => ({ redirectUrl: 'javascript:alert(1)' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl relative', patch: () => ({ redirectUrl: '/thanks' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl ftp:', patch: () => ({ redirectUrl: 'ftp://shop.example/x' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl data:', patch: () => ({ redirectUrl: 'data:text/html,<script>alert(1)</script>' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl with a password', patch: () => ({ redirectUrl: 'https://user:pw@shop.example/' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl 2049 chars (max+1)', patch: () => ({ redirectUrl: redirectOfLength(limits.urlCharsMax + 1) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'type ONCE', patch: () => ({ type: 'ONCE' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'type static (lower case)', patch: () => ({ type: 'static' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'type missing', patch: () => ({ type: undefined }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order missing', patch: () => ({ order: undefined }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.title missing', patch: () => ({ order: { detail: 'd' } }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.title blank', patch: withOrder({ title: '   ' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.title 33 chars (max+1)', patch: withOrder({ title: 't'.repeat(limits.orderTitleCharsMax + 1) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.detail 601 chars (max+1)', patch: withOrder({ detail: 'd'.repeat(limits.orderDetailCharsMax + 1) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.details 601 chars (max+1)', patch: withOrder({ detail: undefined, details: 'd'.repeat(limits.orderDetailCharsMax + 1) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.additionalData 129 chars (max+1)', patch: withOrder({ additionalData: 'a'.repeat(limits.orderAdditionalDataCharsMax + 1) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'storeId missing', patch: () => ({ storeId: undefined }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'storeId 25 chars', patch: () => ({ storeId: '1'.repeat(25) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'unknown storeId', patch: () => ({ storeId: '1234567890123456789' }), status: 404, code: 'STORE_NOT_FOUND' },
      { name: 'another merchant\'s store', patch: () => ({ storeId: foreignStore }), status: 404, code: 'STORE_NOT_FOUND' },
      { name: 'a deleted store', patch: () => ({ storeId: deletedStore }), status: 404, code: 'STORE_NOT_FOUND' },
      { name: 'an empty object', patch: () => ({}), body: () => ({}), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'an array body', patch: () => ({}), body: () => [qrBody(storeId)], status: 400, code: 'VALIDATION_ERROR' },
    ];
    for (const refusal of refusals) {
      test(`create refuses ${refusal.name} (${refusal.status} ${refusal.code}) and writes nothing`, async () => {
        const now = server.clock.nowMs();
        const body = refusal.body ? refusal.body(now) : qrBody(storeId, refusal.patch(now));
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/transaction/qrcode', { body }));
        assertError(res, refusal.status, refusal.code);
      });
    }

    const accepted: { name: string; patch: Patch; check: (item: CreatedQrCode, now: number) => void }[] = [
      { name: 'order.title 32 chars (max)', patch: withOrder({ title: 't'.repeat(32) }), check: (item) => assert.equal(item.order.title, 't'.repeat(32)) },
      { name: 'order.detail 600 chars (max)', patch: withOrder({ detail: 'd'.repeat(600) }), check: (item) => assert.equal(item.order.detail, 'd'.repeat(600)) },
      { name: 'order.additionalData 128 chars (max)', patch: withOrder({ additionalData: 'a'.repeat(128) }), check: (item) => assert.equal(item.order.additionalData, 'a'.repeat(128)) },
      { name: 'redirectUrl 2048 chars (max)', patch: () => ({ redirectUrl: redirectOfLength(2_048) }), check: (item) => assert.equal(item.redirectUrl, redirectOfLength(2_048)) },
      { name: 'redirectUrl empty (default)', patch: () => ({ redirectUrl: '' }), check: (item) => assert.equal(item.redirectUrl, '') },
      { name: 'redirectUrl plain http', patch: () => ({ redirectUrl: 'http://127.0.0.1:9/done?a=1' }), check: (item) => assert.equal(item.redirectUrl, 'http://127.0.0.1:9/done?a=1') },
      { name: 'method with 32 entries (max)', patch: () => ({ method: new Array(32).fill('TNG_MY') }), check: (item) => assert.deepEqual(item.method, new Array(32).fill('TNG_MY')) },
      { name: 'expiry DYNAMIC day 3650 (max)', patch: () => ({ expiry: { type: 'DYNAMIC', day: 3_650 } }), check: (item, now) => assert.deepEqual(item.expiry, { type: 'DYNAMIC', day: 3_650, expiredAt: iso(now + 3_650 * dayMs) }) },
      { name: 'expiry FIX a ms from now', patch: (now) => ({ expiry: { type: 'FIX', expiredAt: iso(now + 1) } }), check: (item, now) => assert.equal(item.expiry.expiredAt, iso(now + 1)) },
      { name: 'amount 100000000 (max)', patch: () => ({ amount: 100_000_000 }), check: (item) => assert.equal(item.amount, 100_000_000) },
      { name: 'pre-filled amount 10 (min)', patch: () => ({ amount: 10 }), check: (item) => assert.equal(item.amount, 10) },
      { name: 'amount 9 when not pre-filled (ignored)', patch: () => ({ amount: 9, isPreFillAmount: false }), check: (item) => assert.equal(item.amount, 0) },
    ];
    for (const ok of accepted) {
      test(`create accepts ${ok.name} and writes one QR`, async () => {
        const now = server.clock.nowMs();
        const before = await countRows();
        const res = await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: qrBody(storeId, ok.patch(now)) });
        assert.equal(res.status, 200, res.rawText);
        const item = (res.body as { item: CreatedQrCode }).item;
        ok.check(item, now);
        assert.deepEqual((await dev.client.payment.qrCode(item.code)).item.order, item.order);
        const after = await countRows();
        assert.equal(after['payment_qr_codes'], before['payment_qr_codes']! + 1);
        assert.equal(after['payment_transactions'], before['payment_transactions']);
      });
    }
  });
});
