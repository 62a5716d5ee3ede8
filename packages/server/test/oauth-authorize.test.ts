// The authorization-code flow over real HTTP: GET/POST /authorize consent page, tickets, redirects and the code exchange on /v1/token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createClientApp } from '../src/app/create-client-app.js';
import { assertPageHeaders } from './api-checks.js';
import { createDeveloper, forEachDialect, startTestServer, testDatabaseUrl, type Developer, type TestServer } from './harness.js';

const callback = 'https://partner.example/callback';
/** A registered URI that already carries a query: the code and state are added to it. */
const callbackWithQuery = 'https://partner.example/cb?tenant=7';

interface Page {
  status: number;
  contentType: string;
  location: string | null;
  text: string;
}

interface TokenCall {
  status: number;
  body: Record<string, unknown>;
  rawText: string;
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function authorizeQuery(params: Record<string, string | undefined>): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

async function readPage(response: Response): Promise<Page> {
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    location: response.headers.get('location'),
    text: await response.text(),
  };
}

async function getAuthorize(server: TestServer, query: string): Promise<Page> {
  return readPage(await fetch(`${server.url}/authorize?${query}`, { redirect: 'manual' }));
}

async function postAuthorize(server: TestServer, form: string): Promise<Page> {
  return readPage(
    await fetch(`${server.url}/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
    }),
  );
}

function ticketOf(page: Page): string {
  const match = /<input type="hidden" name="ticket" value="([^"]+)">/.exec(page.text);
  assert.ok(match?.[1], `consent page has a hidden ticket: ${page.text.slice(0, 300)}`);
  return match[1];
}

/** Opens the consent page for the app (valid request) and returns its ticket. */
async function consentTicket(server: TestServer, dev: Developer, scope: string, state = 'st-1', redirectUri = callback): Promise<string> {
  const page = await getAuthorize(server, authorizeQuery({ responseType: 'code', clientId: dev.clientId, redirectUri, scope, state }));
  assert.equal(page.status, 200, page.text);
  return ticketOf(page);
}

/** Runs consent → approve and returns the code from the redirect. */
async function obtainCode(server: TestServer, dev: Developer, scope: string, state = 'st-1', redirectUri = callback): Promise<string> {
  const ticket = await consentTicket(server, dev, scope, state, redirectUri);
  const res = await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`);
  assert.equal(res.status, 302, res.text);
  const code = new URL(res.location ?? '').searchParams.get('code');
  assert.ok(code, `redirect carries a code: ${res.location}`);
  return code;
}

async function exchange(server: TestServer, dev: Developer, body: Record<string, unknown>): Promise<TokenCall> {
  const response = await fetch(`${server.url}/v1/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64')}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ grantType: 'authorization_code', ...body }),
  });
  const rawText = await response.text();
  return { status: response.status, body: JSON.parse(rawText) as Record<string, unknown>, rawText };
}

function assertTokenError(res: TokenCall, status: number, code: string): void {
  assert.equal(res.status, status, res.rawText);
  assert.equal((res.body['error'] as { code?: string } | undefined)?.code, code, res.rawText);
  assert.equal(res.body['accessToken'], undefined);
}

function assertErrorPage(page: Page, status: number, code: string): void {
  assert.equal(page.status, status, page.text);
  assert.match(page.contentType, /^text\/html/);
  assert.ok(page.text.includes(code), `error page names ${code}: ${page.text.slice(-300)}`);
  assert.ok(!page.text.includes('name="ticket"'), 'an error page carries no consent form');
  assert.equal(page.location, null);
}

function scopesOf(accessToken: string): string[] {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { scp: string[] };
  return payload.scp;
}

async function statusWith(dev: Developer, path: string, accessToken: string): Promise<{ status: number; code: unknown }> {
  const res = await dev.client.send('GET', path, { accessToken });
  const body = res.body as { code?: unknown; error?: { code?: unknown } };
  return { status: res.status, code: res.status === 200 ? body.code : body.error?.code };
}

interface CodeRow {
  code_hash: string;
  client_id: string;
  redirect_uri: string;
  used_at_ms: unknown;
}

/** The stored authorization codes, read straight from the database (beneath the storage layer). */
async function storedCodes(server: TestServer): Promise<CodeRow[]> {
  const target = server.database.target;
  if (target.kind === 'sqlite') {
    const db = new BetterSqlite3(target.filePath, { readonly: true });
    try {
      return db.prepare('select code_hash, client_id, redirect_uri, used_at_ms from authorization_codes').all() as CodeRow[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<CodeRow>(`select code_hash, client_id, redirect_uri, used_at_ms from ${target.schema as string}.authorization_codes`);
    return rows;
  } finally {
    await client.end();
  }
}

forEachDialect('OAuth authorization code', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Kedai Consent', redirectUris: [callback, callbackWithQuery] });
  });
  after(() => server.close());

  describe('consent page', () => {
    test('GET /authorize → 200 HTML listing exactly the requested scopes, with the form and hidden ticket', async () => {
      const url = dev.client.oauth.authorizeUrl({ redirectUri: callback, scopes: ['get_merchant_profile', 'manage_store'], state: 'abc' });
      const page = await readPage(await fetch(url, { redirect: 'manual' }));
      const { status, contentType, text } = page;
      assert.equal(status, 200, text);
      assert.match(contentType, /^text\/html; charset=utf-8/);
      assert.ok(text.includes('<code>get_merchant_profile</code>'));
      assert.ok(text.includes('<code>manage_store</code>'));
      assert.ok(!text.includes('<code>get_user_profile</code>'), 'scopes not asked for are not listed');
      assert.ok(!text.includes('<code>manage_payment</code>'));
      assert.ok(text.includes('Kedai Consent'), 'names the merchant');
      assert.ok(text.includes(callback), 'shows where the browser will be sent');
      assert.ok(text.includes('<form method="post" action="authorize">'), 'the form posts back to /authorize, relative to the page');
      assert.ok(text.includes('name="decision" value="approve"'));
      assert.ok(text.includes('name="decision" value="deny"'));
      assert.ok(ticketOf(page).length > 20);
    });

    test('the consent page and its error page are not cacheable and cannot be framed by another site', async () => {
      const res = await fetch(`${server.url}/authorize?${authorizeQuery({ responseType: 'code', clientId: dev.clientId, redirectUri: callback, scope: 'manage_store' })}`);
      assert.equal(res.status, 200);
      assertPageHeaders(res, 'consent page');
      const refused = await fetch(`${server.url}/authorize?${authorizeQuery({ responseType: 'code', clientId: dev.clientId, redirectUri: callback, scope: 'no_such_scope' })}`);
      assert.equal(refused.status, 400);
      assertPageHeaders(refused, 'consent error page');
    });

    test('a state of 512 characters is accepted; 513 → 400 INVALID_REQUEST', async () => {
      const base = { responseType: 'code', clientId: dev.clientId, redirectUri: callback, scope: 'manage_store' };
      const ok = await getAuthorize(server, authorizeQuery({ ...base, state: 's'.repeat(512) }));
      assert.equal(ok.status, 200, ok.text);
      const tooLong = await getAuthorize(server, authorizeQuery({ ...base, state: 's'.repeat(513) }));
      assertErrorPage(tooLong, 400, 'INVALID_REQUEST');
    });
  });

  describe('approve and exchange', () => {
    test('approve → 302 to the redirect URI with code and state; the code buys a token with exactly the requested scopes', async () => {
      const ticket = await consentTicket(server, dev, 'get_merchant_profile', 'xyz-42');
      const res = await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`);
      assert.equal(res.status, 302, res.text);
      assert.ok(res.location);
      const location = new URL(res.location);
      assert.equal(`${location.origin}${location.pathname}`, callback);
      assert.deepEqual([...location.searchParams.keys()].sort(), ['code', 'state']);
      assert.equal(location.searchParams.get('state'), 'xyz-42');
      const code = location.searchParams.get('code') as string;
      assert.ok(code.length >= 32);

      const token = await exchange(server, dev, { code, redirectUri: callback });
      assert.equal(token.status, 200, token.rawText);
      assert.deepEqual(Object.keys(token.body).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'refreshTokenExpiresIn', 'tokenType']);
      assert.equal(token.body['tokenType'], 'Bearer');
      assert.equal(token.body['expiresIn'], 7200);
      const accessToken = token.body['accessToken'] as string;
      assert.deepEqual(scopesOf(accessToken), ['get_merchant_profile']);
      assert.equal((await statusWith(dev, '/v3/merchant', accessToken)).status, 200);
      const stores = await statusWith(dev, '/v3/stores', accessToken);
      assert.equal(stores.status, 403);
      assert.equal(stores.code, 'CLIENT_NO_PERMISSION');
    });

    test('several scopes: the token carries those and no others; its refresh keeps them', async () => {
      const code = await obtainCode(server, dev, 'get_merchant_profile,manage_store');
      const token = await dev.client.oauth.authorizationCode(code, callback);
      assert.deepEqual([...scopesOf(token.accessToken)].sort(), ['get_merchant_profile', 'manage_store']);
      assert.equal((await statusWith(dev, '/v3/stores', token.accessToken)).status, 200);
      assert.equal((await statusWith(dev, '/v3/user', token.accessToken)).code, 'CLIENT_NO_PERMISSION');
      const refreshed = await dev.client.oauth.refresh(token.refreshToken);
      assert.deepEqual([...scopesOf(refreshed.accessToken)].sort(), ['get_merchant_profile', 'manage_store']);
      assert.equal((await statusWith(dev, '/v3/user', refreshed.accessToken)).code, 'CLIENT_NO_PERMISSION');
    });

    test('state with reserved characters comes back byte for byte', async () => {
      const state = 'a b&c=d/é?#+%';
      const ticket = await consentTicket(server, dev, 'manage_store', state);
      const res = await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`);
      assert.equal(res.status, 302, res.text);
      assert.equal(new URL(res.location ?? '').searchParams.get('state'), state);
    });

    test('a registered redirect URI with its own query keeps it and gains code and state', async () => {
      const code = await obtainCode(server, dev, 'manage_store', 'q', callbackWithQuery);
      const token = await exchange(server, dev, { code, redirectUri: callbackWithQuery });
      assert.equal(token.status, 200, token.rawText);
      const ticket = await consentTicket(server, dev, 'manage_store', 'q', callbackWithQuery);
      const res = await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`);
      const location = new URL(res.location ?? '');
      assert.equal(location.searchParams.get('tenant'), '7');
      assert.equal(location.searchParams.get('state'), 'q');
      assert.ok(location.searchParams.get('code'));
    });

    test('the code is stored only as a SHA-256 digest, bound to the app and redirect URI', async () => {
      const code = await obtainCode(server, dev, 'manage_store');
      const rows = await storedCodes(server);
      assert.ok(!rows.some((r) => r.code_hash === code), 'the raw code is not stored');
      const row = rows.find((r) => r.code_hash === sha256Hex(code));
      assert.ok(row, 'its digest is stored');
      assert.equal(row.client_id, dev.clientId);
      assert.equal(row.redirect_uri, callback);
      assert.equal(row.used_at_ms, null);
      const token = await exchange(server, dev, { code, redirectUri: callback });
      assert.equal(token.status, 200, token.rawText);
      const spent = (await storedCodes(server)).find((r) => r.code_hash === sha256Hex(code));
      assert.notEqual(spent?.used_at_ms, null, 'the exchange marks the code used');
    });

    test('code reuse → 400 INVALID_CODE, and the refresh tokens the first exchange started are revoked', async () => {
      const code = await obtainCode(server, dev, 'manage_store');
      const first = await exchange(server, dev, { code, redirectUri: callback });
      assert.equal(first.status, 200);
      // The family has moved on one rotation before the code comes back: the successor is revoked too.
      const rotated = await exchange(server, dev, { grantType: 'refresh_token', refreshToken: first.body['refreshToken'] as string });
      assert.equal(rotated.status, 200, rotated.rawText);
      assertTokenError(await exchange(server, dev, { code, redirectUri: callback }), 400, 'INVALID_CODE');
      assertTokenError(await exchange(server, dev, { grantType: 'refresh_token', refreshToken: rotated.body['refreshToken'] as string }), 400, 'INVALID_GRANT');
    });

    test('a client-credentials token of the same app is untouched by a replayed code', async () => {
      const own = await exchange(server, dev, { grantType: 'client_credentials' });
      assert.equal(own.status, 200, own.rawText);
      const code = await obtainCode(server, dev, 'manage_store');
      assert.equal((await exchange(server, dev, { code, redirectUri: callback })).status, 200);
      assertTokenError(await exchange(server, dev, { code, redirectUri: callback }), 400, 'INVALID_CODE');
      assert.equal((await exchange(server, dev, { grantType: 'refresh_token', refreshToken: own.body['refreshToken'] as string })).status, 200);
    });

    test('redirectUri different from the one used at /authorize → 400 INVALID_GRANT', async () => {
      for (const redirectUri of [callbackWithQuery, `${callback}/`, 'https://partner.example/Callback', 'https://evil.example/callback']) {
        const code = await obtainCode(server, dev, 'manage_store');
        assertTokenError(await exchange(server, dev, { code, redirectUri }), 400, 'INVALID_GRANT');
      }
    });

    test('code or redirectUri missing on exchange → 400 INVALID_REQUEST', async () => {
      const code = await obtainCode(server, dev, 'manage_store');
      assertTokenError(await exchange(server, dev, { redirectUri: callback }), 400, 'INVALID_REQUEST');
      assertTokenError(await exchange(server, dev, { code }), 400, 'INVALID_REQUEST');
      // Neither refusal spent the code.
      assert.equal((await exchange(server, dev, { code, redirectUri: callback })).status, 200);
    });

    test('unknown code → 400 INVALID_CODE', async () => {
      assertTokenError(await exchange(server, dev, { code: 'x'.repeat(96), redirectUri: callback }), 400, 'INVALID_CODE');
    });

    test('a code works until 300 s and is INVALID_CODE after (clock +301 s)', async () => {
      const early = await obtainCode(server, dev, 'manage_store');
      const late = await obtainCode(server, dev, 'manage_store');
      server.clock.advanceMs(299_000);
      assert.equal((await exchange(server, dev, { code: early, redirectUri: callback })).status, 200);
      server.clock.advanceMs(2_000);
      assertTokenError(await exchange(server, dev, { code: late, redirectUri: callback }), 400, 'INVALID_CODE');
    });

    test('a code redeemed with another app’s credentials → 400 INVALID_CODE', async () => {
      const other = await createDeveloper(server, { companyName: 'Other Partner', redirectUris: [callback] });
      const code = await obtainCode(server, dev, 'manage_store');
      assertTokenError(await exchange(server, other, { code, redirectUri: callback }), 400, 'INVALID_CODE');
      // The attempt did not burn the code for the app it was issued to.
      const owner = await exchange(server, dev, { code, redirectUri: callback });
      assert.equal(owner.status, 200);
    });
  });

  describe('deny and tickets', () => {
    test('deny → 302 to the redirect URI with error=access_denied and state, and no code stored', async () => {
      const before = (await storedCodes(server)).length;
      const ticket = await consentTicket(server, dev, 'manage_store', 'deny-state');
      const res = await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=deny`);
      assert.equal(res.status, 302, res.text);
      const location = new URL(res.location ?? '');
      assert.equal(`${location.origin}${location.pathname}`, callback);
      assert.equal(location.searchParams.get('error'), 'access_denied');
      assert.equal(location.searchParams.get('state'), 'deny-state');
      assert.equal(location.searchParams.get('code'), null);
      assert.equal((await storedCodes(server)).length, before);
    });

    test('a consent ticket answers once: approving or denying it again → 400 INVALID_REQUEST page and no second code', async () => {
      const ticket = await consentTicket(server, dev, 'manage_store', 'once');
      const approved = await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`);
      assert.equal(approved.status, 302, approved.text);
      const before = (await storedCodes(server)).length;
      assertErrorPage(await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`), 400, 'INVALID_REQUEST');
      assertErrorPage(await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=deny`), 400, 'INVALID_REQUEST');
      assert.equal((await storedCodes(server)).length, before);
      // Racing copies of one fresh ticket: exactly one redirect.
      const raced = await consentTicket(server, dev, 'manage_store', 'raced');
      const answers = await Promise.all(Array.from({ length: 8 }, () => postAuthorize(server, `ticket=${encodeURIComponent(raced)}&decision=approve`)));
      assert.deepEqual(answers.map((a) => a.status).sort(), [302, 400, 400, 400, 400, 400, 400, 400]);
      assert.equal((await storedCodes(server)).length, before + 1);
    });

    test('forged or tampered tickets → 400 INVALID_REQUEST page, no redirect and no code stored', async () => {
      const before = (await storedCodes(server)).length;
      const ticket = await consentTicket(server, dev, 'manage_store');
      const [body, mac] = ticket.split('.') as [string, string];
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
      const reencode = (changes: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...payload, ...changes })).toString('base64url');
      const i = Math.floor(mac.length / 2);
      const forged = [
        `${body}.${mac.slice(0, i)}${mac[i] === 'A' ? 'B' : 'A'}${mac.slice(i + 1)}`, // flipped MAC character
        `${reencode({ scopes: ['manage_store', 'manage_payment'] })}.${mac}`, // widened scopes
        `${reencode({ redirectUri: 'https://evil.example/steal' })}.${mac}`, // redirect elsewhere
        `${reencode({ expiresAtMs: Number.MAX_SAFE_INTEGER })}.${mac}`,
        `${body}.`,
        body,
        'not-a-ticket',
        '',
      ];
      for (const candidate of forged) {
        for (const decision of ['approve', 'deny']) {
          const res = await postAuthorize(server, `ticket=${encodeURIComponent(candidate)}&decision=${decision}`);
          assertErrorPage(res, 400, 'INVALID_REQUEST');
        }
      }
      assertErrorPage(await postAuthorize(server, 'decision=approve'), 400, 'INVALID_REQUEST');
      assert.equal((await storedCodes(server)).length, before, 'no code was stored');
      // The genuine ticket still works, so the refusals were the tampering.
      const ok = await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`);
      assert.equal(ok.status, 302);
    });

    test('a consent ticket expires after 10 minutes → 400 INVALID_REQUEST', async () => {
      const ticket = await consentTicket(server, dev, 'manage_store');
      server.clock.advanceMs(601_000);
      const before = (await storedCodes(server)).length;
      assertErrorPage(await postAuthorize(server, `ticket=${encodeURIComponent(ticket)}&decision=approve`), 400, 'INVALID_REQUEST');
      assert.equal((await storedCodes(server)).length, before);
    });
  });

  describe('GET /authorize errors', () => {
    const valid = () => ({ responseType: 'code', clientId: dev.clientId, redirectUri: callback, scope: 'manage_store', state: 's' });

    test('unregistered or near-miss redirectUri → 400 page with INVALID_GRANT', async () => {
      for (const redirectUri of [
        'https://evil.example/callback',
        `${callback}/`,
        `${callback}/evil`,
        `${callback}?x=1`,
        'http://partner.example/callback',
        'https://partner.example/cb', // registered only with its query
        '',
      ]) {
        const page = await getAuthorize(server, authorizeQuery({ ...valid(), redirectUri }));
        assertErrorPage(page, 400, 'INVALID_GRANT');
      }
      assertErrorPage(await getAuthorize(server, authorizeQuery({ ...valid(), redirectUri: undefined })), 400, 'INVALID_GRANT');
    });

    test('unknown scope, empty scope, or a scope the app lacks → 400 INVALID_SCOPE', async () => {
      for (const scope of ['make_coffee', 'manage_store,make_coffee', '', ',', 'MANAGE_STORE']) {
        assertErrorPage(await getAuthorize(server, authorizeQuery({ ...valid(), scope })), 400, 'INVALID_SCOPE');
      }
      const limited = await createDeveloper(server, { scopes: ['get_merchant_profile'], redirectUris: [callback] });
      const lacking = await getAuthorize(server, authorizeQuery({ ...valid(), clientId: limited.clientId, scope: 'get_merchant_profile,manage_store' }));
      assertErrorPage(lacking, 400, 'INVALID_SCOPE');
      const allowed = await getAuthorize(server, authorizeQuery({ ...valid(), clientId: limited.clientId, scope: 'get_merchant_profile' }));
      assert.equal(allowed.status, 200, allowed.text);
    });

    test('responseType other than code → 400 UNSUPPORTED_RESPONSE_TYPE', async () => {
      for (const responseType of ['token', 'CODE', '', undefined]) {
        assertErrorPage(await getAuthorize(server, authorizeQuery({ ...valid(), responseType })), 400, 'UNSUPPORTED_RESPONSE_TYPE');
      }
    });

    test('unknown clientId → 401 INVALID_CLIENT', async () => {
      assertErrorPage(await getAuthorize(server, authorizeQuery({ ...valid(), clientId: '9999999999999999999' })), 401, 'INVALID_CLIENT');
    });

    test('repeated query parameters are refused with a 4xx page, never a 500', async () => {
      // RFC 6749 §3.1: request parameters MUST NOT be included more than once.
      const base = authorizeQuery(valid());
      const extras = ['scope=manage_store', 'redirectUri=https%3A%2F%2Fpartner.example%2Fcallback', `clientId=${dev.clientId}`, 'clientId=1', 'responseType=code', 'state=t'];
      const problems: string[] = [];
      for (const extra of extras) {
        const page = await getAuthorize(server, `${base}&${extra}`);
        const ok = page.status >= 400 && page.status < 500 && /^text\/html/.test(page.contentType) && !page.text.includes('name="ticket"');
        if (!ok) problems.push(`${extra} → ${page.status} ${page.contentType} ${page.text.slice(-120).replace(/\s+/g, ' ')}`);
      }
      assert.deepEqual(problems, []);
    });
  });

  describe('HTML escaping', () => {
    test('app name, merchant name and redirect URI are escaped on the consent page', async () => {
      const evilUri = 'https://partner.example/cb?next="><script>alert(2)</script>';
      const hostile = await createDeveloper(server, { companyName: '<script>alert(1)</script> & Co', redirectUris: [evilUri] });
      const { app } = await createClientApp(server.running.deps, {
        merchantId: hostile.merchant.merchant.id,
        name: '<script>alert("app")</script><img src=x onerror=alert(3)>',
        redirectUris: [evilUri],
        scopes: ['manage_store'],
      });
      const page = await getAuthorize(server, authorizeQuery({ responseType: 'code', clientId: app.clientId, redirectUri: evilUri, scope: 'manage_store', state: '<script>' }));
      assert.equal(page.status, 200, page.text);
      assert.ok(!/<script/i.test(page.text), 'no raw <script> on the page');
      assert.ok(!page.text.includes('<img'), 'no injected element');
      assert.ok(page.text.includes('&lt;script&gt;alert(&quot;app&quot;)&lt;/script&gt;'), 'app name shown escaped');
      assert.ok(page.text.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co'), 'merchant name shown escaped');
      assert.ok(page.text.includes('next=&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;'), 'redirect URI shown escaped');

      // The escaped ticket still round-trips, and the redirect is a proper URL.
      const res = await postAuthorize(server, `ticket=${encodeURIComponent(ticketOf(page))}&decision=approve`);
      assert.equal(res.status, 302, res.text);
      const location = new URL(res.location ?? '');
      assert.equal(location.searchParams.get('next'), '"><script>alert(2)</script>');
      assert.equal(location.searchParams.get('state'), '<script>');
      assert.ok(!(res.location ?? '').includes('<'), 'Location is percent-encoded');
    });
  });
});
