// RM's go SDK sends every field of its request structs, unset ones as zero values (nil slices as null, empty structs,
// Go's zero time): over real HTTP on both databases those bodies must mean what the absent fields mean. Also the notify's
// RM-only fields (finalAmount, voucher) and the QuickPay-only magic suffix 2005.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyNotifyCallback } from '@tunai/client';
import { limits, mobilePaymentMethods, webPaymentMethods, type Checkout, type CreatedQrCode, type PaymentNotify, type QrCode } from '@tunai/client/contract';
import { checkLedger } from '../src/app/check-ledger.js';
import type { TransactionRecord } from '../src/app/payment-ports.js';
import { openDatabase, type OpenedDatabase } from '../src/store/database.js';
import { assertError, postForm, rowCounter, waitFor } from './api-checks.js';
import { createDeveloper, forEachDialect, startTestServer, transactionKeys, type Developer, type TestServer, rmTime } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

/** What a Go time.Time that was never set marshals to. */
const goZeroTime = '0001-01-01T00:00:00Z';
const iso = rmTime;
const dayMs = 86_400_000;
/** What a PERMANENT QR reports as its expiry. */
const permanent = { type: 'PERMANENT', day: 0, expiredAt: limits.qrPermanentExpiresAt };

let sequence = 0;
const nextOrderId = (tag: string) => `gz-${tag}-${++sequence}`;

forEachDialect('go SDK zero values', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let direct: OpenedDatabase;
  let receiver: WebhookReceiver;
  let storeId: string;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Go Zero Sdn Bhd' });
    direct = openDatabase(server.database.target);
    receiver = await new WebhookReceiver().start();
    storeId = dev.merchant.store.id;
  });
  after(async () => {
    await receiver?.stop();
    await direct?.db.destroy();
    await server?.close();
  });

  const { countRows, writesNothing } = rowCounter(() => direct.db, ['payment_qr_codes', 'payment_checkouts', 'payment_transactions', 'sim_wallet_orders']);
  const merchantId = () => dev.merchant.merchant.id;

  async function assertLedgerClean(): Promise<void> {
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  }

  async function storedPayment(orderId: string): Promise<TransactionRecord> {
    const tx = await server.running.storage.payments.getByOrderId(merchantId(), orderId);
    assert.ok(tx, `a transaction for order ${orderId} is stored`);
    return tx;
  }

  // ============================================================ Transaction QR

  describe('POST /v3/payment/transaction/qrcode', () => {
    /** RequestCreatePaymentTransactionQRCode as the go SDK marshals it when only the required fields were set. */
    const goQrBody = (expiry: Record<string, unknown>) => ({
      amount: 0,
      currencyType: 'MYR',
      method: null,
      expiry,
      order: { title: 'Kiosk', detail: '', additionalData: '' },
      redirectUrl: '',
      type: 'STATIC',
      storeId,
      isPreFillAmount: false,
    });

    test('the go SDK body with no expiry set ({"type":"","expiredAt":zero time}, method null, amount 0) is the QR an absent expiry makes: PERMANENT', async () => {
      server.clock.advanceMs(1_000);
      const before = await countRows();
      const res = await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: goQrBody({ type: '', expiredAt: goZeroTime }) });
      assert.equal(res.status, 200, res.rawText);
      const created = (res.body as { item: CreatedQrCode; code: string }).item;
      const { expiry: _absent, ...withoutExpiry } = goQrBody({});
      const reference = (await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: withoutExpiry })).body as { item: CreatedQrCode };
      assert.deepEqual({ ...created, code: '', qrCodeUrl: '' }, { ...reference.item, code: '', qrCodeUrl: '' }, 'the same QR as without an expiry');
      assert.deepEqual(created.expiry, permanent);
      assert.deepEqual([created.type, created.method, created.amount, created.isPreFillAmount, created.redirectUrl, created.status], ['STATIC', [], 0, false, '', 'VALID']);
      assert.deepEqual(created.order, { title: 'Kiosk', detail: '', additionalData: '' });
      assert.deepEqual(await countRows(), { ...before, payment_qr_codes: before['payment_qr_codes']! + 2 });

      const stored = await server.running.storage.checkout.qr.get(created.code);
      assert.ok(stored);
      assert.deepEqual(
        [stored.expiryType, stored.expiryDays, stored.expiresAtMs, stored.methods, stored.isPreFillAmount, stored.amountMinor, stored.redirectUrl, stored.merchantId],
        ['PERMANENT', 0, null, [], false, 0, '', merchantId()],
      );
      const got: QrCode = (await dev.client.payment.qrCode(created.code)).item;
      assert.deepEqual(got.expiry, permanent);
      const listed = await dev.client.payment.qrCodes({ limit: 100, filter: { 'expiry.type': 'PERMANENT' } });
      assert.ok(listed.items.some((q) => q.code === created.code), 'listed among the PERMANENT QRs');
      // Never expires: a year on, the unified page still takes payments.
      server.clock.advanceMs(400 * dayMs);
      assert.equal((await dev.client.payment.qrCode(created.code)).item.status, 'VALID');
      const page = await fetch(`${server.url}/payment/unified?code=${created.code}`);
      assert.equal(page.status, 200);
    });

    test('the other all-zero spellings are PERMANENT too; an empty type beside a real date or day count is still EXPIRY_INVALID', async () => {
      const zeroSpellings: Record<string, unknown>[] = [
        { type: '' },
        { type: '', day: 0 },
        { type: '', day: 0, expiredAt: goZeroTime },
        { type: '', expiredAt: '' },
        // The same instant written with an offset (a Go client that set time.Time{}.In(loc)).
        { type: '', expiredAt: '0001-01-01T08:00:00+08:00' },
      ];
      for (const expiry of zeroSpellings) {
        const res = await dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: goQrBody(expiry) });
        assert.equal(res.status, 200, `${JSON.stringify(expiry)}: ${res.rawText}`);
        const created = (res.body as { item: CreatedQrCode }).item;
        assert.deepEqual(created.expiry, permanent, JSON.stringify(expiry));
        const stored = await server.running.storage.checkout.qr.get(created.code);
        assert.deepEqual([stored?.expiryType, stored?.expiresAtMs], ['PERMANENT', null], JSON.stringify(expiry));
      }
      const now = server.clock.nowMs();
      const refused: Record<string, unknown>[] = [
        { type: '', expiredAt: iso(now + 5 * dayMs) },
        { type: '', day: 3 },
        { type: '', day: 3, expiredAt: goZeroTime },
        { type: '', expiredAt: 'not a time' },
      ];
      for (const expiry of refused) {
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/transaction/qrcode', { body: goQrBody(expiry) }));
        assertError(res, 400, 'EXPIRY_INVALID');
      }
    });
  });

  // ============================================================ online checkout

  /** RequestCreatePaymentCheckout as the go SDK marshals it when only the required fields were set. */
  const goCheckoutBody = (orderId: string, patch: Record<string, unknown> = {}) => ({
    order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 1_250, amountBreakdown: null },
    method: null,
    excludeMethod: null,
    type: 'WEB_PAYMENT',
    storeId,
    redirectUrl: 'https://shop.example/return',
    notifyUrl: receiver.url('/notify'),
    layoutVersion: '',
    extraInfo: { extraFee: null },
    customer: { userId: '', email: '', countryCode: '', phoneNumber: '' },
    voucher: { code: '' },
    source: '',
    inHousePromo: null,
    expiresInSeconds: 0,
    ...patch,
  });

  async function createGoCheckout(orderId: string, patch: Record<string, unknown> = {}): Promise<{ checkoutId: string; url: string }> {
    const res = await dev.client.send('POST', '/v3/payment/online', { body: goCheckoutBody(orderId, patch) });
    assert.equal(res.status, 200, res.rawText);
    return (res.body as { item: { checkoutId: string; url: string } }).item;
  }

  const methodIdsOn = (html: string) => [...html.matchAll(/id="method-([A-Z_]+)"/g)].map((m) => m[1]);

  describe('POST /v3/payment/online', () => {
    test('the go SDK zero-value body (method, excludeMethod, amountBreakdown, inHousePromo null; expiresInSeconds 0 …) is the checkout the absent fields make', async () => {
      server.clock.advanceMs(1_000);
      const now = server.clock.nowMs();
      const orderId = nextOrderId('web');
      const before = await countRows();
      const created = await createGoCheckout(orderId);
      assert.match(created.checkoutId, /^[0-9]{19}$/);
      assert.equal(created.url, `${server.url}/checkout?checkoutId=${created.checkoutId}`);

      const expected: Checkout = {
        id: created.checkoutId,
        order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', amount: 1_250, currencyType: 'MYR' },
        type: 'WEB_PAYMENT',
        transactionId: '',
        platform: 'OPEN_API',
        method: [],
        redirectUrl: 'https://shop.example/return',
        notifyUrl: receiver.url('/notify'),
        startAt: iso(now),
        endAt: iso(now + limits.checkoutTtlSecondsDefault * 1_000),
        status: 'IN_PROCESS',
        createdAt: iso(now),
        updatedAt: iso(now),
      };
      assert.deepEqual((await dev.client.payment.checkout(created.checkoutId)).item, expected);
      const stored = await server.running.storage.checkout.checkouts.get(created.checkoutId);
      assert.ok(stored);
      assert.deepEqual(
        [stored.methods, stored.excludeMethods, stored.layoutVersion, stored.endAtMs - stored.startAtMs, stored.amountMinor, stored.status, stored.transactionId],
        [[], [], '', 600_000, 1_250, 'IN_PROCESS', null],
      );
      // null means "every method of the type", as [] does.
      const page = await fetch(created.url);
      assert.equal(page.status, 200);
      assert.deepEqual(methodIdsOn(await page.text()).sort(), [...webPaymentMethods].sort());

      // The typed client's body with [] and the optional fields left out is the same request: the same checkout comes back.
      const again = await dev.client.payment.createCheckout({
        order: { id: orderId, title: 'Kopi', currencyType: 'MYR', amount: 1_250 },
        method: [],
        type: 'WEB_PAYMENT',
        storeId,
        redirectUrl: 'https://shop.example/return',
        notifyUrl: receiver.url('/notify'),
      });
      assert.equal(again.item.checkoutId, created.checkoutId);
      assert.deepEqual(await countRows(), { ...before, payment_checkouts: before['payment_checkouts']! + 1 });
    });

    test('method null with a MOBILE_PAYMENT type offers the mobile list; with excludeMethod, the list less those', async () => {
      const cases: { patch: Record<string, unknown>; offered: readonly string[] }[] = [
        { patch: { type: 'MOBILE_PAYMENT' }, offered: mobilePaymentMethods },
        { patch: { excludeMethod: ['TNG_MY', 'FPX_MY'] }, offered: webPaymentMethods.filter((m) => m !== 'TNG_MY' && m !== 'FPX_MY') },
      ];
      for (const c of cases) {
        const orderId = nextOrderId('list');
        const created = await createGoCheckout(orderId, c.patch);
        const stored = await server.running.storage.checkout.checkouts.get(created.checkoutId);
        assert.deepEqual([stored?.methods, stored?.orderId], [[], orderId]);
        const page = await fetch(created.url);
        assert.deepEqual(methodIdsOn(await page.text()).sort(), [...c.offered].sort(), JSON.stringify(c.patch));
      }
      // A method list that is not a list (nor null) is still refused.
      assertError(await writesNothing(() => dev.client.send('POST', '/v3/payment/online', { body: goCheckoutBody(nextOrderId('bad'), { method: 'TNG_MY' }) })), 400, 'VALIDATION_ERROR');
    });
  });

  describe('POST /v3/payment/online/checkout', () => {
    /** RequestCreatePaymentCheckoutByMethod with the optional parts the go SDK sends as nil pointers. */
    const goDirectBody = (checkoutId: string, type: string, method: string, patch: Record<string, unknown> = {}) => ({
      checkoutId,
      type,
      method,
      fpx: null,
      gobiz: null,
      card: null,
      userId: '',
      ...patch,
    });

    test('fpx, gobiz and card null are read as absent: URL, QRCODE and DUITNOW_QRCODE start the payment', async () => {
      for (const type of ['URL', 'QRCODE', 'DUITNOW_QRCODE'] as const) {
        const orderId = nextOrderId(`d-${type.slice(0, 3)}`);
        const created = await createGoCheckout(orderId);
        const res = await dev.client.send('POST', '/v3/payment/online/checkout', { body: goDirectBody(created.checkoutId, type, 'TNG_MY') });
        assert.equal(res.status, 200, `${type}: ${res.rawText}`);
        const item = (res.body as { item: { type: string; url?: string; qrcode?: { base64Image: string; data: string } } }).item;
        assert.equal(item.type, type);
        const tx = await storedPayment(orderId);
        assert.deepEqual([tx.status, tx.method, tx.region, tx.type, tx.checkoutId, tx.amountMinor], ['IN_PROCESS', 'TNG', 'MALAYSIA', 'WEB_PAYMENT', created.checkoutId, 1_250]);
        const walletUrl = `${server.url}/sandbox/wallet?order=${tx.id}`;
        if (type === 'URL') assert.equal(item.url, walletUrl);
        else if (type === 'QRCODE') assert.equal(item.qrcode?.data, walletUrl);
        else assert.match(item.qrcode?.data ?? '', /^000201/);
        assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.transactionId, tx.id);
        assert.equal((await server.running.storage.checkout.checkouts.get(created.checkoutId))?.transactionId, tx.id);
      }
    });

    test('FPX_MY with fpx null is FPX without a bank (PAYMENT_PARAM_INVALID, nothing written); with a bank and gobiz/card null it pays', async () => {
      const orderId = nextOrderId('fpx');
      const created = await createGoCheckout(orderId);
      const withoutBank = await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, type: 'URL', method: 'FPX_MY' } }));
      assertError(withoutBank, 400, 'PAYMENT_PARAM_INVALID');
      const nullBank = await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: goDirectBody(created.checkoutId, 'URL', 'FPX_MY') }));
      assertError(nullBank, 400, 'PAYMENT_PARAM_INVALID');
      assert.equal((nullBank.body as { error: { message: string } }).error.message, (withoutBank.body as { error: { message: string } }).error.message);
      // The typed client accepts null there too (go callers' shape).
      await assert.rejects(dev.client.payment.directCheckout({ checkoutId: created.checkoutId, type: 'URL', method: 'FPX_MY', fpx: null }), { code: 'PAYMENT_PARAM_INVALID' });

      const res = await dev.client.send('POST', '/v3/payment/online/checkout', { body: goDirectBody(created.checkoutId, 'URL', 'FPX_MY', { fpx: { bankCode: 'MB2U0227' } }) });
      assert.equal(res.status, 200, res.rawText);
      const tx = await storedPayment(orderId);
      assert.deepEqual([tx.status, tx.method, tx.checkoutId], ['IN_PROCESS', 'FPX', created.checkoutId]);
      assert.equal((res.body as { item: { type: string; url: string } }).item.type, 'URL');
    });
  });

  // ============================================================ the notify

  describe('notify webhook', () => {
    test('the notify\'s transaction carries finalAmount (the order amount) and voucher null; the /v3 transaction answers do not', async () => {
      const orderId = nextOrderId('notify');
      const created = await createGoCheckout(orderId);
      const direct = await dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, type: 'URL', method: 'BOOST_MY', fpx: null, gobiz: null, card: null } });
      assert.equal(direct.status, 200, direct.rawText);
      const transactionId = (await storedPayment(orderId)).id;
      const confirm = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
      assert.equal(confirm.status, 303, await confirm.text());

      await waitFor(() => receiver.requests.some((r) => r.body.includes(transactionId)), 'the notify');
      const notifies = receiver.requests.filter((r) => r.body.includes(transactionId));
      assert.equal(notifies.length, 1);
      const notify = notifies[0]!;
      assert.ok(verifyNotifyCallback({ rawBody: notify.body, headers: notify.headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }));
      const event = JSON.parse(notify.body) as PaymentNotify;
      assert.deepEqual(Object.keys(event).sort(), ['data', 'eventType']);
      assert.equal(event.eventType, 'PAYMENT_WEB_ONLINE');
      assert.deepEqual(Object.keys(event.data).sort(), [...transactionKeys, 'finalAmount', 'voucher'].sort());
      assert.equal(event.data.finalAmount, 1_250);
      assert.equal(event.data.voucher, null);
      assert.ok(notify.body.includes('"finalAmount":1250') && notify.body.includes('"voucher":null'), notify.body);

      const tx = (await dev.client.payment.transaction(transactionId)).item;
      assert.deepEqual(Object.keys(tx).sort(), transactionKeys, 'the API transaction keeps the spec\'s shape');
      assert.deepEqual(Object.keys((await dev.client.payment.transactionByOrderId(orderId)).item).sort(), transactionKeys);
      assert.deepEqual([tx.status, tx.balanceAmount, tx.order.amount, tx.method], ['SUCCESS', 1_250, 1_250, 'BOOST']);
      // Everything else in the notify is the API's transaction, field for field.
      assert.deepEqual(event.data, { ...tx, finalAmount: tx.order.amount, voucher: null });

      // The stored event is the body that went out (fixed at commit).
      const events = await server.running.storage.outbox.list({ merchantId: merchantId(), status: null, limit: 100, beforeId: null });
      const stored = events.filter((e) => e.subjectId === transactionId);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.body, notify.body);
      assert.equal(stored[0]!.eventType, 'PAYMENT_WEB_ONLINE');
      await assertLedgerClean();
    });
  });

  // ============================================================ magic 2005

  describe('magic suffix 2005', () => {
    test('QuickPay only: the wallet calls the code invalid (AUTH_CODE_INVALID, stored FAILED); the customer-scans wallet screen neither lists nor takes it', async () => {
      const quickPayOrder = nextOrderId('qp2005');
      const res = await dev.client.send('POST', '/v3/payment/quickpay', {
        body: { authCode: '134850717797002005', order: { id: quickPayOrder, title: 'title', detail: 'desc', amount: 100, currencyType: 'MYR' }, ipAddress: '8.8.8.8', storeId },
      });
      assertError(res, 400, 'AUTH_CODE_INVALID');
      const failed = await storedPayment(quickPayOrder);
      assert.deepEqual([failed.status, failed.errorCode, failed.errorMessage, failed.method], ['FAILED', 'AUTH_CODE_INVALID', 'Invalid Auth Code', 'WECHATPAY']);
      assert.deepEqual((await dev.client.payment.transactionByOrderId(quickPayOrder)).item.error, { code: 'AUTH_CODE_INVALID', message: 'Invalid Auth Code' });

      const orderId = nextOrderId('screen');
      const created = await createGoCheckout(orderId);
      assert.equal((await dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, type: 'URL', method: 'TNG_MY' } })).status, 200);
      const transactionId = (await storedPayment(orderId)).id;
      const screen = await (await fetch(`${server.url}/sandbox/wallet?order=${transactionId}`)).text();
      const offered = [...screen.matchAll(/<option value="([0-9]+)"/g)].map((m) => m[1]);
      assert.ok(offered.includes('2001') && offered.includes('2004'), 'the screen lists outcomes');
      for (const authCodeOnly of ['2002', '2003', '2005', '3002']) assert.ok(!offered.includes(authCodeOnly), `${authCodeOnly} is about auth codes`);
      const posted = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '2005' });
      assert.equal(posted.status, 400);
      assert.match(await posted.text(), /VALIDATION_ERROR/);
      assert.equal((await storedPayment(orderId)).status, 'IN_PROCESS', 'the payment is still the payer\'s to decide');
      await assertLedgerClean();
    });
  });
});
