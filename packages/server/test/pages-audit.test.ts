// Audit of the server-rendered pages (checkout, Transaction QR, sandbox wallet, consent): merchant text never runs
// as script, every page and refusal carries the page headers, actions need POST and do nothing once final, and no
// query or form input gives a 500.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { TunaiClient } from '@tunai/client';
import { createClientApp } from '../src/app/create-client-app.js';
import type { Database } from '../src/store/schema.js';
import { openDatabase } from '../src/store/database.js';
import { launchBrowser, newPhonePage } from './browser.js';
import { assertPageHeaders, postForm } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, rawRequest, startTestServer, storeInput, type Developer, type TestServer } from './harness.js';

const navigationTimeoutMs = 15_000;

/** Breaks out of text, attributes (both quotes), template literals and inline script; U+2028 ends a line in old JS. */
const payload = `"'><script>__pwned='s'</script><img src=x onerror="__pwned='i'">\`\${1}\u2028</title></script>`;
/** The same, within order.title's 32 characters. */
const shortPayload = `'"><svg onload=__pwned=1>\u2028`;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

/** Opens `url` on a phone and checks that nothing injected ran: no global set, no dialog opened. */
async function openAndCheckNoScript(url: string, what: string, check: (page: Page) => Promise<void>): Promise<void> {
  const page = await newPhonePage(browser);
  page.setDefaultTimeout(navigationTimeoutMs);
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  // The page's own stylesheet, poll script and QR image are allowed by the Content-Security-Policy: no refusals.
  const policyRefusals: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy')) policyRefusals.push(message.text());
  });
  try {
    const response = await page.goto(url);
    assert.equal(response?.status(), 200, `${what}: the page opens`);
    await check(page);
    // An onerror handler fires once the broken image failed to load; give it the time to.
    await page.waitForLoadState('load');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined, `${what}: no injected script ran`);
    assert.deepEqual(dialogs, [], `${what}: no dialog opened`);
    assert.ok((await page.locator('script').count()) <= 1, `${what}: no script element but the page's own poll script`);
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(244, 245, 247)', `${what}: the stylesheet applies`);
    for (const loaded of await page.locator('img.qr').evaluateAll((images) => images.map((i) => (i as HTMLImageElement).naturalWidth > 0))) {
      assert.ok(loaded, `${what}: the QR image is drawn`);
    }
    assert.deepEqual(policyRefusals, [], `${what}: the Content-Security-Policy refused nothing of the page's own`);
  } finally {
    await page.context().close();
  }
}

forEachDialect('payer and consent pages (audit)', (dialect) => {
  let server: TestServer;
  let db: Kysely<Database>;
  let dev: Developer;
  let storeId: string;
  let serial = 0;
  const orderId = (label: string) => `pa-${label}-${++serial}`;

  before(async () => {
    server = await startTestServer(dialect);
    db = openDatabase(server.database.target).db;
    dev = await createDeveloper(server, { companyName: payload, redirectUris: ['http://127.0.0.1:9/callback'] });
    storeId = (await dev.client.stores.create({ ...storeInput(payload), addressLine1: payload })).item.id;
  });
  after(async () => {
    await db?.destroy();
    await server?.close();
  });

  async function createCheckout(label: string, redirectUrl = 'https://shop.example/return?keep=1') {
    const id = orderId(label);
    const created = await dev.client.payment.createCheckout({
      order: { id, title: shortPayload, detail: payload, additionalData: payload, amount: 1250, currencyType: 'MYR' },
      method: [],
      type: 'WEB_PAYMENT',
      storeId,
      redirectUrl,
      notifyUrl: 'https://shop.example/notify',
    });
    return { orderId: id, checkoutId: created.item.checkoutId, url: created.item.url };
  }

  /** Chooses TNG on the checkout page by form post; answers the wallet screen's URL. */
  async function startTng(checkoutId: string): Promise<URL> {
    const chosen = await postForm(`${server.url}/checkout/pay`, { checkoutId, method: 'TNG_MY' });
    assert.equal(chosen.status, 303, 'choosing a wallet redirects to it');
    return new URL(chosen.headers.get('location') as string);
  }

  test('the checkout page survives a wallet order that has no payUrl (wallet did not answer): no 500, the payer can cancel', async () => {
    const checkout = await createCheckout('no-pay-url');
    const wallet = await startTng(checkout.checkoutId);
    const transactionId = wallet.searchParams.get('order') as string;
    // The state a crash (or an unanswered wallet) leaves between linking the checkout and recording the wallet's URL.
    await db.updateTable('payment_transactions').set({ pay_url: null }).where('id', '=', transactionId).execute();

    const shown = await fetch(checkout.url, { redirect: 'manual' });
    assert.equal(shown.status, 200, 'the checkout page renders instead of failing');
    assertPageHeaders(shown, 'checkout page without payUrl');
    const html = await shown.text();
    assert.ok(html.includes('id="opening"'), 'the page says the wallet has not opened the payment yet');
    assert.ok(!html.includes('id="open-wallet"'), 'no link to an empty wallet URL');
    assert.ok(html.includes('id="cancel"'), 'the payer can still cancel');

    const cancelled = await postForm(`${server.url}/checkout/cancel`, { checkoutId: checkout.checkoutId });
    assert.equal(cancelled.status, 303, 'cancel redirects back to the checkout');
    assert.equal((await dev.client.payment.checkout(checkout.checkoutId)).item.status, 'CANCELLED');
  });

  test('merchant text on the checkout, wallet and result pages is shown as text and never runs (chromium)', async () => {
    const checkout = await createCheckout('xss');
    await openAndCheckNoScript(checkout.url, 'checkout page', async (page) => {
      assert.ok((await page.locator('#order-title').innerText()).includes(`'"><svg onload=__pwned=1>`), 'the title is shown literally');
      assert.ok((await page.locator('main').innerText()).includes("<script>__pwned='s'</script>"), 'the store name is shown literally');
      assert.equal(await page.title(), 'Checkout', 'merchant text stays out of <title>');
    });
    const wallet = await startTng(checkout.checkoutId);
    await openAndCheckNoScript(checkout.url, 'checkout page waiting for the wallet', async (page) => {
      assert.ok(await page.locator('#open-wallet').isVisible(), 'the wallet link is shown');
    });
    await openAndCheckNoScript(wallet.href, 'sandbox wallet page', async (page) => {
      assert.ok(await page.locator('#pay').isVisible(), 'Pay is on screen');
    });

    const open = await dev.client.payment.createQrCode({ ...qrCodeInput(storeId, 'STATIC'), isPreFillAmount: false, amount: 0, redirectUrl: '', order: { title: shortPayload, detail: payload } });
    await openAndCheckNoScript(open.item.qrCodeUrl, 'unified QR page (payer keys the amount)', async (page) => {
      assert.ok(await page.locator('#amount-input').isVisible(), 'the amount field is shown');
    });
    const paid = await postForm(`${server.url}/payment/unified/pay`, { code: open.item.code, method: 'TNG_MY', amount: '3.20' });
    const qrWallet = new URL(paid.headers.get('location') as string);
    const transactionId = qrWallet.searchParams.get('order') as string;
    await openAndCheckNoScript(`${server.url}/payment/unified/result?transactionId=${transactionId}`, 'QR result page while waiting', async (page) => {
      assert.ok(await page.locator('#waiting').isVisible(), 'the waiting text is shown');
    });
    const failed = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '2001' });
    assert.equal(failed.status, 303, 'the wallet answer redirects');
    await openAndCheckNoScript(`${server.url}/payment/unified/result?transactionId=${transactionId}`, 'QR result page (no redirectUrl)', async (page) => {
      assert.equal(await page.locator('#result').getAttribute('data-status'), 'FAILED', 'the result is FAILED');
    });
  });

  test('the consent page shows a hostile app and merchant name as text (chromium)', async () => {
    const { app, clientSecret } = await createClientApp(server.running.deps, {
      merchantId: dev.merchant.merchant.id,
      name: payload,
      publicKeyPem: null,
      redirectUris: ['http://127.0.0.1:9/callback'],
    });
    const client = new TunaiClient({ clientId: app.clientId, clientSecret, oauthBaseUrl: server.url, openApiBaseUrl: server.url });
    const url = client.oauth.authorizeUrl({ redirectUri: 'http://127.0.0.1:9/callback', scopes: ['get_merchant_profile'], state: 'audit' });
    await openAndCheckNoScript(url, 'consent page', async (page) => {
      assert.ok((await page.locator('h1').innerText()).includes("<script>__pwned='s'</script>"), 'the app name is shown literally');
      assert.equal(await page.title(), 'Authorize application', 'merchant text stays out of <title>');
    });
  });

  test('redirects go only to the URL the merchant registered: script and data URLs are refused at creation', async () => {
    for (const redirectUrl of ['javascript:alert(1)//https://shop.example', 'data:text/html,<script>alert(1)</script>', '//evil.example/return', 'https://user:pw@shop.example/']) {
      await assert.rejects(createCheckout('bad-redirect', redirectUrl), /VALIDATION_ERROR/, `checkout redirectUrl ${redirectUrl} is refused`);
      await assert.rejects(
        dev.client.payment.createQrCode({ ...qrCodeInput(storeId), redirectUrl }),
        /VALIDATION_ERROR/,
        `QR redirectUrl ${redirectUrl} is refused`,
      );
    }
    // The wallet link is built from the configured public URL, never from the request's Host or X-Forwarded-* headers.
    const hosted = await createCheckout('host-header');
    const spoofed = await rawRequest(
      server.url,
      'POST',
      '/checkout/pay',
      { 'content-type': 'application/x-www-form-urlencoded', host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      `checkoutId=${hosted.checkoutId}&method=TNG_MY`,
    );
    assert.equal(spoofed.status, 303, 'choosing a wallet redirects');
    assert.equal(new URL(spoofed.headers.location as string).origin, new URL(server.url).origin, 'a spoofed Host does not move the wallet link');

    const checkout = await createCheckout('cancel-redirect');
    const cancelled = await postForm(`${server.url}/checkout/cancel`, { checkoutId: checkout.checkoutId });
    assert.equal(cancelled.headers.get('location'), `../checkout?checkoutId=${checkout.checkoutId}`, 'cancel goes back to the same checkout');
    const final = await fetch(checkout.url, { redirect: 'manual' });
    assert.equal(final.status, 303);
    const landed = new URL(final.headers.get('location') as string);
    assert.equal(`${landed.origin}${landed.pathname}`, 'https://shop.example/return', 'the browser is sent to the registered URL');
    assert.deepEqual(Object.fromEntries(landed.searchParams), { keep: '1', status: 'CANCELLED', orderId: checkout.orderId });
  });

  test('actions are POST only, and once a checkout is paid no action changes it', async () => {
    const checkout = await createCheckout('final');
    for (const path of ['/checkout/pay', '/checkout/cancel', '/payment/unified/pay', '/sandbox/wallet/confirm', '/sandbox/wallet/cancel']) {
      const byGet = await fetch(`${server.url}${path}?checkoutId=${checkout.checkoutId}&method=TNG_MY`, { redirect: 'manual' });
      assert.equal(byGet.status, 405, `GET ${path} is not an action`);
    }
    assert.equal((await dev.client.payment.checkout(checkout.checkoutId)).item.status, 'IN_PROCESS', 'no GET started or cancelled anything');

    const wallet = await startTng(checkout.checkoutId);
    const order = wallet.searchParams.get('order') as string;
    assert.equal((await postForm(`${server.url}/sandbox/wallet/confirm`, { order, outcome: '0000' })).status, 303, 'the payer pays');
    assert.equal((await dev.client.payment.checkout(checkout.checkoutId)).item.status, 'SUCCESS');

    assert.equal((await postForm(`${server.url}/sandbox/wallet/confirm`, { order, outcome: '2001' })).status, 303, 'a replayed confirm changes nothing');
    assert.equal((await postForm(`${server.url}/sandbox/wallet/cancel`, { order })).status, 303, 'a late wallet cancel changes nothing');
    assert.equal((await postForm(`${server.url}/checkout/cancel`, { checkoutId: checkout.checkoutId })).status, 303, 'a late checkout cancel changes nothing');
    const payAgain = await postForm(`${server.url}/checkout/pay`, { checkoutId: checkout.checkoutId, method: 'BOOST_MY' });
    assert.equal(payAgain.status, 400, 'paying a paid checkout is refused');
    assertPageHeaders(payAgain, 'refusal page');
    assert.ok((await payAgain.text()).includes('ORDER_PAID'), 'the refusal says the order is paid');
    const final = await dev.client.payment.checkout(checkout.checkoutId);
    assert.equal(final.item.status, 'SUCCESS', 'the checkout stays SUCCESS');
    assert.equal((await dev.client.payment.transaction(order)).item.status, 'SUCCESS', 'the payment stays SUCCESS');
  });

  test('an over-long checkout id is quoted at most 64 characters long on the page; the API refuses it by its length', async () => {
    const longId = '9'.repeat(4_000);
    const page = await fetch(`${server.url}/checkout?checkoutId=${longId}`);
    const html = await page.text();
    assert.ok(page.status >= 400 && page.status < 500, `a 4xx page (got ${page.status})`);
    assert.ok(html.includes('9'.repeat(64)) && !html.includes('9'.repeat(65)), 'the page quotes the first 64 characters only');
    const api = await dev.client.send('GET', `/v3/payment/online?checkoutId=${longId}`);
    const message = String((api.body as { error?: { message?: string } }).error?.message);
    assert.equal((api.body as { error?: { code?: string } }).error?.code, 'VALIDATION_ERROR', 'the API refuses an id over its length limit before looking');
    assert.ok(message.length < 120, `the API message stays short (${message.length} characters)`);
  });

  test('JSON refusals at page and API URLs are never cached, sniffed, framed or run as a document', async () => {
    const refusals: Array<[string, Promise<Response>]> = [
      ['405 GET /checkout/pay', fetch(`${server.url}/checkout/pay?checkoutId=1`)],
      ['415 form post as JSON', fetch(`${server.url}/checkout/pay`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })],
      ['413 body over the limit', fetch(`${server.url}/checkout/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `"${'a'.repeat(1_100_000)}"` })],
      ['404 unknown route', fetch(`${server.url}/nowhere`)],
      ['401 /v3 without a token', fetch(`${server.url}/v3/merchant`)],
    ];
    for (const [what, pending] of refusals) {
      const response = await pending;
      assert.ok(response.status >= 400 && response.status < 500, `${what}: a 4xx (got ${response.status})`);
      assert.equal(response.headers.get('cache-control'), 'no-store', `${what}: never cached`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', `${what}: never sniffed`);
      assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", `${what}: never framed or run`);
      await response.arrayBuffer();
    }
    const ok = await fetch(`${server.url}/health/live`);
    assert.equal(ok.headers.get('content-security-policy'), null, 'answers that succeed carry no refusal headers (the hot path stays as it was)');
  });

  test('no query or form input gives a 500; every HTML answer carries the page headers', async () => {
    const checkout = await createCheckout('fuzz');
    const qr = await dev.client.payment.createQrCode(qrCodeInput(storeId));
    const values = ['', 'abc', '-1', '0', '1e3', '9'.repeat(32), '9'.repeat(33), checkout.checkoutId, `${checkout.checkoutId} `, qr.item.code, qr.item.code.toUpperCase(), '%ZZ', '<svg>', '\u2028', 'x'.repeat(4000)];
    const gets: [string, string][] = [
      ['/checkout', 'checkoutId'],
      ['/payment/unified', 'code'],
      ['/payment/unified/result', 'transactionId'],
      ['/sandbox/wallet', 'order'],
      ['/authorize', 'clientId'],
    ];
    for (const [path, name] of gets) {
      for (const value of values) {
        const target = `${server.url}${path}?${name}=${encodeURIComponent(value)}&${name}[]=x`;
        const response = await fetch(target, { redirect: 'manual' });
        assert.ok(response.status < 500, `GET ${path} ${name}=${JSON.stringify(value.slice(0, 40))}: ${response.status}`);
        if (response.headers.get('content-type')?.startsWith('text/html')) assertPageHeaders(response, `GET ${path}`);
      }
    }
    const posts: [string, string[]][] = [
      ['/checkout/pay', ['checkoutId', 'method', 'bankCode']],
      ['/checkout/cancel', ['checkoutId']],
      ['/payment/unified/pay', ['code', 'method', 'amount']],
      ['/sandbox/wallet/confirm', ['order', 'outcome']],
      ['/sandbox/wallet/cancel', ['order']],
      ['/authorize', ['ticket', 'decision']],
    ];
    for (const [path, names] of posts) {
      for (const value of values) {
        const fields = Object.fromEntries(names.map((name) => [name, value]));
        const response = await postForm(`${server.url}${path}`, fields);
        assert.ok(response.status < 500, `POST ${path} ${JSON.stringify(value.slice(0, 40))}: ${response.status}`);
        if (response.headers.get('content-type')?.startsWith('text/html')) assertPageHeaders(response, `POST ${path}`);
      }
    }
  });
});
