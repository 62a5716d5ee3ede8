// tunai served under a path by a reverse proxy (TUNAI_PUBLIC_URL=https://host/rm, the proxy strips /rm): every link
// the payer follows — checkout and QR pages, their forms, the wallet screen and the redirects back — stays under
// /rm, on both databases. The payer is walked with fetch through a real proxy that answers 404 outside /rm.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { postForm } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, type Developer, type TestServer } from './harness.js';

/** A proxy on its own port that serves the server's root under `/rm` and nothing else. */
async function startPrefixProxy(): Promise<{ server: Server; port: number; target: { port: number } }> {
  const target = { port: 0 };
  const server = createServer((incoming, outgoing) => {
    const url = incoming.url ?? '/';
    if (!url.startsWith('/rm/')) {
      outgoing.writeHead(404, { 'content-type': 'text/plain' }).end(`outside /rm: ${url}`);
      return;
    }
    const forwarded = httpRequest(
      { host: '127.0.0.1', port: target.port, method: incoming.method, path: url.slice(3), headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, target };
}

/** The action of the form holding `marker` (a button or input in it), resolved against the page's URL. */
function formAction(html: string, pageUrl: string, marker: string): string {
  const at = html.indexOf(marker);
  assert.ok(at >= 0, `the page has ${marker}`);
  const start = html.lastIndexOf('<form', at);
  const action = /action="([^"]*)"/.exec(html.slice(start, at))?.[1];
  assert.ok(action !== undefined, `the form of ${marker} has an action`);
  return new URL(action, pageUrl).href;
}

forEachDialect('served under a path by a proxy', (dialect) => {
  let proxy: Awaited<ReturnType<typeof startPrefixProxy>>;
  let server: TestServer;
  let dev: Developer;
  let base: string;
  before(async () => {
    proxy = await startPrefixProxy();
    base = `http://127.0.0.1:${proxy.port}/rm`;
    server = await startTestServer(dialect, { TUNAI_PUBLIC_URL: base });
    proxy.target.port = Number(new URL(server.url).port);
    dev = await createDeveloper(server, { companyName: 'Behind A Proxy' });
  });
  after(async () => {
    await server.close();
    proxy.server.closeAllConnections();
    await new Promise((resolve) => proxy.server.close(resolve));
  });

  /** Follows one redirect, resolving a relative Location against the URL that answered it. */
  const next = (answered: string, response: Response): string => {
    assert.equal(response.status, 303, `${answered} redirects`);
    const target = new URL(response.headers.get('location') ?? '', answered).href;
    assert.ok(target.startsWith(`${base}/`) || target.startsWith('https://shop.example/'), `${answered} → ${target} stays under /rm`);
    return target;
  };

  test('a checkout paid through the proxy: page, wallet pick, wallet screen, confirm and the way back all stay under /rm', async () => {
    const created = (
      await dev.client.payment.createCheckout({
        order: { id: `prefix-${dialect}`, title: 'Kopi', detail: '', additionalData: '', amount: 450, currencyType: 'MYR' },
        method: [],
        type: 'WEB_PAYMENT',
        storeId: dev.merchant.store.id,
        redirectUrl: 'https://shop.example/return',
        notifyUrl: 'http://127.0.0.1:9/notify',
      })
    ).item;
    assert.ok(created.url.startsWith(`${base}/checkout?`), created.url);
    const page = await fetch(created.url);
    assert.equal(page.status, 200);
    const html = await page.text();
    const payAt = formAction(html, created.url, 'id="method-TNG_MY"');
    assert.equal(new URL(payAt).pathname, '/rm/checkout/pay');
    assert.equal(new URL(formAction(html, created.url, 'id="cancel"')).pathname, '/rm/checkout/cancel');

    const walletUrl = next(payAt, await postForm(payAt, { checkoutId: created.checkoutId, method: 'TNG_MY' }));
    assert.equal(new URL(walletUrl).pathname, '/rm/sandbox/wallet');
    const direct = (await dev.client.payment.checkoutQrCode(created.checkoutId, 'TNG_MY')).item.url;
    assert.equal(direct, walletUrl, 'the API hands out the same wallet link, under /rm');
    const wallet = await fetch(walletUrl);
    assert.equal(wallet.status, 200);
    const walletHtml = await wallet.text();
    const confirmAt = formAction(walletHtml, walletUrl, 'id="pay"');
    assert.equal(new URL(confirmAt).pathname, '/rm/sandbox/wallet/confirm');
    const order = new URL(walletUrl).searchParams.get('order') ?? '';
    const back = next(confirmAt, await postForm(confirmAt, { order, outcome: '0000' }));
    assert.equal(back, `${base}/checkout?checkoutId=${created.checkoutId}`);
    const landing = next(back, await fetch(back, { redirect: 'manual' }));
    assert.equal(new URL(landing).searchParams.get('status'), 'SUCCESS');

    // A page asked for with a trailing slash is sent to its own path first: its relative links would otherwise
    // resolve one level too deep.
    for (const slashes of ['/', '//']) {
      const slashed = `${base}/checkout${slashes}?checkoutId=${created.checkoutId}`;
      const moved = await fetch(slashed, { redirect: 'manual' });
      assert.equal(moved.status, 308, slashed);
      assert.equal(new URL(moved.headers.get('location') ?? '', slashed).href, back, `${slashed} → its own path`);
    }
  });

  test('a QR paid through the proxy: its page, the pay form, the wallet and the result page stay under /rm', async () => {
    const qr = (await dev.client.payment.createQrCode(qrCodeInput(dev.merchant.store.id, 'DYNAMIC'))).item;
    assert.ok(qr.qrCodeUrl.startsWith(`${base}/payment/unified?`), qr.qrCodeUrl);
    const html = await (await fetch(qr.qrCodeUrl)).text();
    const payAt = formAction(html, qr.qrCodeUrl, 'id="method-TNG_MY"');
    assert.equal(new URL(payAt).pathname, '/rm/payment/unified/pay');
    const walletUrl = next(payAt, await postForm(payAt, { code: qr.code, method: 'TNG_MY' }));
    const order = new URL(walletUrl).searchParams.get('order') ?? '';
    const confirmAt = formAction(await (await fetch(walletUrl)).text(), walletUrl, 'id="pay"');
    const result = next(confirmAt, await postForm(confirmAt, { order, outcome: '1002' }));
    assert.equal(result, `${base}/payment/unified/result?transactionId=${order}`);
    const slashed = `${base}/payment/unified/result/?transactionId=${order}`;
    const moved = await fetch(slashed, { redirect: 'manual' });
    assert.equal(moved.status, 308);
    assert.equal(new URL(moved.headers.get('location') ?? '', slashed).href, result);
    const waiting = await fetch(result);
    assert.equal(waiting.status, 200, 'the result page waits for the wallet');
    const waitingHtml = await waiting.text();
    const polled = /data-status="([^"]+)"/.exec(waitingHtml)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(polled, 'the page polls a status URL');
    const statusUrl = new URL(polled, result);
    assert.equal(statusUrl.pathname, '/rm/payment/unified/status');
    const status = await fetch(statusUrl);
    assert.equal(status.status, 200, 'the polled status answers through the proxy');
    assert.deepEqual(await status.json(), { status: 'IN_PROCESS' });
  });
});
