// Audit of the OAuth server over real HTTP: grant races, deactivation, Basic header variants, grant confusion, consent limits, no 500s.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { setAppActive } from '../src/app/set-app-active.js';
import { setMerchantActive } from '../src/app/set-merchant-active.js';
import type { Database } from '../src/store/schema.js';
import { createDeveloper, forEachDialect, rawRequest, serverSuite, type Developer, type RawResponse, type TestServer } from './harness.js';

const callback = 'https://partner.example/callback';

function basicOf(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64')}`;
}

function postToken(server: TestServer, authorization: string | null, body: string, contentType = 'application/json'): Promise<RawResponse> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (authorization !== null) headers['authorization'] = authorization;
  return rawRequest(server.url, 'POST', '/v1/token', headers, body);
}

function grant(server: TestServer, dev: Developer, body: Record<string, unknown>): Promise<RawResponse> {
  return postToken(server, basicOf(dev.clientId, dev.clientSecret), JSON.stringify(body));
}

function assertTokenError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}: ${res.text}`);
  assert.equal(res.json?.error?.code, code, res.text);
  assert.equal(typeof res.json?.error?.message, 'string', `error has a message: ${res.text}`);
  assert.equal(res.json?.accessToken, undefined, 'a refusal carries no access token');
  assert.equal(res.json?.refreshToken, undefined, 'a refusal carries no refresh token');
}

function assertTokenShape(res: RawResponse): void {
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'refreshTokenExpiresIn', 'tokenType']);
  assert.equal(res.json.tokenType, 'Bearer');
  assert.ok(Number.isInteger(res.json.expiresIn), `expiresIn is a JSON integer: ${res.text}`);
  assert.ok(Number.isInteger(res.json.refreshTokenExpiresIn), `refreshTokenExpiresIn is a JSON integer: ${res.text}`);
}

function scopesOf(accessToken: string): string[] {
  return (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { scp: string[] }).scp;
}

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function ticketOf(page: RawResponse): string {
  const match = /<input type="hidden" name="ticket" value="([^"]+)">/.exec(page.text);
  assert.ok(match?.[1], `consent page has a ticket: ${page.status} ${page.text.slice(-300)}`);
  return match[1];
}

function openConsent(server: TestServer, params: Record<string, string>): Promise<RawResponse> {
  return rawRequest(server.url, 'GET', `/authorize?${query(params)}`, {});
}

function answerConsent(server: TestServer, ticket: string, decision: string): Promise<RawResponse> {
  return rawRequest(server.url, 'POST', '/authorize', { 'content-type': 'application/x-www-form-urlencoded' }, query({ ticket, decision }));
}

async function obtainCode(server: TestServer, dev: Developer, scope: string): Promise<string> {
  const page = await openConsent(server, { responseType: 'code', clientId: dev.clientId, redirectUri: callback, scope, state: 's' });
  assert.equal(page.status, 200, page.text);
  const answer = await answerConsent(server, ticketOf(page), 'approve');
  assert.equal(answer.status, 302, answer.text);
  const code = new URL(String(answer.headers.location)).searchParams.get('code');
  assert.ok(code, `redirect carries a code: ${String(answer.headers.location)}`);
  return code;
}

/** Every credential row, all columns, as text: proves a refused request changed nothing (no insert, no update). */
async function credentialSnapshot(db: Kysely<Database>): Promise<string> {
  const refresh = await sql`select * from refresh_tokens order by token_hash`.execute(db);
  const codes = await sql`select * from authorization_codes order by code_hash`.execute(db);
  return JSON.stringify({ refresh: refresh.rows, codes: codes.rows }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}

forEachDialect('OAuth audit', (dialect) => {
  const suite = serverSuite(dialect);
  let server: TestServer;
  let db: Kysely<Database>;
  let dev: Developer;
  before(async () => {
    ({ server, db } = suite);
    dev = await createDeveloper(server, { companyName: 'Audit Sdn Bhd', redirectUris: [callback] });
  });

  describe('refresh-token family revocation under races', () => {
    test('a rotated token re-presented while the current one is being refreshed: the new successor is revoked too', async () => {
      // The reuse of A must revoke the family even when it lands while B → C is committing. PostgreSQL's UPDATE
      // did not see C (inserted by a transaction still open when the revocation began), so C stayed usable.
      const survived: number[] = [];
      for (let round = 0; round < 30; round++) {
        const a = await grant(server, dev, { grantType: 'client_credentials' });
        assert.equal(a.status, 200, a.text);
        const b = await grant(server, dev, { grantType: 'refresh_token', refreshToken: a.json.refreshToken });
        assert.equal(b.status, 200, b.text);
        const [current, reused] = await Promise.all([
          grant(server, dev, { grantType: 'refresh_token', refreshToken: b.json.refreshToken }),
          grant(server, dev, { grantType: 'refresh_token', refreshToken: a.json.refreshToken }),
        ]);
        assertTokenError(reused, 400, 'INVALID_GRANT');
        if (current.status !== 200) {
          assertTokenError(current, 400, 'INVALID_GRANT');
          continue;
        }
        const next = await grant(server, dev, { grantType: 'refresh_token', refreshToken: current.json.refreshToken });
        if (next.status === 200) survived.push(round);
        else assertTokenError(next, 400, 'INVALID_GRANT');
      }
      assert.deepEqual(survived, [], 'rounds whose newest refresh token outlived the reuse of its ancestor');
    });

    test('a replayed code while the first exchange’s refresh token is being rotated: the rotated token is revoked too', async () => {
      const survived: number[] = [];
      for (let round = 0; round < 20; round++) {
        const code = await obtainCode(server, dev, 'manage_store');
        const first = await grant(server, dev, { grantType: 'authorization_code', code, redirectUri: callback });
        assert.equal(first.status, 200, first.text);
        const [rotated, replay] = await Promise.all([
          grant(server, dev, { grantType: 'refresh_token', refreshToken: first.json.refreshToken }),
          grant(server, dev, { grantType: 'authorization_code', code, redirectUri: callback }),
        ]);
        assertTokenError(replay, 400, 'INVALID_CODE');
        if (rotated.status !== 200) {
          assertTokenError(rotated, 400, 'INVALID_GRANT');
          continue;
        }
        const next = await grant(server, dev, { grantType: 'refresh_token', refreshToken: rotated.json.refreshToken });
        if (next.status === 200) survived.push(round);
        else assertTokenError(next, 400, 'INVALID_GRANT');
      }
      assert.deepEqual(survived, [], 'rounds whose rotated refresh token outlived the replay of its code');
    });
  });

  describe('consent page limits', () => {
    const base = () => ({ responseType: 'code', clientId: dev.clientId, redirectUri: callback, state: 's' });

    test('a scope parameter of 512 characters is read whole; 513 → 400 INVALID_SCOPE page without a ticket', async () => {
      const atMax = `manage_store${','.repeat(512 - 'manage_store'.length - 'get_merchant_profile'.length)}get_merchant_profile`;
      assert.equal(atMax.length, 512);
      const ok = await openConsent(server, { ...base(), scope: atMax });
      assert.equal(ok.status, 200, ok.text);
      assert.ok(ok.text.includes('<code>get_merchant_profile</code>'), 'the scope ending at character 512 is listed');
      const over = await openConsent(server, { ...base(), scope: `${atMax},` });
      assert.equal(over.status, 400, over.text);
      assert.ok(over.text.includes('INVALID_SCOPE'), `names INVALID_SCOPE: ${over.text.slice(-200)}`);
      assert.ok(!over.text.includes('name="ticket"'), 'a refused request carries no consent form');
    });

    test('a scope cut at the limit never turns into another scope the app did not ask for', async () => {
      // Cut after 512 characters, "manage_loyalty_voucher" read as "manage_loyalty": the page asked the merchant
      // to grant points management, and the code carried it.
      const scope = `manage_store${','.repeat(498 - 'manage_store'.length)}manage_loyalty_voucher`;
      const page = await openConsent(server, { ...base(), scope });
      assert.ok(!page.text.includes('<code>manage_loyalty</code>'), `manage_loyalty was never asked for: ${page.text.slice(-400)}`);
      assert.equal(page.status, 400, page.text);
      assert.ok(!page.text.includes('name="ticket"'), 'a refused request carries no consent form');
    });
  });

  describe('authorization code races', () => {
    test('10 concurrent exchanges of one code: one 200, nine INVALID_CODE, and the winner’s refresh token is revoked', async () => {
      for (let round = 0; round < 4; round++) {
        const code = await obtainCode(server, dev, 'manage_store');
        const results = await Promise.all(
          Array.from({ length: 10 }, () => grant(server, dev, { grantType: 'authorization_code', code, redirectUri: callback })),
        );
        const winners = results.filter((r) => r.status === 200);
        assert.equal(winners.length, 1, results.map((r) => `${r.status} ${r.text.slice(0, 80)}`).join('\n'));
        for (const loser of results.filter((r) => r.status !== 200)) assertTokenError(loser, 400, 'INVALID_CODE');
        const winner = winners[0] as RawResponse;
        assertTokenShape(winner);
        assert.deepEqual(scopesOf(winner.json.accessToken), ['manage_store']);
        assertTokenError(await grant(server, dev, { grantType: 'refresh_token', refreshToken: winner.json.refreshToken }), 400, 'INVALID_GRANT');
      }
    });
  });

  describe('deactivated app or merchant', () => {
    test('an inactive app: refresh, code exchange and /authorize refused, nothing spent; all work again once active', async () => {
      const app = await createDeveloper(server, { companyName: 'Switched Off', redirectUris: [callback] });
      const deps = server.running.deps;
      const issued = await grant(server, app, { grantType: 'client_credentials' });
      assert.equal(issued.status, 200, issued.text);
      const code = await obtainCode(server, app, 'manage_store');
      const consent = await openConsent(server, { responseType: 'code', clientId: app.clientId, redirectUri: callback, scope: 'manage_store' });
      const pendingTicket = ticketOf(consent);
      const before = await credentialSnapshot(db);

      await setAppActive(deps, app.clientId, false);
      try {
        assertTokenError(await grant(server, app, { grantType: 'refresh_token', refreshToken: issued.json.refreshToken }), 401, 'INACTIVE_CLIENT');
        assertTokenError(await grant(server, app, { grantType: 'authorization_code', code, redirectUri: callback }), 401, 'INACTIVE_CLIENT');
        const page = await openConsent(server, { responseType: 'code', clientId: app.clientId, redirectUri: callback, scope: 'manage_store' });
        assert.equal(page.status, 401, page.text);
        assert.ok(page.text.includes('INACTIVE_CLIENT') && !page.text.includes('name="ticket"'), `refusal page: ${page.text.slice(-200)}`);
        const approve = await answerConsent(server, pendingTicket, 'approve');
        assert.equal(approve.status, 401, approve.text);
        assert.equal(approve.headers.location, undefined, 'no redirect with a code');
        const call = await app.client.send('GET', '/v3/merchant', { accessToken: issued.json.accessToken });
        assert.equal(call.status, 401, call.rawText);
        assert.equal(await credentialSnapshot(db), before, 'refusals spent and stored nothing');
      } finally {
        await setAppActive(deps, app.clientId, true);
      }
      assertTokenShape(await grant(server, app, { grantType: 'refresh_token', refreshToken: issued.json.refreshToken }));
      assertTokenShape(await grant(server, app, { grantType: 'authorization_code', code, redirectUri: callback }));
    });

    test('an inactive merchant: refresh, code exchange, /authorize and approval refused with 403 MERCHANT_INACTIVE', async () => {
      const app = await createDeveloper(server, { companyName: 'Closed Shop', redirectUris: [callback] });
      const deps = server.running.deps;
      const issued = await grant(server, app, { grantType: 'client_credentials' });
      const code = await obtainCode(server, app, 'manage_store');
      const pendingTicket = ticketOf(await openConsent(server, { responseType: 'code', clientId: app.clientId, redirectUri: callback, scope: 'manage_store' }));
      const before = await credentialSnapshot(db);

      await setMerchantActive(deps, app.merchant.merchant.id, false);
      try {
        assertTokenError(await grant(server, app, { grantType: 'refresh_token', refreshToken: issued.json.refreshToken }), 403, 'MERCHANT_INACTIVE');
        assertTokenError(await grant(server, app, { grantType: 'authorization_code', code, redirectUri: callback }), 403, 'MERCHANT_INACTIVE');
        const page = await openConsent(server, { responseType: 'code', clientId: app.clientId, redirectUri: callback, scope: 'manage_store' });
        assert.equal(page.status, 403, page.text);
        const approve = await answerConsent(server, pendingTicket, 'approve');
        assert.equal(approve.status, 403, approve.text);
        assert.equal(approve.headers.location, undefined, 'no redirect with a code');
        const call = await app.client.send('GET', '/v3/merchant', { accessToken: issued.json.accessToken });
        assert.equal(call.status, 403, call.rawText);
        assert.equal(await credentialSnapshot(db), before, 'refusals spent and stored nothing');
      } finally {
        await setMerchantActive(deps, app.merchant.merchant.id, true);
      }
      assertTokenShape(await grant(server, app, { grantType: 'refresh_token', refreshToken: issued.json.refreshToken }));
      assertTokenShape(await grant(server, app, { grantType: 'authorization_code', code, redirectUri: callback }));
    });
  });

  describe('Basic header variants', () => {
    const body = '{"grantType":"client_credentials"}';

    test('scheme in any case, extra spaces or a tab, unpadded or base64url credentials are accepted', async () => {
      const plain = Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64');
      const variants = [
        `basic ${plain}`,
        `BASIC ${plain}`,
        `Basic    ${plain}`,
        `Basic\t${plain}`,
        `Basic ${plain}   `,
        `Basic ${plain.replace(/=+$/, '')}`,
        `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64url')}`,
      ];
      for (const authorization of variants) {
        const res = await postToken(server, authorization, body);
        assert.equal(res.status, 200, `${JSON.stringify(authorization)} → ${res.text}`);
      }
    });

    test('the secret is everything after the first colon: a secret with ":" appended, or padded, is wrong', async () => {
      for (const secret of [`${dev.clientSecret}:`, `${dev.clientSecret}:x`, ` ${dev.clientSecret}`, `${dev.clientSecret} `]) {
        assertTokenError(await postToken(server, basicOf(dev.clientId, secret), body), 401, 'INVALID_CLIENT');
      }
      assertTokenError(await postToken(server, basicOf(` ${dev.clientId}`, dev.clientSecret), body), 401, 'INVALID_CLIENT');
      assertTokenError(await postToken(server, `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString('base64')}`, body), 401, 'INVALID_CLIENT');
      assertTokenError(await postToken(server, basicOf('9'.repeat(5_000), 'x'), body), 401, 'INVALID_CLIENT');
    });
  });

  describe('grant confusion and scope escalation', () => {
    test('a code presented as a refresh token, or a refresh token as a code, is refused and spends neither', async () => {
      const code = await obtainCode(server, dev, 'manage_store');
      const issued = await grant(server, dev, { grantType: 'client_credentials' });
      assertTokenError(await grant(server, dev, { grantType: 'refresh_token', refreshToken: code }), 400, 'INVALID_GRANT');
      assertTokenError(await grant(server, dev, { grantType: 'authorization_code', code: issued.json.refreshToken, redirectUri: callback }), 400, 'INVALID_CODE');
      assertTokenError(await grant(server, dev, { grantType: 'refresh_token', refreshToken: issued.json.accessToken }), 400, 'INVALID_GRANT');
      assertTokenShape(await grant(server, dev, { grantType: 'authorization_code', code, redirectUri: callback }));
      assertTokenShape(await grant(server, dev, { grantType: 'refresh_token', refreshToken: issued.json.refreshToken }));
    });

    test('a scope field in the token request widens nothing, on any grant', async () => {
      const limited = await createDeveloper(server, { scopes: ['manage_store', 'get_merchant_profile'], redirectUris: [callback] });
      const wider = { scope: 'manage_payment', scopes: ['manage_payment'], scp: ['manage_payment'] };
      const cc = await grant(server, limited, { grantType: 'client_credentials', ...wider });
      assertTokenShape(cc);
      assert.deepEqual([...scopesOf(cc.json.accessToken)].sort(), ['get_merchant_profile', 'manage_store']);
      const code = await obtainCode(server, limited, 'manage_store');
      const exchanged = await grant(server, limited, { grantType: 'authorization_code', code, redirectUri: callback, ...wider });
      assertTokenShape(exchanged);
      assert.deepEqual(scopesOf(exchanged.json.accessToken), ['manage_store']);
      const refreshed = await grant(server, limited, { grantType: 'refresh_token', refreshToken: exchanged.json.refreshToken, scope: 'get_merchant_profile,manage_payment' });
      assertTokenShape(refreshed);
      assert.deepEqual(scopesOf(refreshed.json.accessToken), ['manage_store'], 'a refresh keeps the consented scopes, no more');
    });

    test('a consent ticket of one app cannot mint a code for another app with the same redirect URI', async () => {
      const other = await createDeveloper(server, { companyName: 'Other Partner', redirectUris: [callback] });
      const code = await obtainCode(server, other, 'manage_store');
      assertTokenError(await grant(server, dev, { grantType: 'authorization_code', code, redirectUri: callback }), 400, 'INVALID_CODE');
      assertTokenShape(await grant(server, other, { grantType: 'authorization_code', code, redirectUri: callback }));
    });
  });

  describe('refusals write nothing', () => {
    test('bad client, bad grant, wrong redirectUri, foreign or unknown credentials leave every credential row as it was', async () => {
      const other = await createDeveloper(server, { companyName: 'Bystander', redirectUris: [callback] });
      const issued = await grant(server, dev, { grantType: 'client_credentials' });
      const code = await obtainCode(server, dev, 'manage_store');
      const before = await credentialSnapshot(db);
      const wrongSecret = basicOf(dev.clientId, `${dev.clientSecret}x`);
      const refusals: [() => Promise<RawResponse>, number, string][] = [
        [() => postToken(server, wrongSecret, JSON.stringify({ grantType: 'refresh_token', refreshToken: issued.json.refreshToken })), 401, 'INVALID_CLIENT'],
        [() => postToken(server, wrongSecret, JSON.stringify({ grantType: 'authorization_code', code, redirectUri: callback })), 401, 'INVALID_CLIENT'],
        [() => postToken(server, null, JSON.stringify({ grantType: 'client_credentials' })), 401, 'INVALID_CLIENT'],
        [() => grant(server, dev, { grantType: 'password', refreshToken: issued.json.refreshToken }), 400, 'UNSUPPORTED_GRANT_TYPE'],
        [() => grant(server, dev, { grantType: 'refresh_token' }), 400, 'INVALID_REQUEST'],
        [() => grant(server, dev, { grantType: 'refresh_token', refreshToken: 'unknown' }), 400, 'INVALID_GRANT'],
        [() => grant(server, other, { grantType: 'refresh_token', refreshToken: issued.json.refreshToken }), 400, 'INVALID_GRANT'],
        [() => grant(server, dev, { grantType: 'authorization_code', code, redirectUri: `${callback}/` }), 400, 'INVALID_GRANT'],
        [() => grant(server, other, { grantType: 'authorization_code', code, redirectUri: callback }), 400, 'INVALID_CODE'],
        [() => grant(server, dev, { grantType: 'authorization_code', code: 'unknown', redirectUri: callback }), 400, 'INVALID_CODE'],
        [() => postToken(server, basicOf(dev.clientId, dev.clientSecret), `grantType=refresh_token&refreshToken=${issued.json.refreshToken}`, 'application/x-www-form-urlencoded'), 415, 'INVALID_REQUEST'],
      ];
      // One at a time, so each refusal is judged on its own.
      for (const [send, status, code_] of refusals) assertTokenError(await send(), status, code_);
      assert.equal(await credentialSnapshot(db), before, 'no refresh token or code was inserted, spent or revoked');
      // Both credentials are still good, so the refusals really left them alone.
      assertTokenShape(await grant(server, dev, { grantType: 'refresh_token', refreshToken: issued.json.refreshToken }));
      assertTokenShape(await grant(server, dev, { grantType: 'authorization_code', code, redirectUri: callback }));
    });
  });

  describe('no input produces a 500', () => {
    test('odd token bodies, Basic headers, /authorize queries and consent posts all get a 4xx', async () => {
      const auth = basicOf(dev.clientId, dev.clientSecret);
      const answers: [string, RawResponse][] = [];
      const tokenBodies = [
        '[]', 'null', '"x"', '1', '{"grantType":"refresh_token","refreshToken":"\\ud800"}', '{"grantType":"\\ud800"}',
        '{"grantType":"authorization_code","code":"\\ud800","redirectUri":"\\ud800"}', '{"grantType":"refresh_token","refreshToken":{}}',
        '{"grantType":["client_credentials"]}', '{"grantType":"authorization_code","code":"x","redirectUri":123}',
        JSON.stringify({ grantType: 'refresh_token', refreshToken: 'r'.repeat(500_000) }),
      ];
      for (const body of tokenBodies) answers.push([`token ${body.slice(0, 60)}`, await postToken(server, auth, body)]);
      for (const authorization of ['Basic //46QQ==', 'Basic =', 'Basic ====', `Basic ${Buffer.from(':').toString('base64')}`, 'Digest x', 'Basic \u00e9']) {
        answers.push([`basic ${authorization}`, await postToken(server, authorization, '{"grantType":"client_credentials"}').catch(() => ({ status: 400 }) as RawResponse)]);
      }
      const valid = `responseType=code&clientId=${dev.clientId}&redirectUri=${encodeURIComponent(callback)}`;
      for (const target of [
        '/authorize', '/authorize?clientId=%ff', `/authorize?responseType=code&clientId=${'1'.repeat(3_000)}`, `/authorize?${valid}&scope=toString`,
        `/authorize?${valid}&scope=__proto__`, '/authorize?responseType[]=code',
        `/authorize?${valid}&scope=manage_store&redirectUri=x`, `/authorize?responseType=code&clientId=${dev.clientId}&redirectUri=${'x'.repeat(5_000)}&scope=manage_store`,
      ]) {
        answers.push([`GET ${target.slice(0, 80)}`, await rawRequest(server.url, 'GET', target, {})]);
      }
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      for (const [headers, body] of [
        [{ 'content-type': 'application/json' }, '{"ticket":"a.b","decision":"approve"}'],
        [{ 'content-type': 'application/json' }, '[]'],
        [form, 'ticket=%00.%00'],
        [form, `ticket=${'a'.repeat(100_000)}.b&decision=approve`],
        [form, 'ticket=..&decision=approve'],
        [form, '%ff=%fe&ticket=%ff.%fe'],
        [form, 'ticket=a&ticket=b'],
        [{ 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\nContent-Disposition: form-data; name="ticket"\r\n\r\na.b\r\n--x--'],
      ] as [Record<string, string>, string][]) {
        answers.push([`POST /authorize ${body.slice(0, 40)}`, await rawRequest(server.url, 'POST', '/authorize', headers, body)]);
      }
      const faults = answers.filter(([, res]) => res.status < 400 || res.status >= 500).map(([what, res]) => `${what} → ${res.status} ${res.text.slice(0, 120)}`);
      assert.deepEqual(faults, [], 'every odd input is a 4xx');
    });
  });
});

forEachDialect('redirect URIs an app may register', (dialect) => {
  const suite = serverSuite(dialect);
  let server: TestServer;
  let db: Kysely<Database>;
  before(() => void ({ server, db } = suite));
  const appCount = async () => Number((await db.selectFrom('client_apps').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  test('script schemes, fragments and over-long URIs are refused with VALIDATION_ERROR, and no app is stored', async () => {
    const appsBefore = await appCount();
    const refused = [
      'javascript:alert(document.domain)//',
      'JavaScript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      'https://partner.example/callback#frag',
      'https://partner.example/callback#',
      `https://partner.example/${'a'.repeat(2_048)}`,
      '',
    ];
    for (const uri of refused) {
      await assert.rejects(createDeveloper(server, { companyName: 'Redirects', redirectUris: [uri] }), (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'VALIDATION_ERROR', `${uri.slice(0, 60)} → VALIDATION_ERROR`);
        return true;
      });
    }
    assert.equal(await appCount(), appsBefore, 'no refused app was stored');
    const kept = ['https://partner.example/callback?x=1', 'http://127.0.0.1:8123/cb', 'com.example.app:/oauth2redirect', `https://p.example/${'a'.repeat(2_048 - 18)}`];
    const dev = await createDeveloper(server, { companyName: 'Redirects ok', redirectUris: kept });
    const stored = await server.running.deps.storage.apps.get(dev.clientId);
    assert.deepEqual(stored?.redirectUris, kept, 'the accepted URIs are stored as given');
  });
});
