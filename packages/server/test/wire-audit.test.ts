// Wire audit of the README's "API coverage" rows against the RM spec: field names, JSON types, nesting, enums and error codes, over HTTP on both databases.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawResponse } from '@tunai/client';
import { postForm } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, storeInput, transactionKeys, type Developer, type TestServer } from './harness.js';

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null';
type Shape = Record<string, JsonType>;
type Json = any;

const jsonType = (value: unknown): JsonType => (value === null ? 'null' : Array.isArray(value) ? 'array' : (typeof value as JsonType));

/** Exactly the spec's keys, each with the spec's JSON type (numbers never as strings). */
function assertShape(value: unknown, shape: Shape, what: string): void {
  assert.equal(jsonType(value), 'object', `${what} is an object`);
  const record = value as Record<string, unknown>;
  assert.deepEqual(Object.keys(record).sort(), Object.keys(shape).sort(), `${what}: field names`);
  for (const [key, type] of Object.entries(shape)) assert.equal(jsonType(record[key]), type, `${what}.${key} is a JSON ${type}`);
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
function assertTimes(record: Record<string, unknown>, keys: string[], what: string): void {
  for (const key of keys) assert.match(String(record[key]), rfc3339, `${what}.${key} is an RFC 3339 UTC time`);
}

function body(res: RawResponse): Json {
  return res.body;
}

function assertOk(res: RawResponse, what: string): Json {
  assert.equal(res.status, 200, `${what}: ${res.rawText}`);
  const b = body(res);
  assert.equal(b.code, 'SUCCESS', `${what}: code SUCCESS`);
  assert.ok(!('error' in b), `${what}: a success never carries a top-level error`);
  return b;
}

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.rawText}`);
  assertShape(body(res), { error: 'object' }, `${code} envelope`);
  assertShape(body(res).error, { code: 'string', message: 'string' }, `${code} error`);
  assert.equal(body(res).error.code, code, res.rawText);
}

const storeShape: Shape = {
  id: 'string', name: 'string', imageUrl: 'string', addressLine1: 'string', addressLine2: 'string', postCode: 'string', city: 'string',
  state: 'string', country: 'string', countryCode: 'string', phoneNumber: 'string', geoLocation: 'object', status: 'string',
  isDefault: 'boolean', createdAt: 'string', updatedAt: 'string',
};
function assertStore(store: Json, what: string): void {
  assertShape(store, storeShape, what);
  assertShape(store.geoLocation, { latitude: 'number', longitude: 'number' }, `${what}.geoLocation`);
  assertTimes(store, ['createdAt', 'updatedAt'], what);
}

const transactionShape: Shape = {
  store: 'object', referenceId: 'string', transactionId: 'string', order: 'object', terminalId: 'string', payee: 'object', currencyType: 'string',
  balanceAmount: 'number', platform: 'string', method: 'string', transactionAt: 'string', type: 'string', status: 'string', region: 'string',
  error: 'object', createdAt: 'string', updatedAt: 'string',
};
function assertTransaction(t: Json, what: string): void {
  assert.deepEqual(Object.keys(transactionShape).sort(), transactionKeys, 'the audit and the harness agree on the Transaction keys');
  assertShape(t, transactionShape, what);
  assertStore(t.store, `${what}.store`);
  assertShape(t.order, { id: 'string', title: 'string', detail: 'string', additionalData: 'string', amount: 'number' }, `${what}.order`);
  assertTimes(t, ['transactionAt', 'createdAt', 'updatedAt'], what);
  assert.ok(['QUICK_PAY', 'QR_PAY', 'WEB_PAYMENT', 'MOBILE_PAYMENT'].includes(t.type), `${what}.type ${t.type} is one of RM's`);
  assert.ok(['IN_PROCESS', 'SUCCESS', 'FAILED', 'REVERSED', 'FULL_REFUNDED', 'PARTIAL_REFUNDED'].includes(t.status), `${what}.status ${t.status} is one of RM's`);
  assert.ok(['MALAYSIA', 'CHINA'].includes(t.region), `${what}.region ${t.region} is MALAYSIA or CHINA`);
  assert.ok(!t.method.includes('_'), `${what}.method ${t.method} is bare (no region suffix)`);
}

const qrShape: Shape = {
  type: 'string', isPreFillAmount: 'boolean', currencyType: 'string', amount: 'number', platform: 'string', method: 'array', expiry: 'object',
  code: 'string', status: 'string', qrCodeUrl: 'string', redirectUrl: 'string', order: 'object', createdAt: 'string', updatedAt: 'string',
};
function assertQr(qr: Json, where: 'store' | 'storeId', what: string): void {
  assertShape(qr, { ...qrShape, [where]: where === 'store' ? 'object' : 'string' }, what);
  assertShape(qr.expiry, { type: 'string', day: 'number', expiredAt: 'string' }, `${what}.expiry`);
  assertShape(qr.order, { title: 'string', detail: 'string', additionalData: 'string' }, `${what}.order`);
  assert.match(qr.code, /^[0-9a-f]{32}$/, `${what}.code is 32 hex`);
  assert.ok(['VALID', 'REDEEMED'].includes(qr.status), `${what}.status ${qr.status} is VALID or REDEEMED`);
  assertTimes(qr, ['createdAt', 'updatedAt'], what);
}

let sequence = 0;
/** A WeChat (Malaysia) auth code, unique in this file, ending with the simulator's outcome suffix. */
const authCode = (suffix = '0000') => `13${String(++sequence).padStart(12, '0')}${suffix}`;
const orderId = (tag: string) => `wa-${tag}-${++sequence}`;
const order = (id: string, amount = 100) => ({ id, title: 'Sales', detail: '1 x kopi', additionalData: 'table 4', currencyType: 'MYR', amount });

forEachDialect('wire audit against the spec', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let storeId: string;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Wire Audit' });
    storeId = dev.merchant.store.id;
  });
  after(async () => {
    await server.close();
  });

  const pay = (input: Json) => dev.client.send('POST', '/v3/payment/quickpay', { body: input });

  describe('times', () => {
    test("times are written as RM's Go servers write them: no trailing zeros in the fraction", async () => {
      // A store created at a whole second, one at .5 s and one at .123 s: RFC3339Nano gives …Z, ….5Z and ….123Z.
      const wholeSecondMs = Math.ceil(server.clock.nowMs() / 1_000) * 1_000 + 1_000;
      const cases: Array<[number, string]> = [
        [wholeSecondMs, 'Z'],
        [wholeSecondMs + 1_500, '.5Z'],
        [wholeSecondMs + 3_123, '.123Z'],
      ];
      for (const [atMs, ending] of cases) {
        server.clock.advanceMs(atMs - server.clock.nowMs());
        const created = assertOk(await dev.client.send('POST', '/v3/store', { body: storeInput(`Times ${ending}`) }), 'store');
        const item = created.item as Json;
        const expected = new Date(atMs).toISOString().slice(0, 19) + ending;
        assert.equal(item.createdAt, expected, `createdAt at ${atMs % 10_000} ms past the 10 s`);
        assert.equal(item.updatedAt, expected, 'updatedAt likewise');
        const fetched = assertOk(await dev.client.send('GET', `/v3/store/${String(item.id)}`), 'store read back');
        assert.equal((fetched.item as Json).createdAt, expected, 'the stored time reads back in the same form');
      }
    });
  });

  describe('OAuth, merchant, store, user', () => {
    test('POST /v1/token answers the five fields, lifetimes as JSON numbers', async () => {
      const basic = Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64');
      const token = async (grant: Json) => {
        const res = await fetch(`${server.url}/v1/token`, { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' }, body: JSON.stringify(grant) });
        assert.equal(res.status, 200, `token ${grant.grantType}`);
        return (await res.json()) as Json;
      };
      const tokenShape: Shape = { accessToken: 'string', tokenType: 'string', expiresIn: 'number', refreshToken: 'string', refreshTokenExpiresIn: 'number' };
      const first = await token({ grantType: 'client_credentials' });
      assertShape(first, tokenShape, 'client_credentials token');
      assert.equal(first.tokenType, 'Bearer');
      assert.equal(first.expiresIn, 7200, "the spec's documented 2 h");
      assertShape(await token({ grantType: 'refresh_token', refreshToken: first.refreshToken }), tokenShape, 'refresh_token token');
    });

    test('GET /v3/merchant and /v3/merchant/subscriptions', async () => {
      const merchant = assertOk(await dev.client.send('GET', '/v3/merchant'), 'merchant');
      assertShape(merchant, { item: 'object', code: 'string' }, 'merchant envelope');
      assertShape(
        merchant.item,
        {
          id: 'string', companyName: 'string', companyType: 'string', companyLogoUrl: 'string', registrationNumber: 'string', businessCategory: 'string',
          establishedAt: 'string', countryCode: 'string', phoneNumber: 'string', addressLine1: 'string', addressLine2: 'string', postcode: 'string',
          city: 'string', state: 'string', country: 'string', invoiceAddress: 'object', isActive: 'boolean', status: 'string',
          isMasterMerchant: 'boolean', masterMerchantId: 'string', isPartner: 'boolean', partnerId: 'string', gstNo: 'string',
          createdAt: 'string', updatedAt: 'string',
        },
        'merchant',
      );
      assertShape(merchant.item.invoiceAddress, { addressLine1: 'string', addressLine2: 'string', postcode: 'string', city: 'string', state: 'string', country: 'string' }, 'invoiceAddress');
      assertTimes(merchant.item, ['establishedAt', 'createdAt', 'updatedAt'], 'merchant');

      const subscriptions = assertOk(await dev.client.send('GET', '/v3/merchant/subscriptions'), 'subscriptions');
      assert.ok(Array.isArray(subscriptions.item), 'subscriptions: item is an array (spec example)');
      assert.ok(subscriptions.item.length > 0, 'subscriptions: the demo merchant has some');
      for (const s of subscriptions.item) {
        assertShape(s, { id: 'number', gracePeriod: 'number', expiryAt: 'string', terminateAt: 'string', status: 'string' }, 'subscription');
        assertTimes(s, ['expiryAt', 'terminateAt'], 'subscription');
      }
    });

    test('store routes: items + meta{count,total}, item, the spec example body, DELETE {code}', async () => {
      const list = assertOk(await dev.client.send('GET', '/v3/stores'), 'stores');
      assertShape(list, { items: 'array', code: 'string', meta: 'object' }, 'stores envelope');
      assertShape(list.meta, { count: 'number', total: 'number' }, 'stores meta (no cursor on the last page)');
      for (const s of list.items) assertStore(s, 'stores item');

      // The spec's own "Create Store" request body: no addressLine2, no geoLocation.
      const specBody = { addressLine1: 'gugusan melur', city: 'petaling jaya', country: 'malaysia.', name: 'yussuf', countryCode: '60', phoneNumber: '176473298', postCode: '47810', state: 'selangor' };
      const created = assertOk(await dev.client.send('POST', '/v3/store', { body: specBody }), 'create store');
      assertStore(created.item, 'created store');
      assert.equal(created.item.isDefault, false, 'a created store is not the default');
      assert.deepEqual(created.item.geoLocation, { latitude: 0, longitude: 0 }, "no geoLocation reads as the spec's zero location");

      const patched = assertOk(
        await dev.client.send('PATCH', `/v3/store/${created.item.id}`, { body: { ...storeInput('Renamed'), geoLocation: { latitude: 3.1349857, longitude: 101.6136659 } } }),
        'patch store',
      );
      assert.deepEqual(patched.item.geoLocation, { latitude: 3.1349857, longitude: 101.6136659 }, 'geoLocation floats round-trip as JSON numbers');
      assertStore(assertOk(await dev.client.send('GET', `/v3/store/${created.item.id}`), 'get store').item, 'store');

      const deleted = assertOk(await dev.client.send('DELETE', `/v3/store/${created.item.id}`), 'delete store');
      assert.deepEqual(deleted, { code: 'SUCCESS' }, 'DELETE answers only {code}');
      assertError(await dev.client.send('GET', `/v3/store/${created.item.id}`), 404, 'STORE_NOT_FOUND');
      assertError(await dev.client.send('DELETE', `/v3/store/${storeId}`), 400, 'DEFAULT_STORE_DELETE_NOT_ALLOWED');
    });

    test('GET /v3/user: storeId is an array', async () => {
      const user = assertOk(await dev.client.send('GET', '/v3/user'), 'user');
      assertShape(
        user.item,
        { id: 'string', firstName: 'string', lastName: 'string', countryCode: 'string', phoneNumber: 'string', email: 'string', avatarUrl: 'string', status: 'string', storeId: 'array', isActive: 'boolean', createdAt: 'string', updatedAt: 'string' },
        'user',
      );
      assert.ok(user.item.storeId.includes(storeId), 'user.storeId lists the default store');
    });
  });

  describe('QuickPay, refund, reverse, queries, settlement', () => {
    test("the spec's QuickPay example body (with its additonalData typo) pays, and the answer is RM's Transaction", async () => {
      const res = await pay({
        authCode: authCode(),
        order: { amount: 100, currencyType: 'MYR', id: orderId('spec'), title: 'title', detail: 'desc', additonalData: 'API Test' },
        ipAddress: '175.143.101.229',
        terminalId: '19382734937293',
        storeId,
      });
      const t = assertOk(res, 'quickpay').item;
      assertTransaction(t, 'quickpay');
      assert.equal(t.order.additionalData, '', 'the misspelt key is not read as additionalData');
      assert.equal(t.terminalId, '19382734937293', 'terminalId is echoed');
      assert.equal(t.type, 'QUICK_PAY');
      assert.equal(t.status, 'SUCCESS');
      assert.equal(t.balanceAmount, 100, 'balanceAmount is what was received');
      assert.deepEqual(t.error, {}, 'a successful payment carries error {}');
      assertShape(t.payee, { userId: 'string' }, 'payee');
    });

    test('IN_PROCESS keeps transactionAt at Go zero time; failed carries error{code,message}', async () => {
      const pending = assertOk(await pay({ authCode: authCode('1001'), order: order(orderId('pending')), ipAddress: '8.8.8.8', storeId }), 'pending').item;
      assertTransaction(pending, 'pending');
      assert.equal(pending.status, 'IN_PROCESS');
      assert.equal(pending.transactionAt, '0001-01-01T00:00:00Z', 'unset transactionAt is Go zero time');
      assert.deepEqual(pending.payee, {}, 'no payer yet: payee {}');

      const failedOrder = orderId('failed');
      assertError(await pay({ authCode: authCode('2005'), order: order(failedOrder), ipAddress: '8.8.8.8', storeId }), 400, 'AUTH_CODE_INVALID');
      const failed = assertOk(await dev.client.send('GET', `/v3/payment/transaction/order/${failedOrder}`), 'by order').item;
      assertTransaction(failed, 'failed');
      assert.equal(failed.status, 'FAILED');
      assert.equal(failed.balanceAmount, 0, 'nothing received');
      assert.deepEqual(failed.error, { code: 'AUTH_CODE_INVALID', message: 'Invalid Auth Code' }, "the spec's failed example");
      assertError(
        await dev.client.send('POST', '/v3/payment/refund', { body: { transactionId: failed.transactionId, refund: { type: 'FULL', currencyType: 'MYR', amount: 100 }, reason: 'x' } }),
        400,
        'TRANSACTIN_STATUS_NOT_SUCCESS',
      );
    });

    test('QuickPay refusals use the catalog codes', async () => {
      assertError(await pay({ authCode: authCode(), order: order(orderId('min'), 9), ipAddress: '8.8.8.8', storeId }), 400, 'MINIMUM_AMOUNT_REQUIRED');
      assertError(await pay({ authCode: authCode(), order: { ...order(orderId('usd')), currencyType: 'USD' }, ipAddress: '8.8.8.8', storeId }), 400, 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE');
      assertError(await pay({ authCode: authCode(), order: order(orderId('store')), ipAddress: '8.8.8.8', storeId: '1' }), 404, 'STORE_NOT_FOUND');
      const id = orderId('dup');
      assertOk(await pay({ authCode: authCode(), order: order(id), ipAddress: '8.8.8.8', storeId }), 'first');
      assertError(await pay({ authCode: authCode(), order: order(id), ipAddress: '8.8.8.8', storeId }), 400, 'ORDER_ID_DUPLICATE');
    });

    test('refund: PARTIAL_REFUNDED then FULL_REFUNDED, balanceAmount as a number; the spec catalog refusals', async () => {
      const paid = assertOk(await pay({ authCode: authCode(), order: order(orderId('refund'), 1000), ipAddress: '8.8.8.8', storeId }), 'pay').item;
      const refund = (type: string, amount: number, currencyType = 'MYR') =>
        dev.client.send('POST', '/v3/payment/refund', { body: { transactionId: paid.transactionId, refund: { type, currencyType, amount }, reason: 'Wrong Item' } });
      assertError(await refund('FULL', 10), 400, 'REFUND_AMT_NOT_SAME_AS_TRANSACTION');
      assertError(await refund('PARTIAL', 2000), 400, 'INSUFFICIENT_REFUND_AMOUNT');
      assertError(await refund('PARTIAL', 10, 'USD'), 400, 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE');
      const partial = assertOk(await refund('PARTIAL', 150), 'partial').item;
      assertTransaction(partial, 'partial refund');
      assert.equal(partial.status, 'PARTIAL_REFUNDED');
      assert.equal(partial.balanceAmount, 850, 'balanceAmount = received − refunded');
      const full = assertOk(await refund('FULL', 850), 'full').item;
      assert.equal(full.status, 'FULL_REFUNDED');
      assert.equal(full.balanceAmount, 0, "the spec's FULL_REFUNDED example: balanceAmount 0");
      assertError(await refund('PARTIAL', 10), 400, 'PAYMENT_FULLY_REFUNDED');
      assertError(
        await dev.client.send('POST', '/v3/payment/refund', { body: { transactionId: '999', refund: { type: 'FULL', currencyType: 'MYR', amount: 10 }, reason: 'x' } }),
        404,
        'TRANSACTION_NOT_FOUND',
      );
    });

    test('reverse: REVERSED with balanceAmount 0; unknown order is TRANSACTION_NOT_FOUND', async () => {
      const id = orderId('reverse');
      assertOk(await pay({ authCode: authCode(), order: order(id), ipAddress: '8.8.8.8', storeId }), 'pay');
      const reversed = assertOk(await dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: id } }), 'reverse').item;
      assertTransaction(reversed, 'reversed');
      assert.equal(reversed.status, 'REVERSED');
      assert.equal(reversed.balanceAmount, 0, "the spec's reverse example: balanceAmount 0");
      assertError(await dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: 'no-such-order' } }), 404, 'TRANSACTION_NOT_FOUND');
    });

    test('queries: items + meta, item, 404 TRANSACTION_NOT_FOUND', async () => {
      const list = assertOk(await dev.client.send('GET', '/v3/payment/transactions?limit=1'), 'transactions');
      assertShape(list, { items: 'array', code: 'string', meta: 'object' }, 'transactions envelope');
      assert.equal(list.items.length, 1, 'limit=1 (the spec example URL)');
      assertShape(list.meta, { count: 'number', cursor: 'string' }, 'transactions meta with a next page');
      assertTransaction(list.items[0], 'transactions item');
      const one = assertOk(await dev.client.send('GET', `/v3/payment/transaction/${list.items[0].transactionId}`), 'by id').item;
      assert.deepEqual(one, list.items[0], 'by id answers the same Transaction as the list');
      assertError(await dev.client.send('GET', '/v3/payment/transaction/123'), 404, 'TRANSACTION_NOT_FOUND');
      assertError(await dev.client.send('GET', '/v3/payment/transaction/order/no-such-order'), 404, 'TRANSACTION_NOT_FOUND');
    });

    test("the spec's settlement example body answers the spec's empty-day CSV", async () => {
      const res = await dev.client.send('POST', '/v3/payment/settlement/csv', { body: { date: '2018-08-05', method: 'WECHATPAY', region: 'MALAYSIA', sequence: 1 } });
      assert.equal(res.status, 200, res.rawText);
      assert.equal(res.rawText, `H,${dev.merchant.merchant.id},Wire Audit,2018-08-05,1\nT,0,0.00,0.00,0.00,0.00,0.00,\nS,0,0.00,0.00,0.00,0.00,0.00,\n`);
    });
  });

  describe('Transaction QR and web checkout', () => {
    test("the spec's QR example body: create carries store, queries carry storeId; a paid QR's transaction is QR_PAY", async () => {
      const specBody = { amount: 100, currencyType: 'MYR', expiry: { type: 'PERMANENT' }, isPreFillAmount: true, method: ['WECHATPAY_MY'], order: { detail: 'detail', title: 'title' }, redirectUrl: 'https://www.baidu.com/', storeId, type: 'DYNAMIC' };
      const created = assertOk(await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: specBody }), 'create QR').item;
      assertQr(created, 'store', 'created QR');
      assertStore(created.store, 'created QR.store');
      assert.deepEqual(created.expiry, { type: 'PERMANENT', day: 0, expiredAt: '2050-12-31T23:59:59Z' }, "the spec's permanent expiry");
      assert.equal(created.platform, 'OPEN_API');

      const got = assertOk(await dev.client.send('GET', `/v3/payment/transaction/qrcode/${created.code}`), 'get QR').item;
      assertQr(got, 'storeId', 'QR by code');
      const filter = encodeURIComponent('{"type":"DYNAMIC", "expiry.type": "PERMANENT"}');
      const list = assertOk(await dev.client.send('GET', `/v3/payment/transaction/qrcodes?order[]=-createdAt&limit=1&filter=${filter}`), 'QR list');
      assertShape(list, { items: 'array', code: 'string', meta: 'object' }, 'QR list envelope');
      assert.equal(list.meta.count, list.items.length, 'meta.count is the page size');
      for (const qr of list.items) assertQr(qr, 'storeId', 'QR list item');

      const payPage = await postForm(`${server.url}/payment/unified/pay`, { code: created.code, method: 'WECHATPAY_MY' });
      assert.equal(payPage.status, 303, 'the unified page sends the payer to the wallet');
      const transactionId = new URL(payPage.headers.get('location') ?? '', server.url).searchParams.get('order') ?? '';
      const confirmed = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
      assert.equal(confirmed.status, 303, 'the wallet confirms');

      assert.equal(assertOk(await dev.client.send('GET', `/v3/payment/transaction/qrcode/${created.code}`), 'redeemed').item.status, 'REDEEMED', 'a paid DYNAMIC QR is REDEEMED');
      const txs = assertOk(await dev.client.send('GET', `/v3/payment/transaction/qrcode/${created.code}/transactions`), 'QR transactions');
      assertShape(txs.meta, { count: 'number' }, 'QR transactions meta');
      assert.equal(txs.items.length, 1, 'one payment');
      const t = txs.items[0];
      assertTransaction(t, 'QR transaction');
      assert.equal(t.type, 'QR_PAY');
      assert.equal(t.order.id, t.transactionId, "the spec's example: a QR payment's order.id is its transaction id");
      assert.equal(t.method, 'WECHATPAY');

      assertError(await dev.client.send('GET', '/v3/payment/transaction/qrcode/0123456789abcdef0123456789abcdef'), 404, 'TRANSACTION_QR_CODE_NOT_FOUND');
      assertError(await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: { ...qrCodeInput(storeId), amount: 5 } }), 400, 'MINIMUM_AMOUNT_REQUIRED');
      assertError(await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: { ...qrCodeInput(storeId), expiry: { type: 'DYNAMIC', day: 0 } } }), 400, 'EXPIRY_MIN');
    });

    test("the spec's web checkout example body: {checkoutId,url}, the checkout, the wallet QR, the FPX bank map", async () => {
      const specBody = {
        order: { title: 'hello', detail: 'hello', additionalData: 'world', amount: 100, currencyType: 'MYR', id: orderId('web') },
        method: [],
        type: 'WEB_PAYMENT',
        storeId,
        redirectUrl: 'https://google.com',
        notifyUrl: 'https://google.com',
        layoutVersion: 'v1',
      };
      const created = assertOk(await dev.client.send('POST', '/v3/payment/online', { body: specBody }), 'checkout').item;
      assertShape(created, { checkoutId: 'string', url: 'string' }, 'created checkout');
      assert.match(created.checkoutId, /^[0-9]{19}$/, 'checkoutId is a 19-digit numeric string');

      const checkout = assertOk(await dev.client.send('GET', `/v3/payment/online?checkoutId=${created.checkoutId}`), 'get checkout').item;
      assertShape(
        checkout,
        { id: 'string', order: 'object', type: 'string', transactionId: 'string', platform: 'string', method: 'array', redirectUrl: 'string', notifyUrl: 'string', startAt: 'string', endAt: 'string', status: 'string', createdAt: 'string', updatedAt: 'string' },
        'checkout',
      );
      assertTimes(checkout, ['startAt', 'endAt', 'createdAt', 'updatedAt'], 'checkout');
      assert.equal(Date.parse(checkout.endAt) - Date.parse(checkout.startAt), 600_000, 'a checkout lasts 600 s by default');

      const qr = assertOk(await dev.client.send('GET', `/v3/payment/online/qrcode?checkoutId=${created.checkoutId}&method=BOOST_MY`), 'online qrcode').item;
      assertShape(qr, { qrCodeImageBase64: 'string', url: 'string' }, 'online qrcode');
      assert.ok(Buffer.from(qr.qrCodeImageBase64, 'base64').subarray(1, 4).toString('latin1') === 'PNG', 'qrCodeImageBase64 is a PNG');
      assertError(await dev.client.send('GET', '/v3/payment/online?checkoutId=1'), 404, 'TRANSACTION_NOT_FOUND');

      const banks = assertOk(await dev.client.send('GET', '/v3/payment/fpx-bank'), 'fpx banks').item;
      assert.equal(jsonType(banks), 'object', 'fpx-bank item is a map');
      for (const [code, bank] of Object.entries(banks)) {
        assertShape(bank, { code: 'string', isOnline: 'boolean', name: 'string' }, `bank ${code}`);
        assert.equal((bank as Json).code, code, 'the map key is the bank code');
      }
    });
  });

  describe("spec endpoints the table marks '—' (later issues)", () => {
    const notYet: [string, string, Json?][] = [
      ['POST', '/v3/loyalty/reward', { point: 1, type: 'ID', memberId: '1' }],
      ['POST', '/v3/loyalty/spending-reward', { currencyType: 'MYR', amount: 100, type: 'QRCODE' }],
      ['GET', '/v3/loyalty/members'],
      ['GET', '/v3/loyalty/member/1/history'],
      ['POST', '/v3/loyalty/member/1/topup-offline', { authCode: '134850717797247290', storeId: '1', memberId: '1', order: { id: 'x', currencyType: 'MYR', amount: 100 } }],
      ['POST', '/v3/voucher-batch/key/issue'],
      ['POST', '/v3/voucher/CODE/void'],
      ['GET', '/v3/voucher-batches'],
      ['POST', '/v3/push-notification/merchant', { title: 't', body: 'b' }],
      ['GET', '/v3/socialmedia/wechat/access-token'],
    ];
    for (const [method, path, input] of notYet) {
      test(`${method} ${path} is 404 API_ENDPOINT_NOT_FOUND`, async () => {
        assertError(await dev.client.send(method, path, input === undefined ? {} : { body: input }), 404, 'API_ENDPOINT_NOT_FOUND');
      });
    }
  });

  describe('late reverse', () => {
    test('a reverse after 15 minutes is EXCEED_TIME_FOR_REVERSE_TRANSACTION', async () => {
      const id = orderId('late');
      assertOk(await pay({ authCode: authCode(), order: order(id), ipAddress: '8.8.8.8', storeId }), 'pay');
      server.clock.advanceMs(16 * 60_000);
      assertError(await dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: id } }), 400, 'EXCEED_TIME_FOR_REVERSE_TRANSACTION');
    });
  });
});
