// Findings of the thirteenth session's authorization audit, over real HTTP on both databases: a switched-off merchant
// takes no payment through its payer pages, and the sandbox controls (clock, closed loop, outbox sweep) answer only
// the operator — a loopback caller, or one with the configured TUNAI_SANDBOX_CONTROL_KEY.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TunaiClient } from '@tunai/client';
import { assertError, postForm, rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, type TestServer } from './harness.js';
import { setMerchantActive } from '../src/app/set-merchant-active.js';
import { loadConfig } from '../src/lib/config.js';
import { openDatabase } from '../src/store/database.js';

const paymentTables = ['payment_transactions', 'payment_checkouts', 'ledger_entries', 'outbox_events', 'sim_wallet_orders'] as const;

forEachDialect('a switched-off merchant takes no payments', (dialect) => {
  let server: TestServer;
  let db: ReturnType<typeof openDatabase>['db'];
  const { writesNothing } = rowCounter(() => db, paymentTables);
  before(async () => {
    server = await startTestServer(dialect);
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  test('its checkout and QR pages say MERCHANT_INACTIVE, paying them writes nothing; switched on again, they pay', async () => {
    const dev = await createDeveloper(server, { companyName: 'Switched Off' });
    const storeId = dev.merchant.store.id;
    const checkoutBody = (orderId: string) => ({
      order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', amount: 1_200, currencyType: 'MYR' as const },
      method: [],
      type: 'WEB_PAYMENT' as const,
      storeId,
      redirectUrl: 'https://shop.example/return',
      notifyUrl: 'http://127.0.0.1:9/notify',
    });
    const checkout = (await dev.client.payment.createCheckout(checkoutBody(`off-${dialect}-1`))).item;
    const qr = (await dev.client.payment.createQrCode(qrCodeInput(storeId, 'STATIC'))).item;
    // A payment opened in the wallet before the switch still completes: the payer already holds the wallet order.
    const opened = await postForm(`${server.url}/checkout/pay`, { checkoutId: (await dev.client.payment.createCheckout(checkoutBody(`off-${dialect}-2`))).item.checkoutId, method: 'TNG_MY' });
    assert.equal(opened.status, 303, await opened.text());
    const openedOrder = new URL(opened.headers.get('location') ?? '', server.url).searchParams.get('order') ?? '';
    const oneTime = (await dev.client.payment.createQrCode(qrCodeInput(storeId, 'DYNAMIC'))).item;
    const oneTimeTap = await postForm(`${server.url}/payment/unified/pay`, { code: oneTime.code, method: 'BOOST_MY' });
    assert.equal(oneTimeTap.status, 303, await oneTimeTap.text());

    await setMerchantActive(server.running.deps, dev.merchant.merchant.id, false);
    const pages = [
      await fetch(`${server.url}/checkout?checkoutId=${checkout.checkoutId}`),
      await fetch(`${server.url}/payment/unified?code=${qr.code}`),
    ];
    for (const shown of pages) {
      assert.equal(shown.status, 403, shown.url);
      assert.match(await shown.text(), /MERCHANT_INACTIVE/, `${shown.url} names the refusal`);
    }
    const viaCheckout = await writesNothing(() => postForm(`${server.url}/checkout/pay`, { checkoutId: checkout.checkoutId, method: 'TNG_MY' }));
    assert.equal(viaCheckout.status, 403);
    assert.match(await viaCheckout.text(), /MERCHANT_INACTIVE/);
    const viaQr = await writesNothing(() => postForm(`${server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' }));
    assert.equal(viaQr.status, 403);
    assert.match(await viaQr.text(), /MERCHANT_INACTIVE/);
    // The one-time QR already being paid keeps its page and hands the payer back the same wallet order.
    assert.equal((await fetch(`${server.url}/payment/unified?code=${oneTime.code}`)).status, 200);
    const again = await writesNothing(() => postForm(`${server.url}/payment/unified/pay`, { code: oneTime.code, method: 'BOOST_MY' }));
    assert.equal(again.headers.get('location'), oneTimeTap.headers.get('location'));
    const confirmed = await postForm(`${server.url}/sandbox/wallet/confirm`, { order: openedOrder, outcome: '0000' });
    assert.equal(confirmed.status, 303, await confirmed.text());
    const finished = await db.selectFrom('payment_transactions').select('status').where('id', '=', openedOrder).executeTakeFirstOrThrow();
    assert.equal(finished.status, 'SUCCESS', 'the order the payer already had in the wallet was paid');

    await setMerchantActive(server.running.deps, dev.merchant.merchant.id, true);
    const paid = await postForm(`${server.url}/checkout/pay`, { checkoutId: checkout.checkoutId, method: 'TNG_MY' });
    assert.equal(paid.status, 303, await paid.text());
    assert.equal((await fetch(`${server.url}/payment/unified?code=${qr.code}`)).status, 200);
  });
});

forEachDialect('sandbox controls answer only the operator', (dialect) => {
  const controls = [
    ['/sandbox/clock', { advanceSeconds: 60 }],
    ['/sandbox/closed-loop/run', undefined],
    ['/sandbox/outbox/run', undefined],
  ] as const;
  const post = (server: TestServer, path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const errorOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code });

  test('without a key: a caller on this machine may; a forwarded request (whatever it claims) gets 403 NOT_PERMITTED and the clock stays', async () => {
    const server = await startTestServer(dialect);
    try {
      const startMs = server.clock.nowMs();
      for (const [path, body] of controls) {
        for (const headers of [{ 'x-forwarded-for': '203.0.113.7' }, { 'x-forwarded-for': '127.0.0.1' }, { forwarded: 'for=127.0.0.1' }] as Record<string, string>[]) {
          assert.deepEqual(await errorOf(await post(server, path, body, headers)), { status: 403, code: 'NOT_PERMITTED' }, `${path} ${JSON.stringify(headers)}`);
        }
      }
      assert.equal(server.clock.nowMs(), startMs, 'a refused move moved nothing');
      // Reading the clock stays open to anyone.
      assert.equal((await fetch(`${server.url}/sandbox/clock`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
      for (const [path, body] of controls) {
        const allowed = await post(server, path, body, {});
        assert.equal(allowed.status, 200, `${path}: ${await allowed.text()}`);
      }
      assert.equal(server.clock.nowMs(), startMs + 60_000, 'the direct loopback move moved the clock by 60 s');
    } finally {
      await server.close();
    }
  });

  test('behind a trusted proxy (TUNAI_TRUST_PROXY) without a key: every caller gets 403, a forged X-Forwarded-For: 127.0.0.1 too', async () => {
    const server = await startTestServer(dialect, { TUNAI_TRUST_PROXY: 'true' });
    try {
      const startMs = server.clock.nowMs();
      for (const [path, body] of controls) {
        for (const headers of [{}, { 'x-forwarded-for': '127.0.0.1' }, { 'x-forwarded-for': '127.0.0.1, 203.0.113.7' }] as Record<string, string>[]) {
          const refused = await errorOf(await post(server, path, body, headers));
          assert.deepEqual(refused, { status: 403, code: 'NOT_PERMITTED' }, `${path} ${JSON.stringify(headers)}`);
        }
      }
      assert.equal(server.clock.nowMs(), startMs, 'nothing moved');
    } finally {
      await server.close();
    }
  });

  test('with TUNAI_SANDBOX_CONTROL_KEY: every caller, loopback included, needs X-Sandbox-Key; the client sends it as sandboxKey', async () => {
    const key = 'k3y-for-the-sandbox-operator';
    const server = await startTestServer(dialect, { TUNAI_SANDBOX_CONTROL_KEY: key });
    try {
      const startMs = server.clock.nowMs();
      for (const [path, body] of controls) {
        assert.deepEqual(await errorOf(await post(server, path, body, {})), { status: 403, code: 'NOT_PERMITTED' }, `${path} without the key`);
        assert.deepEqual(await errorOf(await post(server, path, body, { 'x-sandbox-key': `${key}x` })), { status: 403, code: 'NOT_PERMITTED' }, `${path} with a wrong key`);
      }
      assert.equal(server.clock.nowMs(), startMs, 'no refused call moved the clock');
      const dev = await createDeveloper(server, { companyName: 'Operator' });
      assertError(await dev.client.send('POST', '/sandbox/clock', { body: { advanceSeconds: 60 }, accessToken: null, sign: false }), 403, 'NOT_PERMITTED');
      const operator = new TunaiClient({ clientId: dev.clientId, clientSecret: dev.clientSecret, oauthBaseUrl: server.url, openApiBaseUrl: server.url, sandboxKey: key });
      assert.equal((await operator.sandbox.advanceClock(60)).item.nowMs, startMs + 60_000);
      assert.equal(typeof (await operator.sandbox.runClosedLoop()).item.processed, 'number');
      assert.equal(typeof (await operator.sandbox.runOutbox()).item.attempted, 'number');
    } finally {
      await server.close();
    }
  });

  test('a key of 16 visible characters is kept as its SHA-256 only; a shorter one, or one with a space, is refused at start', () => {
    const kept = loadConfig({ TUNAI_SANDBOX_CONTROL_KEY: 'x'.repeat(16) }).sandboxControlKeySha256;
    assert.equal(kept?.toString('hex'), createHash('sha256').update('x'.repeat(16)).digest('hex'));
    assert.equal(loadConfig({}).sandboxControlKeySha256, null);
    assert.throws(() => loadConfig({ TUNAI_SANDBOX_CONTROL_KEY: 'x'.repeat(15) }), /TUNAI_SANDBOX_CONTROL_KEY must be 16 to 256/);
    assert.throws(() => loadConfig({ TUNAI_SANDBOX_CONTROL_KEY: 'a key with spaces in it' }), /TUNAI_SANDBOX_CONTROL_KEY/);
  });
});
