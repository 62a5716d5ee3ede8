// Customer-scans flows over real HTTP without a browser: checkout → wallet → redirect, QR → wallet → result, notify delivery.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { verifyNotifyCallback } from '@tunai/client';
import { checkLedger } from '../src/app/check-ledger.js';
import { assertPageHeaders, postForm, waitFor } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, type Developer, type TestServer } from './harness.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  url: string;
}

async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body, url: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let serial = 0;
const orderId = (label: string) => `ck-${label}-${++serial}`;

forEachDialect('checkout and QR flows over HTTP', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let storeId: string;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server);
    receiver = await startReceiver();
    storeId = dev.merchant.store.id;
  });
  after(async () => {
    await receiver.close();
    await server.close();
  });

  test('checkout paid on the sandbox wallet: redirect SUCCESS, one signed notify, transaction SUCCESS', async () => {
    const id = orderId('pay');
    const created = await dev.client.payment.createCheckout({
      order: { id, title: 'Kopi', detail: '2 x kopi', additionalData: 'table 4', amount: 1250, currencyType: 'MYR' },
      method: [],
      type: 'WEB_PAYMENT',
      storeId,
      redirectUrl: 'https://shop.example/return?x=1',
      notifyUrl: `${receiver.url}/notify`,
      layoutVersion: 'v1',
    });
    assert.match(created.item.checkoutId, /^[0-9]{19}$/);
    assert.equal(created.item.url, `${server.url}/checkout?checkoutId=${created.item.checkoutId}`);
    const page = await fetch(created.item.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /RM 12\.50/);

    const pay = await postForm(`${server.url}/checkout/pay`, { checkoutId: created.item.checkoutId, method: 'TNG_MY' });
    assert.equal(pay.status, 303);
    const walletUrl = pay.headers.get('location') ?? '';
    assert.match(walletUrl, /\/sandbox\/wallet\?order=[0-9]{24}$/);
    const walletPage = await fetch(walletUrl);
    assert.equal(walletPage.status, 200);
    const transactionId = new URL(walletUrl).searchParams.get('order') ?? '';

    const confirm = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
    assert.equal(confirm.status, 303);
    assert.equal(confirm.headers.get('location'), `../../checkout?checkoutId=${created.item.checkoutId}`, 'relative to /sandbox/wallet/confirm');
    const back = await fetch(`${server.url}/checkout?checkoutId=${created.item.checkoutId}`, { redirect: 'manual' });
    assert.equal(back.status, 303);
    const landed = new URL(back.headers.get('location') ?? '');
    assert.equal(landed.origin + landed.pathname, 'https://shop.example/return');
    assert.equal(landed.searchParams.get('x'), '1');
    assert.equal(landed.searchParams.get('status'), 'SUCCESS');
    assert.equal(landed.searchParams.get('orderId'), id);

    await waitFor(() => receiver.received.some((r) => r.body.includes(transactionId)), 'the notify');
    const notifies = receiver.received.filter((r) => r.body.includes(transactionId));
    assert.equal(notifies.length, 1);
    const notify = notifies[0]!;
    assert.ok(verifyNotifyCallback({ rawBody: notify.body, headers: notify.headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }));
    const event = JSON.parse(notify.body) as { eventType: string; data: { transactionId: string; status: string; type: string; method: string; order: { id: string; amount: number } } };
    assert.equal(event.eventType, 'PAYMENT_WEB_ONLINE');
    assert.equal(event.data.transactionId, transactionId);
    assert.equal(event.data.status, 'SUCCESS');
    assert.equal(event.data.type, 'WEB_PAYMENT');
    assert.equal(event.data.method, 'TNG');
    assert.deepEqual([event.data.order.id, event.data.order.amount], [id, 1250]);

    const tx = await dev.client.payment.transaction(transactionId);
    assert.equal(tx.item.status, 'SUCCESS');
    assert.equal(tx.item.balanceAmount, 1250);
    const status = await dev.client.payment.checkout(created.item.checkoutId);
    assert.equal(status.item.status, 'SUCCESS');
    assert.equal(status.item.transactionId, transactionId);
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  });

  test('payer pages (checkout, wallet, unified QR, refusal) are not cacheable and cannot be framed by another site', async () => {
    const created = await dev.client.payment.createCheckout({
      order: { id: orderId('frame'), title: 'Kopi', detail: '', additionalData: '', amount: 500, currencyType: 'MYR' },
      method: ['TNG_MY'],
      type: 'WEB_PAYMENT',
      storeId,
      redirectUrl: 'https://shop.example/return',
      notifyUrl: `${receiver.url}/notify`,
    });
    const checkoutPage = await fetch(created.item.url);
    assert.equal(checkoutPage.status, 200);
    assertPageHeaders(checkoutPage, 'checkout page');
    const pay = await postForm(`${server.url}/checkout/pay`, { checkoutId: created.item.checkoutId, method: 'TNG_MY' });
    assert.equal(pay.status, 303);
    const walletPage = await fetch(new URL(pay.headers.get('location') ?? '', server.url));
    assert.equal(walletPage.status, 200);
    assertPageHeaders(walletPage, 'sandbox wallet page');
    const qr = await dev.client.payment.createQrCode(qrCodeInput(storeId, 'STATIC'));
    const unified = await fetch(qr.item.qrCodeUrl);
    assert.equal(unified.status, 200);
    assertPageHeaders(unified, 'unified QR page');
    const refused = await fetch(`${server.url}/checkout?checkoutId=0000000000000000000`);
    assert.equal(refused.status, 404);
    assertPageHeaders(refused, 'payer error page');
  });

  test('dynamic QR: paid once through the unified page, then REDEEMED and refused', async () => {
    const created = await dev.client.payment.createQrCode({
      amount: 300,
      currencyType: 'MYR',
      expiry: { type: 'PERMANENT' },
      isPreFillAmount: true,
      method: ['WECHATPAY_MY'],
      order: { title: 'Vending', detail: 'slot A1' },
      redirectUrl: 'https://shop.example/qr',
      storeId,
      type: 'DYNAMIC',
    });
    assert.equal(created.item.status, 'VALID');
    const code = created.item.code;
    assert.equal(created.item.qrCodeUrl, `${server.url}/payment/unified?code=${code}`);
    const page = await fetch(created.item.qrCodeUrl);
    assert.equal(page.status, 200);
    const pay = await postForm(`${server.url}/payment/unified/pay`, { code, method: 'WECHATPAY_MY' });
    assert.equal(pay.status, 303);
    const transactionId = new URL(pay.headers.get('location') ?? '').searchParams.get('order') ?? '';
    const confirm = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
    assert.equal(confirm.headers.get('location'), `../../payment/unified/result?transactionId=${transactionId}`, 'relative to /sandbox/wallet/confirm');
    const result = await fetch(new URL(confirm.headers.get('location') ?? '', `${server.url}/sandbox/wallet/confirm`), { redirect: 'manual' });
    assert.equal(result.status, 303);
    const landed = new URL(result.headers.get('location') ?? '');
    assert.equal(landed.searchParams.get('status'), 'SUCCESS');
    assert.equal(landed.searchParams.get('orderId'), transactionId);

    const qr = await dev.client.payment.qrCode(code);
    assert.equal(qr.item.status, 'REDEEMED');
    const txs = await dev.client.payment.qrCodeTransactions(code);
    assert.equal(txs.items.length, 1);
    assert.equal(txs.items[0]?.type, 'QR_PAY');
    assert.equal(txs.items[0]?.status, 'SUCCESS');
    const again = await postForm(`${server.url}/payment/unified/pay`, { code, method: 'WECHATPAY_MY' });
    assert.equal(again.status, 400);
    assert.match(await again.text(), /QR_REDEEMED/);
  });

  test('checkout left alone expires: EXPIRED redirect and no notify', async () => {
    const id = orderId('expire');
    const created = await dev.client.payment.createCheckout({
      order: { id, title: 'Teh', detail: '', additionalData: '', amount: 500, currencyType: 'MYR' },
      method: ['BOOST_MY'],
      type: 'WEB_PAYMENT',
      storeId,
      redirectUrl: 'https://shop.example/return',
      notifyUrl: `${receiver.url}/notify`,
    });
    const pay = await postForm(`${server.url}/checkout/pay`, { checkoutId: created.item.checkoutId, method: 'BOOST_MY' });
    const transactionId = new URL(pay.headers.get('location') ?? '').searchParams.get('order') ?? '';
    server.clock.advanceMs(601_000);
    await server.running.runClosedLoop();
    const tx = await dev.client.payment.transaction(transactionId);
    assert.deepEqual([tx.item.status, tx.item.error.code], ['FAILED', 'PAYMENT_TIMEOUT']);
    const back = await fetch(`${server.url}/checkout?checkoutId=${created.item.checkoutId}`, { redirect: 'manual' });
    const landed = new URL(back.headers.get('location') ?? '');
    assert.equal(landed.searchParams.get('status'), 'EXPIRED');
    assert.equal(receiver.received.filter((r) => r.body.includes(transactionId)).length, 0);
  });

  test('a QuickPay and a checkout racing for one order id: exactly one takes it, every time', async () => {
    const rounds = 12;
    const winners = { quickPay: 0, checkout: 0 };
    for (let round = 0; round < rounds; round++) {
      const id = orderId('race');
      const [paid, created] = await Promise.all([
        dev.client.send('POST', '/v3/payment/quickpay', {
          body: { authCode: `1348507177972${String(round).padStart(5, '0')}`, storeId, ipAddress: '127.0.0.1', order: { id, title: 'Roti', detail: '', additionalData: '', amount: 300, currencyType: 'MYR' } },
        }),
        dev.client.send('POST', '/v3/payment/online', {
          body: { order: { id, title: 'Roti', detail: '', additionalData: '', amount: 300, currencyType: 'MYR' }, method: [], type: 'WEB_PAYMENT', storeId, redirectUrl: 'https://shop.example/return', notifyUrl: `${receiver.url}/notify` },
        }),
      ]);
      const statuses = [paid.status, created.status].sort();
      assert.deepEqual(statuses, [200, 400], `round ${round}: ${paid.rawText} / ${created.rawText}`);
      const loser = paid.status === 200 ? created : paid;
      assert.equal((loser.body as { error: { code: string } }).error.code, 'ORDER_ID_DUPLICATE');
      if (paid.status === 200) winners.quickPay++;
      else winners.checkout++;
      // The database agrees: the order id names one payment or one checkout, never both.
      const payment = await server.running.storage.payments.getByOrderId(dev.merchant.merchant.id, id);
      const checkouts = await server.running.storage.checkout.checkouts.hasOrder(dev.merchant.merchant.id, id);
      assert.deepEqual([payment?.status ?? null, checkouts], paid.status === 200 ? ['SUCCESS', false] : [null, true], `round ${round}`);
    }
    assert.equal(winners.quickPay + winners.checkout, rounds);
  });

  test('a QuickPay cannot take the order id of an unpaid checkout', async () => {
    const id = orderId('shared');
    await dev.client.payment.createCheckout({
      order: { id, title: 'Roti', detail: '', additionalData: '', amount: 300, currencyType: 'MYR' },
      method: [],
      type: 'WEB_PAYMENT',
      storeId,
      redirectUrl: 'https://shop.example/return',
      notifyUrl: `${receiver.url}/notify`,
    });
    const before = (await dev.client.payment.transactions({ limit: 100 })).items.length;
    await assert.rejects(
      dev.client.payment.quickPay({ authCode: '134850717797249000', storeId, ipAddress: '127.0.0.1', order: { id, title: 'Roti', amount: 300, currencyType: 'MYR' } }),
      (error: { code?: string }) => error.code === 'ORDER_ID_DUPLICATE',
    );
    assert.equal((await dev.client.payment.transactions({ limit: 100 })).items.length, before);
  });
});
