// @tunai/client against the real server: RM-docs base URLs, an adopted authorization-code token, the sandbox helpers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizationRequiredError, RmApiError, type TokenResponse } from '@tunai/client';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer, rmTime } from './harness.js';

const callback = 'https://partner.example/callback';

/** The scopes an access token carries (tunai's tokens are JWTs with `scp`; clients otherwise treat them as opaque). */
function scopesOf(accessToken: string): string[] {
  return (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { scp: string[] }).scp;
}

/** Runs the consent page (open, approve) for the app and returns the code from the redirect. */
async function obtainCode(server: TestServer, dev: Developer, scopes: string[]): Promise<string> {
  const page = await fetch(dev.client.oauth.authorizeUrl({ redirectUri: callback, scopes, state: 's' }), { redirect: 'manual' });
  const text = await page.text();
  assert.equal(page.status, 200, text);
  const ticket = /<input type="hidden" name="ticket" value="([^"]+)">/.exec(text)?.[1];
  assert.ok(ticket, 'the consent page carries a ticket');
  const approved = await fetch(`${server.url}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `ticket=${encodeURIComponent(ticket)}&decision=approve`,
  });
  assert.equal(approved.status, 302, await approved.text());
  const code = new URL(approved.headers.get('location') ?? '').searchParams.get('code');
  assert.ok(code, 'the redirect carries a code');
  return code;
}

/** A WeChat Pay Malaysia auth code with the given scenario digits; random in the middle, so never reused. */
function wechatCode(magic: string): string {
  const middle = String(Math.floor(Math.random() * 1e12)).padStart(12, '0');
  return `13${middle}${magic}`;
}

forEachDialect('@tunai/client extras', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Kedai Extras', redirectUris: [callback] });
  });
  after(() => server.close());

  describe('base URLs as RM documents them', () => {
    test('…/v3 and …/v1 reach the same endpoints, and signed calls verify', async () => {
      const client = dev.clientWith({ openApiBaseUrl: `${server.url}/v3`, oauthBaseUrl: `${server.url}/v1/` });
      assert.equal((await client.merchant.get()).item.id, dev.merchant.merchant.id);
      // /v3/payment/* must be signed: the server verified the signature over the URL the client sent.
      assert.equal((await client.payment.transactions({ limit: 1 })).code, 'SUCCESS');
      // The tools live beside /v3, not under it, on RM as on tunai.
      const generated = await client.tool.generateSignature({
        data: { orderId: 'o-1' },
        method: 'post',
        nonceStr: 'n'.repeat(32),
        privateKey: dev.privateKeyPem,
        requestUrl: `${server.url}/v3/payment/reverse`,
        signType: 'sha256',
        timestamp: '1700000000',
      });
      assert.match(generated.signature, /^sha256 /);
    });
  });

  describe('an adopted authorization-code token', () => {
    test('later calls act with the consented token, refresh it, and never fall back to client_credentials', async () => {
      let tokenRequests = 0;
      const client = dev.clientWith({
        fetch: (input, init) => {
          if (String(input).endsWith('/v1/token')) tokenRequests += 1;
          return fetch(input, init);
        },
      });
      const refreshGrantsSeen = async () => tokenRequests;
      const code = await obtainCode(server, dev, ['get_merchant_profile']);
      const token = await client.oauth.authorizationCode(code, callback);
      const renewed: TokenResponse[] = [];
      client.adoptToken(token, { onRenewed: (next) => void renewed.push(next) });

      assert.equal((await client.merchant.get()).item.id, dev.merchant.merchant.id);
      // A client_credentials token would carry every scope; the consented one only get_merchant_profile.
      await assert.rejects(client.stores.list(), { code: 'CLIENT_NO_PERMISSION', httpStatus: 403 });
      assert.deepEqual(scopesOf(await client.getAccessToken()), ['get_merchant_profile']);

      // Past the access token's lifetime the client refreshes with the adopted refresh token; the scopes stay.
      server.clock.advanceMs(7200 * 1000);
      await client.merchant.get();
      assert.equal(renewed.length, 1);
      const current = renewed[0] as TokenResponse;
      assert.equal(await client.getAccessToken(), current.accessToken);
      assert.notEqual(current.refreshToken, token.refreshToken, 'refresh tokens rotate');
      assert.deepEqual(scopesOf(current.accessToken), ['get_merchant_profile']);

      // Replaying the code revokes every refresh token it started: the next refresh is refused, and that is what the
      // caller sees (not a quiet switch to the app owner's client_credentials token). The refused refresh token is
      // dropped, so later calls ask for a new authorization instead of sending it again.
      await assert.rejects(client.oauth.authorizationCode(code, callback), { code: 'INVALID_CODE' });
      server.clock.advanceMs(7200 * 1000);
      await assert.rejects(client.stores.list(), (error: unknown) => {
        assert.ok(error instanceof RmApiError, String(error));
        assert.equal(error.code, 'INVALID_GRANT');
        return true;
      });
      const refreshesBefore = await refreshGrantsSeen();
      for (let i = 0; i < 2; i += 1) await assert.rejects(client.stores.list(), AuthorizationRequiredError);
      assert.equal(await refreshGrantsSeen(), refreshesBefore, 'the dead refresh token is not sent again');
    });

    test('once the refresh token has expired too, calls ask for a new authorization', async () => {
      const client = dev.clientWith({});
      const code = await obtainCode(server, dev, ['get_merchant_profile']);
      client.adoptToken(await client.oauth.authorizationCode(code, callback));
      server.clock.advanceMs(2_592_000 * 1000);
      await assert.rejects(client.merchant.get(), AuthorizationRequiredError);
    });

    test('a client that never adopts keeps its client_credentials token with every scope', async () => {
      const client = dev.clientWith({});
      const code = await obtainCode(server, dev, ['get_merchant_profile']);
      await client.oauth.authorizationCode(code, callback);
      assert.equal((await client.stores.list()).code, 'SUCCESS');
      assert.ok(scopesOf(await client.getAccessToken()).includes('manage_store'));
    });
  });

  describe('sandbox helpers', () => {
    test('clock, advanceClock, runClosedLoop and runOutbox', async () => {
      const client = dev.clientWith({});
      const clock = (await client.sandbox.clock()).item;
      assert.equal(clock.nowMs, server.clock.nowMs());
      assert.equal(clock.now, rmTime(clock.nowMs));

      // A QuickPay whose payer never confirms stays IN_PROCESS until the closed loop reverses it at 45 s.
      const orderId = `extras-${Math.floor(Math.random() * 1e9)}`;
      const pending = await client.payment.quickPay({
        authCode: wechatCode('1002'),
        storeId: dev.merchant.store.id,
        ipAddress: '127.0.0.1',
        order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 },
      });
      assert.equal(pending.item.status, 'IN_PROCESS');

      const moved = (await client.sandbox.advanceClock(60)).item;
      assert.equal(moved.nowMs, clock.nowMs + 60_000);
      assert.equal(server.clock.nowMs(), moved.nowMs);
      const run = (await client.sandbox.runClosedLoop()).item;
      assert.ok(run.processed >= 1, `processed ${run.processed}`);
      assert.equal((await client.payment.transactionByOrderId(orderId)).item.status, 'REVERSED');

      const sweep = (await client.sandbox.runOutbox()).item;
      assert.equal(typeof sweep.attempted, 'number');
      await assert.rejects(client.sandbox.advanceClock(0), { code: 'VALIDATION_ERROR', httpStatus: 400 });
    });
  });
});
