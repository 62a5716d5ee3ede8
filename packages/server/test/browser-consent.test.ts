// The OAuth consent page in a real browser: chromium on a phone viewport approves, lands on the app's redirect URI, and the code buys a token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPhonePage } from './browser.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

const navigationTimeoutMs = 15_000;

/** The partner app's callback: answers 200 'ok' and remembers the callback request targets it saw. */
interface Receiver {
  callbackUrl: string;
  /** Only /callback requests: chromium also asks for /favicon.ico, at a moment of its choosing. */
  seenTargets: string[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const seenTargets: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/callback')) seenTargets.push(req.url);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    callbackUrl: `http://127.0.0.1:${port}/callback`,
    seenTargets,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(() => browser?.close());

forEachDialect('consent page in chromium', (dialect) => {
  let server: TestServer;
  let receiver: Receiver;
  let dev: Developer;
  before(async () => {
    receiver = await startReceiver();
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Kedai Browser', redirectUris: [receiver.callbackUrl] });
  });
  after(async () => {
    await server?.close();
    await receiver?.close();
  });

  test('Approve on a phone → browser lands on the redirect URI with code and state; the code buys a token', async () => {
    const state = 'phone-42';
    const page = await newPhonePage(browser);
    page.setDefaultTimeout(navigationTimeoutMs);
    try {
      const consent = await page.goto(dev.client.oauth.authorizeUrl({ redirectUri: receiver.callbackUrl, scopes: ['get_merchant_profile'], state }));
      assert.equal(consent?.status(), 200);
      assert.match(await page.locator('#scopes').innerText(), /get_merchant_profile/);
      assert.ok(await page.locator('#approve').isVisible(), 'Approve is on screen at phone size');

      await Promise.all([page.waitForURL((url) => url.href.startsWith(`${receiver.callbackUrl}?`)), page.click('#approve')]);
      assert.equal(await page.locator('body').innerText(), 'ok');

      const landed = new URL(page.url());
      assert.deepEqual([...landed.searchParams.keys()].sort(), ['code', 'state']);
      assert.equal(landed.searchParams.get('state'), state);
      const code = landed.searchParams.get('code') as string;
      assert.ok(code.length >= 32, code);
      assert.deepEqual(receiver.seenTargets, [`${landed.pathname}${landed.search}`], 'the receiver saw exactly that callback');

      const token = await dev.client.oauth.authorizationCode(code, receiver.callbackUrl);
      assert.equal(token.tokenType, 'Bearer');
      const merchant = await dev.client.send('GET', '/v3/merchant', { accessToken: token.accessToken });
      assert.equal(merchant.status, 200);
    } finally {
      await page.context().close();
    }
  });
});
