// The hosted checkout and Transaction QR pages in a real browser: chromium on a phone picks a wallet, answers on the
// sandbox wallet screen, and lands on the merchant's redirectUrl; the merchant hears exactly one signed notify on success.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { verifyNotifyCallback } from '@tunai/client';
import { launchBrowser, newPhonePage } from './browser.js';
import { waitFor } from './api-checks.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

const navigationTimeoutMs = 15_000;
/** The notify leaves right after the commit; this only bounds a broken delivery. */
const notifyTimeoutMs = 10_000;
/** Past the default checkout window (600 s). */
const pastCheckoutEndMs = 601_000;

interface Recorded {
  method: string;
  /** Request target: path and query. */
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The merchant's site: its return page answers 200 'landed' to GET, its notify endpoint 200 'ok' to POST; all recorded. */
interface Receiver {
  returnUrl: string;
  notifyUrl: string;
  requests: Recorded[];
  /** Browser visits to the return page (favicon requests are chromium's own and are left out). */
  landings(): Recorded[];
  notifies(): Recorded[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const target = req.url ?? '';
      if (!target.startsWith('/favicon.ico')) requests.push({ method: req.method ?? '', target, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'POST' ? 'ok' : 'landed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    returnUrl: `${base}/return`,
    notifyUrl: `${base}/notify`,
    requests,
    landings: () => requests.filter((r) => r.method === 'GET' && r.target.startsWith('/return')),
    notifies: () => requests.filter((r) => r.method === 'POST' && r.target.startsWith('/notify')),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fresh phone context per test, closed whatever happens. */
async function onPhone(browser: Browser, run: (page: Page) => Promise<void>): Promise<void> {
  const page = await newPhonePage(browser);
  page.setDefaultTimeout(navigationTimeoutMs);
  try {
    await run(page);
  } finally {
    await page.context().close();
  }
}

/** Clicks and waits until the browser is at a URL matching `where` (the click usually starts a form post and 303s). */
async function clickAndLand(page: Page, selector: string, where: (url: URL) => boolean): Promise<URL> {
  await Promise.all([page.waitForURL(where), page.click(selector)]);
  return new URL(page.url());
}

const atReturn = (receiver: Receiver) => (url: URL) => url.href.startsWith(`${receiver.returnUrl}?`);
const atWallet = (url: URL) => url.pathname === '/sandbox/wallet';

/** On the sandbox wallet screen: the transaction id is the `order` the page was opened with. */
function walletTransactionId(page: Page): string {
  const url = new URL(page.url());
  assert.equal(url.pathname, '/sandbox/wallet');
  const id = url.searchParams.get('order') ?? '';
  assert.match(id, /^[0-9]{1,32}$/);
  return id;
}

function params(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams.entries());
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

let serial = 0;
const newOrderId = (label: string) => `bc-${label}-${++serial}`;

forEachDialect('checkout and QR pages in chromium', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let storeId: string;
  let receiver: Receiver;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Kedai Kopi Browser' });
    storeId = dev.merchant.store.id;
  });
  after(() => server?.close());

  // A fresh merchant site per test, so "no notify" and "one landing" mean exactly this test's checkout.
  let receivers: Receiver[] = [];
  const freshReceiver = async (): Promise<Receiver> => {
    receiver = await startReceiver();
    receivers.push(receiver);
    return receiver;
  };
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });

  async function createWebCheckout(label: string, amount: number, method: string[] = []) {
    const orderId = newOrderId(label);
    const created = await dev.client.payment.createCheckout({
      order: { id: orderId, title: `Kopi ${label}`, detail: '2 x kopi', additionalData: 'table 4', amount, currencyType: 'MYR' },
      method,
      type: 'WEB_PAYMENT',
      storeId,
      redirectUrl: receiver.returnUrl,
      notifyUrl: receiver.notifyUrl,
    });
    return { orderId, checkoutId: created.item.checkoutId, url: created.item.url };
  }

  /** Any notify due is delivered by the end of a sweep; then the receiver's count is final. */
  async function settleOutbox(): Promise<void> {
    await server.running.runOutbox();
  }

  test('checkout paid on the wallet: lands on redirectUrl SUCCESS; exactly one signed PAYMENT_WEB_ONLINE notify', async () => {
    await freshReceiver();
    const checkout = await createWebCheckout('paid', 1250);
    await onPhone(browser, async (page) => {
      const opened = await page.goto(checkout.url);
      assert.equal(opened?.status(), 200);
      assert.equal(await page.locator('#amount').innerText(), 'RM 12.50');
      assert.equal(await page.locator('#order-title').innerText(), 'Kopi paid');
      assert.ok(await page.locator('#method-TNG_MY').isVisible(), 'the TNG button is on screen at phone size');
      assert.ok(await page.locator('#method-FPX_MY').isVisible(), 'an empty method list offers every WEB_PAYMENT method');

      await clickAndLand(page, '#method-TNG_MY', atWallet);
      const transactionId = walletTransactionId(page);
      assert.equal(await page.locator('#amount').innerText(), 'RM 12.50');
      assert.equal(await page.locator('#outcome').inputValue(), '0000', 'the wallet screen defaults to paying');
      const landed = await clickAndLand(page, '#pay', atReturn(receiver));

      assert.deepEqual(params(landed), { status: 'SUCCESS', orderId: checkout.orderId });
      assert.equal(await page.locator('body').innerText(), 'landed');
      assert.equal(receiver.landings().length, 1, 'the browser landed once');

      await waitFor(() => receiver.notifies().length > 0, 'the notify', notifyTimeoutMs);
      const forTx = () => receiver.notifies().filter((n) => n.body.includes(transactionId));
      assert.equal(forTx().length, 1);
      const notify = forTx()[0] as Recorded;
      assert.ok(verifyNotifyCallback({ rawBody: notify.body, headers: notify.headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }), 'the notify signature verifies');
      assert.equal(
        verifyNotifyCallback({ rawBody: notify.body.replace('SUCCESS', 'FAILED'), headers: notify.headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }),
        false,
        'a tampered notify does not verify',
      );
      const event = JSON.parse(notify.body) as { eventType: string; data: { transactionId: string; status: string; order: { id: string; amount: number } } };
      assert.equal(event.eventType, 'PAYMENT_WEB_ONLINE');
      assert.equal(event.data.status, 'SUCCESS');
      assert.equal(event.data.transactionId, transactionId);
      assert.deepEqual([event.data.order.id, event.data.order.amount], [checkout.orderId, 1250]);

      const tx = await dev.client.payment.transaction(transactionId);
      assert.equal(tx.item.status, 'SUCCESS');
      assert.equal(tx.item.method, 'TNG');
      assert.equal(tx.item.balanceAmount, 1250);
      const final = await dev.client.payment.checkout(checkout.checkoutId);
      assert.equal(final.item.status, 'SUCCESS');
      assert.equal(final.item.transactionId, transactionId);

      // Another sweep with nothing new must not send it again.
      await settleOutbox();
      assert.equal(forTx().length, 1, 'still exactly one notify after another outbox sweep');
      assert.equal(receiver.notifies().length, 1);

      // The paid checkout's URL now only sends the payer back to the merchant.
      await page.goto(checkout.url);
      assert.deepEqual(params(new URL(page.url())), { status: 'SUCCESS', orderId: checkout.orderId });
    });
  });

  test('dynamic QR: the unified page pays once, lands SUCCESS with the transaction id, then shows QR_REDEEMED', async () => {
    await freshReceiver();
    const created = await dev.client.payment.createQrCode({
      amount: 300,
      currencyType: 'MYR',
      expiry: { type: 'PERMANENT' },
      isPreFillAmount: true,
      method: ['WECHATPAY_MY', 'BOOST'],
      order: { title: 'Vending A1', detail: 'slot A1' },
      redirectUrl: receiver.returnUrl,
      storeId,
      type: 'DYNAMIC',
    });
    const code = created.item.code;
    await onPhone(browser, async (page) => {
      const opened = await page.goto(created.item.qrCodeUrl);
      assert.equal(opened?.status(), 200);
      assert.equal(await page.locator('#amount').innerText(), 'RM 3.00');
      assert.deepEqual(await page.locator('#methods button').evaluateAll((buttons) => buttons.map((b) => b.id)), ['method-WECHATPAY_MY', 'method-BOOST_MY']);

      await clickAndLand(page, '#method-BOOST_MY', atWallet);
      const transactionId = walletTransactionId(page);
      const landed = await clickAndLand(page, '#pay', atReturn(receiver));
      assert.deepEqual(params(landed), { status: 'SUCCESS', orderId: transactionId });

      const qr = await dev.client.payment.qrCode(code);
      assert.equal(qr.item.status, 'REDEEMED');
      const tx = await dev.client.payment.transaction(transactionId);
      assert.equal(tx.item.status, 'SUCCESS');
      assert.equal(tx.item.balanceAmount, 300);

      const again = await page.goto(created.item.qrCodeUrl);
      assert.equal(again?.status(), 400);
      assert.equal(await page.locator('#error-code').innerText(), 'QR_REDEEMED');
      assert.equal(await page.locator('#methods').count(), 0, 'no wallet to pick on a redeemed QR');
    });
    await settleOutbox();
    assert.equal(receiver.notifies().length, 0, 'a QR without notifyUrl notifies nobody here');
  });

  test('static QR without amount or redirectUrl: payer types 12.50, pays, sees the result page; the QR stays VALID', async () => {
    const created = await dev.client.payment.createQrCode({
      currencyType: 'MYR',
      expiry: { type: 'PERMANENT' },
      isPreFillAmount: false,
      method: ['GRABPAY'],
      order: { title: 'Counter', detail: 'pay any amount' },
      storeId,
      type: 'STATIC',
    });
    await onPhone(browser, async (page) => {
      const opened = await page.goto(created.item.qrCodeUrl);
      assert.equal(opened?.status(), 200);
      assert.equal(await page.locator('#amount').count(), 0, 'no prefilled amount is shown');
      await page.fill('#amount-input', '12.50');
      await clickAndLand(page, '#method-GRABPAY_MY', atWallet);
      const transactionId = walletTransactionId(page);
      assert.equal(await page.locator('#amount').innerText(), 'RM 12.50');

      await clickAndLand(page, '#pay', (url) => url.pathname === '/payment/unified/result');
      assert.equal(new URL(page.url()).searchParams.get('transactionId'), transactionId);
      assert.equal(await page.locator('#result').getAttribute('data-status'), 'SUCCESS');
      assert.equal(await page.locator('#amount').innerText(), 'RM 12.50');

      const tx = await dev.client.payment.transaction(transactionId);
      assert.equal(tx.item.status, 'SUCCESS');
      assert.equal(tx.item.method, 'GRABPAY');
      assert.equal(tx.item.order.amount, 1250);
      assert.equal(tx.item.balanceAmount, 1250);
      const qr = await dev.client.payment.qrCode(created.item.code);
      assert.equal(qr.item.status, 'VALID', 'a static QR can be paid again');
      const again = await page.goto(created.item.qrCodeUrl);
      assert.equal(again?.status(), 200);
      assert.ok(await page.locator('#amount-input').isVisible());
    });
  });

  test('cancel on the wallet screen: lands CANCELLED; checkout CANCELLED, transaction FAILED ORDER_CANCELLED, no notify', async () => {
    await freshReceiver();
    const checkout = await createWebCheckout('wallet-cancel', 800, ['TNG_MY', 'BOOST_MY']);
    await onPhone(browser, async (page) => {
      await page.goto(checkout.url);
      assert.deepEqual(await page.locator('#methods button').evaluateAll((buttons) => buttons.map((b) => b.id)), ['method-TNG_MY', 'method-BOOST_MY']);
      await clickAndLand(page, '#method-BOOST_MY', atWallet);
      const transactionId = walletTransactionId(page);
      const landed = await clickAndLand(page, '#cancel', atReturn(receiver));
      assert.equal(landed.searchParams.get('status'), 'CANCELLED');
      assert.equal(landed.searchParams.get('orderId'), checkout.orderId);

      const status = await dev.client.payment.checkout(checkout.checkoutId);
      assert.equal(status.item.status, 'CANCELLED');
      assert.equal(status.item.transactionId, transactionId);
      const tx = await dev.client.payment.transaction(transactionId);
      assert.equal(tx.item.status, 'FAILED');
      assert.equal(tx.item.error.code, 'ORDER_CANCELLED');

      // The wallet screen no longer takes a decision for it.
      await page.goto(`${server.url}/sandbox/wallet?order=${transactionId}`);
      assert.equal(await page.locator('#pay').count(), 0);
      assert.match(await page.locator('#closed').innerText(), /FAILED/);
    });
    await settleOutbox();
    assert.equal(receiver.notifies().length, 0, 'no notify for a cancelled checkout');
  });

  test('cancel on the checkout page before choosing a wallet: lands CANCELLED, no transaction, no notify', async () => {
    await freshReceiver();
    const checkout = await createWebCheckout('page-cancel', 900);
    await onPhone(browser, async (page) => {
      await page.goto(checkout.url);
      assert.ok(await page.locator('#cancel').isVisible(), 'Cancel is on screen at phone size');
      const landed = await clickAndLand(page, '#cancel', atReturn(receiver));
      assert.deepEqual(params(landed), { status: 'CANCELLED', orderId: checkout.orderId });
    });
    const status = await dev.client.payment.checkout(checkout.checkoutId);
    assert.equal(status.item.status, 'CANCELLED');
    assert.equal(status.item.transactionId, '');
    await settleOutbox();
    assert.equal(receiver.notifies().length, 0);
  });

  test('payer walks away on the wallet: at endAt the waiting checkout page moves itself to EXPIRED; transaction FAILED (PAYMENT_TIMEOUT)', async () => {
    await freshReceiver();
    const checkout = await createWebCheckout('walk-away', 650, ['WECHATPAY_MY']);
    await onPhone(browser, async (page) => {
      await page.goto(checkout.url);
      await clickAndLand(page, '#method-WECHATPAY_MY', atWallet);
      const transactionId = walletTransactionId(page);
      const walletUrl = page.url();

      // Back on the checkout page the payer waits; its own poll must take it to the merchant once the payment ends.
      const waiting = await page.goto(checkout.url);
      assert.equal(waiting?.status(), 200);
      assert.ok(await page.locator('#waiting').isVisible());
      assert.equal(await page.locator('#open-wallet').getAttribute('href'), walletUrl);
      assert.equal(await page.locator('#methods button').count(), 0, 'no second wallet while one is open');

      server.clock.advanceMs(pastCheckoutEndMs);
      await server.running.runClosedLoop();
      await page.waitForURL(atReturn(receiver));
      const landed = new URL(page.url());
      assert.equal(landed.searchParams.get('status'), 'EXPIRED');
      assert.equal(landed.searchParams.get('orderId'), checkout.orderId);

      const tx = await dev.client.payment.transaction(transactionId);
      assert.equal(tx.item.status, 'FAILED', 'nothing was charged: the payer never confirmed');
      assert.equal(tx.item.error.code, 'PAYMENT_TIMEOUT');
      const status = await dev.client.payment.checkout(checkout.checkoutId);
      assert.equal(status.item.status, 'EXPIRED');

      // A late "Pay" on the wallet screen cannot revive it.
      await page.goto(walletUrl);
      assert.equal(await page.locator('#pay').count(), 0);
    });
    await settleOutbox();
    assert.equal(receiver.notifies().length, 0, 'no notify for an expired checkout');
  });

  test('a checkout never opened: past endAt its URL redirects with status=EXPIRED', async () => {
    await freshReceiver();
    const checkout = await createWebCheckout('never-opened', 700);
    server.clock.advanceMs(pastCheckoutEndMs);
    await onPhone(browser, async (page) => {
      await page.goto(checkout.url);
      assert.ok(atReturn(receiver)(new URL(page.url())), page.url());
      assert.deepEqual(params(new URL(page.url())), { status: 'EXPIRED', orderId: checkout.orderId });
    });
    const status = await dev.client.payment.checkout(checkout.checkoutId);
    assert.equal(status.item.status, 'EXPIRED');
    assert.equal(status.item.transactionId, '');
    await settleOutbox();
    assert.equal(receiver.notifies().length, 0);
  });

  test('insufficient balance on the wallet (2001): lands FAILED with a reason; transaction FAILED INSUFFICIENT_CARD_BALANCE', async () => {
    await freshReceiver();
    const checkout = await createWebCheckout('no-balance', 4200);
    await onPhone(browser, async (page) => {
      await page.goto(checkout.url);
      await clickAndLand(page, '#method-SHOPEEPAY_MY', atWallet);
      const transactionId = walletTransactionId(page);
      await page.selectOption('#outcome', '2001');
      const landed = await clickAndLand(page, '#pay', atReturn(receiver));
      assert.equal(landed.searchParams.get('status'), 'FAILED');
      assert.equal(landed.searchParams.get('orderId'), checkout.orderId);
      assert.match(landed.searchParams.get('reason') ?? '', /balance/i);

      const tx = await dev.client.payment.transaction(transactionId);
      assert.equal(tx.item.status, 'FAILED');
      assert.equal(tx.item.error.code, 'INSUFFICIENT_CARD_BALANCE');
      const status = await dev.client.payment.checkout(checkout.checkoutId);
      assert.equal(status.item.status, 'FAILED');
    });
    await settleOutbox();
    assert.equal(receiver.notifies().length, 0, 'notify only on SUCCESS');
  });
});
