// RM's own published Node SDK (npm rm-api-sdk 1.0.10, unmodified) against tunai over real HTTP: tokens, every
// merchant, store, user and payment call it has, with its own signatures (milliseconds timestamps, sorted but
// unescaped bodies, RM's host in requestUrl, DELETE signed as GET). Only the two axios base URLs are pointed at tunai,
// as a developer would with a DNS entry or a proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { RMSDK, type RMSDKInstance } from 'rm-api-sdk';
import { checkLedger } from '../src/app/check-ledger.js';
import { generateRsaKeyPairPem } from '../src/lib/rsa-keys.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { webCheckoutInput } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, storeInput, type Developer, type TestServer } from './harness.js';

/** The SDK reports a failure by printing it with console.error and resolving to undefined: keep what it printed. */
async function sdkFailure(call: () => Promise<unknown>): Promise<unknown[]> {
  const printed: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(...args);
  try {
    assert.equal(await call(), undefined, 'the SDK resolves a failed call to undefined');
  } finally {
    console.error = original;
  }
  return printed;
}

/** What most SDK modules print on a failure: axios's error, carrying the HTTP status and RM's error envelope. */
function refusalOf(printed: unknown[]): { status?: number; code?: string } {
  const response = (printed[0] as { response?: { status?: number; data?: { error?: { code?: string } } } } | undefined)?.response;
  return { status: response?.status, code: response?.data?.error?.code };
}

/** The SDK as published, its HTTP clients aimed at tunai; `signAs` is the base it signs in requestUrl. */
function officialSdk(server: TestServer, dev: Developer, signAs: 'rm-host' | 'tunai'): RMSDKInstance {
  const sdk = RMSDK({ clientId: dev.clientId, clientSecret: dev.clientSecret, privateKey: dev.privateKeyPem });
  sdk.oauthInstance.defaults.baseURL = `${server.url}/v1`;
  sdk.openApiInstance.defaults.baseURL = `${server.url}/v3`;
  if (signAs === 'tunai') {
    sdk.openApiUrl = `${server.url}/v3`;
    sdk.Payment.openApiUrl = `${server.url}/v3`;
  }
  assert.equal(sdk.Payment.openApiInstance, sdk.openApiInstance, 'Payment calls share the redirected client');
  return sdk;
}

forEachDialect("RM's published Node SDK (rm-api-sdk 1.0.10)", (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let db: Kysely<Database>;
  let sequence = 0;
  /** A WeChat Pay Malaysia auth code that pays at once (…0000); single use, so the middle digits count up. */
  const successCode = () => `13${String(5_300_000_000 + ++sequence).padStart(12, '0')}0000`;

  before(async () => {
    server = await startTestServer(dialect);
    // Every /v3 call must carry a signature that verifies, so each passing call proves the SDK's signature checked out.
    dev = await createDeveloper(server, { companyName: 'SDK Kopitiam', requireSignature: true });
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  for (const signAs of ['rm-host', 'tunai'] as const) {
    test(`tokens: client credentials, then a refresh (requestUrl signed on ${signAs})`, async () => {
      const sdk = officialSdk(server, dev, signAs);
      const token = await sdk.getClientCredentials();
      assert.deepEqual(Object.keys(token).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'refreshTokenExpiresIn', 'tokenType']);
      assert.equal(token.tokenType, 'Bearer');
      assert.equal(typeof token.expiresIn, 'number');
      const refreshed = await sdk.refreshToken(token.refreshToken);
      assert.equal(typeof refreshed.accessToken, 'string', 'a refresh gives a new access token');
      assert.notEqual(refreshed.refreshToken, token.refreshToken, 'and rotates the refresh token');
      const printed = await sdkFailure(() => sdk.refreshToken(token.refreshToken));
      assert.deepEqual(refusalOf(printed), { status: 400, code: 'INVALID_GRANT' }, 'a used refresh token is refused in RM\'s envelope');
    });

    test(`merchant, subscriptions, user and every store call, signed as the SDK signs (requestUrl on ${signAs})`, async () => {
      const sdk = officialSdk(server, dev, signAs);
      const { accessToken } = await sdk.getClientCredentials();
      const merchant = await sdk.getMerchantProfile(accessToken);
      assert.equal(merchant.code, 'SUCCESS');
      assert.equal(merchant.item.id, dev.merchant.merchant.id);
      assert.equal(merchant.item.companyName, 'SDK Kopitiam');
      const subscriptions = await sdk.getMerchantSubscriptions(accessToken);
      assert.equal(subscriptions.code, 'SUCCESS');
      // The spec's answer is an array under `item` (not `items`).
      assert.deepEqual(subscriptions.item.map((s: { id: number }) => s.id).sort(), [1000, 1001, 1003], 'the merchant\'s subscriptions');
      const user = await sdk.getUserProfile(accessToken);
      assert.equal(user.item.id, dev.merchant.user.id);

      // A body with characters the SDK signs escaped (\u0026, \u003c) but sends raw.
      const name = `Kopi & Teh <${signAs}>`;
      const created = await sdk.createStore(accessToken, storeInput(name));
      assert.equal(created.code, 'SUCCESS', JSON.stringify(created));
      const storeId: string = created.item.id;
      assert.equal((await db.selectFrom('stores').select('name').where('id', '=', storeId).executeTakeFirstOrThrow()).name, name, 'stored as sent');

      const listed = await sdk.getStores(accessToken);
      assert.ok(listed.items.some((s: { id: string }) => s.id === storeId), 'the new store is listed');
      assert.equal((await sdk.getStoreById(accessToken, storeId)).item.name, name);

      const updated = await sdk.updateStore(accessToken, storeId, { name: `${name} (updated)`, postCode: '47400' });
      assert.equal(updated.item.name, `${name} (updated)`);
      const row = await db.selectFrom('stores').select(['name', 'post_code']).where('id', '=', storeId).executeTakeFirstOrThrow();
      assert.deepEqual({ ...row }, { name: `${name} (updated)`, post_code: '47400' }, 'the update is stored');

      // The SDK sends DELETE but signs `method=get`; tunai accepts that one variant for DELETE only.
      const deleted = await sdk.deleteStore(accessToken, storeId);
      assert.equal(deleted.code, 'SUCCESS', JSON.stringify(deleted));
      const gone = await db.selectFrom('stores').select(['status', 'deleted_at_ms']).where('id', '=', storeId).executeTakeFirstOrThrow();
      assert.equal(gone.status, 'DELETED', 'the row is kept, marked deleted');
      assert.notEqual(gone.deleted_at_ms, null, 'with its deletion time');
      const listedAfter = await sdk.getStores(accessToken);
      assert.ok(!listedAfter.items.some((s: { id: string }) => s.id === storeId), 'the deleted store is no longer listed');
      const printed = await sdkFailure(() => sdk.getStoreById(accessToken, storeId));
      assert.deepEqual(refusalOf(printed), { status: 404, code: 'STORE_NOT_FOUND' }, 'a deleted store is not found');
    });
  }

  test('payments: QuickPay, queries by id and order, a list, a partial refund, a refused one beyond the balance, a reverse, the settlement report', async () => {
    const sdk = officialSdk(server, dev, 'rm-host');
    const { accessToken } = await sdk.getClientCredentials();
    const storeId = dev.merchant.store.id;
    const paid = await sdk.Payment.initQuickPay(accessToken, {
      authCode: successCode(),
      order: { id: 'sdk-order-1', title: 'Kopi O', detail: 'kurang manis', additionalData: 'table 4', amount: 1_250, currencyType: 'MYR' },
      ipAddress: '203.0.113.9',
      storeId,
    });
    assert.equal(paid.code, 'SUCCESS', JSON.stringify(paid));
    assert.equal(paid.item.status, 'SUCCESS');
    const transactionId: string = paid.item.transactionId;
    assert.equal((await sdk.Payment.getPaymentTransactionById(accessToken, transactionId)).item.order.amount, 1_250);
    assert.equal((await sdk.Payment.getPaymentTransactionByOrderId(accessToken, 'sdk-order-1')).item.transactionId, transactionId);
    const list = await sdk.Payment.getPaymentTransactions(accessToken);
    assert.ok(list.items.some((t: { transactionId: string }) => t.transactionId === transactionId), 'the payment is listed');

    const refunded = await sdk.Payment.refund(accessToken, { transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 250 }, reason: 'spilled' });
    assert.equal(refunded.code, 'SUCCESS', JSON.stringify(refunded));
    await sdkFailure(() => sdk.Payment.refund(accessToken, { transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 1_001 }, reason: 'too much' }));
    const row = await db.selectFrom('payment_transactions').select(['refunded_minor', 'balance_minor']).where('id', '=', transactionId).executeTakeFirstOrThrow();
    assert.deepEqual({ refunded: Number(row.refunded_minor), balance: Number(row.balance_minor) }, { refunded: 250, balance: 1_000 }, 'only the first refund moved money');

    const second = await sdk.Payment.initQuickPay(accessToken, {
      authCode: successCode(),
      order: { id: 'sdk-order-2', title: 'Teh Tarik', detail: '', additionalData: '', amount: 480, currencyType: 'MYR' },
      ipAddress: '203.0.113.9',
      storeId,
    });
    assert.equal(second.item.status, 'SUCCESS');
    const reversed = await sdk.Payment.reverse(accessToken, { orderId: 'sdk-order-2' });
    assert.equal(reversed.code, 'SUCCESS', JSON.stringify(reversed));
    assert.equal((await sdk.Payment.getPaymentTransactionByOrderId(accessToken, 'sdk-order-2')).item.status, 'REVERSED');

    // A settlement day is a Malaysian one (UTC+8): from 16:00 UTC on, the UTC date is the day before.
    const today = new Date(server.clock.nowMs() + 8 * 3_600_000).toISOString().slice(0, 10);
    const report = await sdk.Payment.getDailySettlementReport(accessToken, { date: today, method: 'ALL', region: 'MALAYSIA', sequence: 1 });
    assert.equal(typeof report, 'string', 'the report is CSV text');
    assert.match(report as string, new RegExp(transactionId), 'the settlement report lists the payment');
    assert.deepEqual((await checkLedger(server.running.storage)).violations, [], 'the books balance');
  });

  test('a tampered key: the SDK\'s call is refused with INVALID_REQUEST_SIGNATURE and writes nothing', async () => {
    const sdk = officialSdk(server, dev, 'rm-host');
    const { accessToken } = await sdk.getClientCredentials();
    // The same app and token, but the request is signed with a key the app never uploaded.
    const stranger = officialSdk(server, dev, 'rm-host');
    stranger.privateKey = (await generateRsaKeyPairPem()).privateKeyPem;
    const storesBefore = await db.selectFrom('stores').select('id').where('merchant_id', '=', dev.merchant.merchant.id).execute();
    const printed = await sdkFailure(() => stranger.createStore(accessToken, storeInput('Forged')));
    assert.deepEqual(refusalOf(printed), { status: 401, code: 'INVALID_REQUEST_SIGNATURE' });
    const storesAfter = await db.selectFrom('stores').select('id').where('merchant_id', '=', dev.merchant.merchant.id).execute();
    assert.equal(storesAfter.length, storesBefore.length, 'no store was written');
    assert.equal((await sdk.getMerchantProfile(accessToken)).item.id, dev.merchant.merchant.id, 'the right key still works');
  });

  test('a refund beyond what was paid: the SDK prints RM\'s error envelope with the catalog code', async () => {
    const sdk = officialSdk(server, dev, 'tunai');
    const { accessToken } = await sdk.getClientCredentials();
    const paid = await sdk.Payment.initQuickPay(accessToken, {
      authCode: successCode(),
      order: { id: 'sdk-order-3', title: 'Roti', detail: '', additionalData: '', amount: 300, currencyType: 'MYR' },
      ipAddress: '203.0.113.9',
      storeId: dev.merchant.store.id,
    });
    const printed = await sdkFailure(() =>
      sdk.Payment.refund(accessToken, { transactionId: paid.item.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 301 }, reason: 'no' }),
    );
    assert.equal(printed.length, 1, 'one error printed');
    const envelope = printed[0] as { error?: { code?: string; message?: string } };
    assert.equal(envelope.error?.code, 'INSUFFICIENT_REFUND_AMOUNT', JSON.stringify(envelope));
    assert.equal(typeof envelope.error?.message, 'string');
  });

  test('Transaction QR and a web checkout through the SDK', async () => {
    const sdk = officialSdk(server, dev, 'rm-host');
    const { accessToken } = await sdk.getClientCredentials();
    const storeId = dev.merchant.store.id;
    const qr = await sdk.Payment.createTransactionUrl(accessToken, qrCodeInput(storeId));
    assert.equal(qr.code, 'SUCCESS', JSON.stringify(qr));
    const code: string = qr.item.code;
    assert.equal((await sdk.Payment.getTransactionUrlByCode(accessToken, code)).item.code, code);
    const qrs = await sdk.Payment.getTransactionUrl(accessToken);
    assert.ok(qrs.items.some((q: { code: string }) => q.code === code), 'the QR is listed');
    const qrPayments = await sdk.Payment.getTransactionsByCode(accessToken, code);
    assert.deepEqual(qrPayments.items, [], 'no one has paid it yet');

    const checkout = await sdk.Payment.createWebPayment(accessToken, webCheckoutInput(storeId, 'sdk-web-1', 900));
    assert.equal(checkout.code, 'SUCCESS', JSON.stringify(checkout));
    assert.match(checkout.item.url, /^http/, 'a hosted payment page URL');
    const stored = await db.selectFrom('payment_checkouts').select(['id', 'amount_minor']).where('id', '=', checkout.item.checkoutId).executeTakeFirstOrThrow();
    assert.equal(Number(stored.amount_minor), 900, 'the checkout is stored with its amount');
  });
});
