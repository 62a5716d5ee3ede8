// Secrets audit: real flows at trace level, then every log line, error body and table row is searched for credentials.
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { buildPlaintext, generateNonce, parsePrivateKey, signPlaintext, utf8Base64 } from '@tunai/client/signature';
import { createLogger, redactUrl } from '../src/lib/logger.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { postForm, webCheckoutInput } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, rawRequest, startTestServer, type Developer, type Dialect, type TestServer } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

/** A test server logging at `level` into `lines` (what an operator's log file would hold). */
function startLoggedServer(dialect: Dialect, level: string, lines: string[]): Promise<TestServer> {
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString('utf8')), done()) });
  return startTestServer(dialect, { LOG_LEVEL: level }, { logDestination: sink });
}

/** Every row of every table, as JSON text per table (the nonce file of SQLite included through its own handle). */
async function dumpTables(db: Kysely<Database>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const table of await db.introspection.getTables()) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}`.execute(db);
    out.set(table.name, JSON.stringify(rows.rows));
  }
  return out;
}

/** Signs a raw (possibly malformed) body the way py/kt/java SDKs do: the exact bytes sent. */
function signRaw(dev: Developer, method: string, url: string, raw: string, nowMs: number): Record<string, string> {
  const nonceStr = generateNonce();
  const timestamp = String(Math.floor(nowMs / 1000));
  const plaintext = buildPlaintext({ data: utf8Base64(raw), method, nonceStr, requestUrl: url, signType: 'sha256', timestamp });
  return { 'x-signature': `sha256 ${signPlaintext(plaintext, parsePrivateKey(dev.privateKeyPem))}`, 'x-nonce-str': nonceStr, 'x-timestamp': timestamp };
}

let serial = 0;
/** An 18-digit WeChat (MY) auth code with fresh middle digits and the given outcome suffix. */
const authCode = (suffix: string) => `1348${String(Date.now() % 1e6).padStart(6, '0')}${String(++serial).padStart(4, '0')}${suffix}`;

test('the logger redacts credentials at the top level and authCode anywhere, and keeps error codes readable', () => {
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  const failure = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
  logger.info({ authorization: 'Bearer SECRET-A', refreshToken: 'SECRET-B', authCode: 'SECRET-C', body: { authCode: 'SECRET-D', code: 'SECRET-E' } }, 'x');
  logger.error({ err: failure }, 'y');
  const text = lines.join('');
  for (const secret of ['SECRET-A', 'SECRET-B', 'SECRET-C', 'SECRET-D', 'SECRET-E']) assert.ok(!text.includes(secret), `${secret} reached the log`);
  assert.ok(text.includes('"code":"ECONNRESET"'), `an error's code stays readable: ${text}`);
});

test('logged URLs keep the values of the parameters tunai reads and replace every other value, and anything after a raw #', () => {
  assert.equal(redactUrl('/v1/token?grant_type=authorization_code&code=abc&client_secret=s3'), '/v1/token?grant_type=authorization_code&code=[redacted]&client_secret=[redacted]');
  assert.equal(redactUrl('/loyalty-redirect?merchantId=1&accessToken=eyJ.x.y'), '/loyalty-redirect?merchantId=1&accessToken=[redacted]');
  assert.equal(redactUrl('/x?refresh%5Ftoken=r&authCode=1348&X-Signature=sig&ticket=t#f'), '/x?refresh%5Ftoken=[redacted]&authCode=[redacted]&X-Signature=[redacted]&ticket=[redacted]#[redacted]');
  assert.equal(redactUrl('/checkout?checkoutId=123&status=SUCCESS'), '/checkout?checkoutId=123&status=SUCCESS');
  assert.equal(redactUrl('/v3/payment/transaction/qrcodes?order%5B%5D=-createdAt'), '/v3/payment/transaction/qrcodes?order%5B%5D=-createdAt', "the QR list's sort");
  assert.equal(
    redactUrl('/v3/stores?limit=20&cursor=aWQ6MQ&filter=%7B%7D'),
    '/v3/stores?limit=20&cursor=aWQ6MQ&filter=%7B%7D',
    'paging and filters stay readable',
  );
  assert.equal(redactUrl('/v3/merchant'), '/v3/merchant');
  assert.equal(redactUrl('/bad?%E0%A4%A=1&code'), '/bad?%E0%A4%A=[redacted]&[redacted]');
  // Credential names no list of credential names had: an audit found each of them logged in clear.
  for (const name of ['Authorization', 'jwt', 'bearer', 'apiKey', 'key', 'client_assertion', 'sig', 'credentials', 'pwd', 'passwd', 'state']) {
    assert.equal(redactUrl(`/v3/merchant?${name}=SECRET-VALUE`), `/v3/merchant?${name}=[redacted]`, name);
  }
  // Parts without a raw '=' and values carrying ';' (a fuzz audit found both logged as sent).
  assert.equal(redactUrl('/health?SECRETVALUE123'), '/health?[redacted]');
  assert.equal(redactUrl('/health?access_token%3DSECRET456&limit'), '/health?[redacted]&limit');
  assert.equal(redactUrl('/health?status=ok;apiKey=SECRET789'), '/health?status=[redacted]');
  // A raw '#' in a hand-made request line: everything after it is replaced, query-like or not.
  assert.equal(redactUrl('/v3/merchant?limit=1#&access_token=SECRET'), '/v3/merchant?limit=1#[redacted]');
  assert.equal(redactUrl('/v3/merchant#?access_token=SECRET'), '/v3/merchant#[redacted]');
  assert.equal(redactUrl('/v3/merchant?limit=1#'), '/v3/merchant?limit=1#');
});

forEachDialect('secrets audit', (dialect) => {
  const lines: string[] = [];
  let server: TestServer;
  let dev: Developer;
  let receiver: WebhookReceiver;
  let db: Kysely<Database>;
  /** Every credential the flows handled: none may reach a log line; where each may be stored is checked per table. */
  const secrets = new Map<string, string>();
  /** Request headers the clients sent (Authorization, X-Signature), captured on the way out. */
  const sentHeaders: Headers[] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    sentHeaders.push(new Headers(init?.headers));
    return fetch(input, init);
  };

  before(async () => {
    server = await startLoggedServer(dialect, 'trace', lines);
    db = openDatabase(server.database.target).db;
    dev = await createDeveloper(server, { redirectUris: ['https://partner.example/cb'] });
    dev = { ...dev, client: dev.clientWith({ fetch: recordingFetch }) };
    receiver = await new WebhookReceiver().start();
    secrets.set('clientSecret', dev.clientSecret);
  });
  after(async () => {
    await receiver.stop();
    await db.destroy();
    await server.close();
  });

  test('token grants, consent, signed calls, payments, pages, webhooks and errors leave no credential in logs or storage', async () => {
    const client = dev.client;
    // Token grants: client credentials (Basic header), refresh, authorization code through the consent page.
    const cc = await client.oauth.clientCredentials();
    const refreshed = await client.oauth.refresh(cc.refreshToken);
    secrets.set('accessToken', cc.accessToken).set('refreshToken', cc.refreshToken);
    secrets.set('refreshedAccess', refreshed.accessToken).set('refreshedRefresh', refreshed.refreshToken);
    const reuse = await fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grantType: 'refresh_token', refreshToken: cc.refreshToken }),
    });
    assert.equal(reuse.status, 400, 'a spent refresh token is refused');
    const consent = await fetch(client.oauth.authorizeUrl({ redirectUri: 'https://partner.example/cb', scopes: ['get_user_profile'], state: 'st' }));
    const ticket = /name="ticket" value="([^"]+)"/.exec(await consent.text())?.[1] ?? '';
    assert.ok(ticket.length > 20, 'the consent page carries a ticket');
    secrets.set('ticket', ticket);
    const approved = await postForm(`${server.url}/authorize`, { ticket, decision: 'approve' });
    const code = new URL(approved.headers.get('location') ?? 'https://x/').searchParams.get('code') ?? '';
    assert.ok(code.length > 20, 'approval redirects with a code');
    secrets.set('authorizationCode', code);
    const granted = await client.oauth.authorizationCode(code, 'https://partner.example/cb');
    secrets.set('codeAccess', granted.accessToken).set('codeRefresh', granted.refreshToken);
    // A spent code presented again: refused, and the family it started is revoked (the refusal path is logged too).
    const replayedCode = await client.oauth.authorizationCode(code, 'https://partner.example/cb').then(
      () => 'accepted',
      (error: unknown) => String((error as { code?: unknown }).code),
    );
    assert.equal(replayedCode, 'INVALID_CODE', 'a replayed authorization code is refused');

    // Signed calls, a bad signature (sandbox debug block), a malformed token.
    await client.merchant.get();
    const badSignature = await client.send('GET', '/v3/merchant', { headers: { 'x-signature': 'sha256 QkFEU0lHTkFUVVJFQkFEU0lHTkFUVVJF' } });
    assert.equal(badSignature.status, 401, 'a bad signature is refused');
    const badToken = await client.send('GET', '/v3/merchant', { accessToken: `${cc.accessToken}x` });
    assert.equal(badToken.status, 401, 'a tampered token is refused');

    // QuickPay: success, wallet refusals, a code of no wallet's shape; a refund with an Idempotency-Key.
    const storeId = dev.merchant.store.id;
    const okCode = authCode('0000');
    secrets.set('authCodeOk', okCode);
    const paid = await client.payment.quickPay(
      { authCode: okCode, storeId, order: { id: `sa-${++serial}`, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 }, ipAddress: '127.0.0.1' },
      { idempotencyKey: `qp-${serial}` },
    );
    for (const suffix of ['2001', '2005', '9999']) {
      const failing = authCode(suffix);
      secrets.set(`authCode${suffix}`, failing);
      const refused = await client.send('POST', '/v3/payment/quickpay', {
        body: { authCode: failing, storeId, order: { id: `sa-${++serial}`, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 }, ipAddress: '127.0.0.1' },
        idempotencyKey: `qp-${serial}`,
      });
      assert.ok(refused.status >= 400, `auth code …${suffix} is refused`);
      assert.ok(!refused.rawText.includes(failing), `the refusal of …${suffix} does not quote the auth code`);
    }
    const shapeless = '9876543210987654321';
    secrets.set('authCodeShapeless', shapeless);
    const invalid = await client.send('POST', '/v3/payment/quickpay', {
      body: { authCode: shapeless, storeId, order: { id: `sa-${++serial}`, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 }, ipAddress: '127.0.0.1' },
    });
    assert.equal(invalid.status, 400, 'an auth code of no wallet is refused');
    assert.ok(!invalid.rawText.includes(shapeless), 'the refusal does not quote the auth code');
    await client.payment.refund({ transactionId: paid.item.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 100 }, reason: 'less sugar' }, { idempotencyKey: `rf-${serial}` });

    // Checkout paid on the sandbox wallet (the notify goes out), a Transaction QR page.
    const checkout = await client.payment.createCheckout({ ...webCheckoutInput(storeId, `sa-${++serial}`, 500), notifyUrl: `http://127.0.0.1:${receiver.port}/notify` });
    await fetch(checkout.item.url);
    const pay = await postForm(`${server.url}/checkout/pay`, { checkoutId: checkout.item.checkoutId, method: 'TNG_MY' });
    const wallet = new URL(pay.headers.get('location') ?? '', server.url);
    await fetch(wallet);
    await postForm(`${server.url}/sandbox/wallet/confirm`, { order: wallet.searchParams.get('order') ?? '', outcome: '0000' });
    await fetch(`${server.url}/checkout?checkoutId=${checkout.item.checkoutId}`, { redirect: 'manual' });
    await client.sandbox.runOutbox();
    await receiver.received(1);
    const notifySignature = String(receiver.requests[0]?.headers['x-signature'] ?? '');
    assert.match(notifySignature, /^sha256 /, 'the notify is signed');
    secrets.set('notifySignature', notifySignature.slice('sha256 '.length));
    const qr = await client.payment.createQrCode(qrCodeInput(storeId));
    await fetch(qr.item.qrCodeUrl);
    await client.webhooks.list();
    await client.sandbox.clock();
    // A bad signature on a keyed QuickPay: the sandbox debug block shows the caller its own body (auth code included),
    // but the refusal comes before the key is claimed, so it is never stored.
    const debugCode = authCode('0000');
    secrets.set('authCodeBadSignature', debugCode);
    const unsigned = await client.send('POST', '/v3/payment/quickpay', {
      body: { authCode: debugCode, storeId, order: { id: `sa-${++serial}`, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 }, ipAddress: '127.0.0.1' },
      headers: { 'x-signature': 'sha256 QkFEU0lHTkFUVVJFQkFEU0lHTkFUVVJF' },
      idempotencyKey: `bad-signature-${dialect}`,
    });
    assert.equal(unsigned.status, 401, 'a bad signature is refused');
    assert.ok(unsigned.rawText.includes('preVerifyContent'), 'sandbox mode answers the debug block');
    // RM's signature tool: the private key comes in a body, never goes out in a log or an answer.
    const tool = await rawRequest(server.url, 'POST', '/tool/signature/generate', { 'content-type': 'application/json' }, JSON.stringify({ data: { a: 1 }, method: 'post', nonceStr: 'abcdefghijklmnop', privateKey: dev.privateKeyPem, requestUrl: `${server.url}/v3/x`, signType: 'sha256', timestamp: '1' }));
    assert.equal(tool.status, 200, `the signature tool answers: ${tool.text}`);
    assert.ok(!tool.text.includes('PRIVATE KEY'), 'the signature tool echoes the private key');

    for (const headers of sentHeaders) {
      const signature = headers.get('x-signature');
      if (signature && signature !== 'sha256 QkFEU0lHTkFUVVJFQkFEU0lHTkFUVVJF') secrets.set(`signature:${secrets.size}`, signature.slice('sha256 '.length));
    }
    assert.ok([...secrets.keys()].some((k) => k.startsWith('signature:')), 'signed requests were captured');

    const text = lines.join('');
    assert.match(text, /"msg":"request"/, 'requests were logged');
    for (const [name, value] of secrets) assert.ok(!text.includes(value), `${name} reached the log`);
    assert.ok(!text.includes('PRIVATE KEY'), 'a private key reached the log');

    // Storage: credentials only as hashes. Nonces are stored on purpose (replay protection); server_keys holds the
    // server's own signing key, which cannot be hashed and is needed to sign.
    const tables = await dumpTables(db);
    assert.ok(tables.has('refresh_tokens') && tables.has('idempotency_keys'), 'every table was read');
    for (const [table, rows] of tables) {
      for (const [name, value] of secrets) assert.ok(!rows.includes(value), `${name} is stored in plain text in ${table}`);
      if (table !== 'server_keys') assert.ok(!rows.includes('PRIVATE KEY'), `a private key is stored in ${table}`);
    }
  });

  test('credentials a caller puts in a query string never reach the request log', async () => {
    const token = await dev.clientWith({}).oauth.clientCredentials();
    const before = lines.length;
    // An OAuth library that sends its grant as query parameters: refused, but the request line is logged.
    const query = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token.refreshToken, client_secret: dev.clientSecret, code: 'AUTHCODE-IN-QUERY' });
    const refused = await fetch(`${server.url}/v1/token?${query.toString()}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(refused.status, 400, 'a grant in the query is refused');
    await fetch(`${server.url}/v3/merchant?accessToken=${encodeURIComponent(token.accessToken)}`);
    const logged = lines.slice(before).join('');
    assert.match(logged, /"url":"\/v1\/token\?grant_type=refresh_token&refresh_token=\[redacted\]/, `the request line is logged with its query redacted: ${logged}`);
    for (const secret of [token.refreshToken, dev.clientSecret, 'AUTHCODE-IN-QUERY', token.accessToken]) assert.ok(!logged.includes(secret), 'a query credential reached the log');
  });

  test('a malformed body is refused without quoting it, so no auth code or token fragment is answered or stored', async () => {
    const token = await dev.clientWith({}).oauth.clientCredentials();
    const url = `${server.url}/v3/payment/quickpay`;
    const code = authCode('0000');
    const bodies = [
      `{"storeId":"${dev.merchant.store.id}","authCode":X${code}}`,
      `{"authCode":'${code}'}`,
      `${code}x`,
    ];
    for (const [index, raw] of bodies.entries()) {
      const key = `malformed-${dialect}-${index}`;
      const res = await rawRequest(server.url, 'POST', '/v3/payment/quickpay', {
        authorization: `Bearer ${token.accessToken}`,
        'content-type': 'application/json',
        'idempotency-key': key,
        ...signRaw(dev, 'post', url, raw, server.clock.nowMs()),
      }, raw);
      assert.equal(res.status, 400, `malformed body ${index} is refused: ${res.text}`);
      assert.match(String(res.json?.error?.message), /^Malformed JSON body: /, 'the refusal says the body is malformed');
      assert.ok(!res.text.includes(code.slice(0, 8)), `the refusal quotes the auth code: ${res.text}`);
      const stored = await db.selectFrom('idempotency_keys').select('response_body').where('idempotency_key', '=', key).executeTakeFirst();
      assert.ok(stored?.response_body, 'the refusal is the key\'s stored answer');
      assert.ok(!stored.response_body.includes(code.slice(0, 8)), `the stored answer quotes the auth code: ${stored.response_body}`);
    }
    const basic = `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64')}`;
    const grant = await rawRequest(server.url, 'POST', '/v1/token', { authorization: basic, 'content-type': 'application/json' }, `{"grantType":"refresh_token","refreshToken":${token.refreshToken}}`);
    assert.equal(grant.status, 400, 'an unquoted refresh token is malformed JSON');
    assert.ok(!grant.text.includes(token.refreshToken.slice(0, 8)), `the refusal quotes the refresh token: ${grant.text}`);
    const tokenRefusal = await rawRequest(server.url, 'POST', '/v1/token', { authorization: basic, 'content-type': 'application/json' }, `{"grantType":"refresh_token","refreshToken":"abc`);
    assert.match(String(tokenRefusal.json?.error?.message), /Unterminated string in JSON at position \d+/, 'positions V8 reports are kept');
  });

  test('another merchant sees none of this merchant\'s payments, checkouts, webhooks or keyed answers', async () => {
    const other = await createDeveloper(server, { companyName: 'Other Merchant' });
    const storeId = dev.merchant.store.id;
    const paid = await dev.client.payment.quickPay(
      { authCode: authCode('0000'), storeId, order: { id: `iso-${++serial}`, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 }, ipAddress: '127.0.0.1' },
      { idempotencyKey: 'shared-key' },
    );
    const checkout = await dev.client.payment.createCheckout({ ...webCheckoutInput(storeId, `iso-${++serial}`, 500), notifyUrl: `http://127.0.0.1:${receiver.port}/notify` });
    const events = await dev.client.webhooks.list();
    const eventId = (events.items[0] as { id?: string } | undefined)?.id ?? '';
    assert.ok(eventId !== '', 'this merchant has a webhook event');
    for (const path of [`/v3/payment/transaction/${paid.item.transactionId}`, `/v3/payment/online?checkoutId=${checkout.item.checkoutId}`, `/admin/webhooks/${eventId}`]) {
      const res = await other.client.send('GET', path);
      assert.ok(res.status === 404 || res.status === 400, `${path} answers another merchant ${res.status}: ${res.rawText}`);
      assert.ok(!res.rawText.includes(paid.item.transactionId) || path.includes(paid.item.transactionId), `${path} shows this merchant's transaction`);
    }
    const listed = await other.client.send('GET', '/admin/webhooks');
    assert.ok(!listed.rawText.includes(eventId), 'another merchant\'s webhook list shows this merchant\'s event');
    const transactions = await other.client.send('GET', '/v3/payment/transactions');
    assert.ok(!transactions.rawText.includes(paid.item.transactionId), 'another merchant\'s transaction list shows this payment');
    // The same Idempotency-Key from another app runs its own request: it is never handed this merchant's answer.
    const otherKeyed = await other.client.send('POST', '/v3/payment/quickpay', {
      body: { authCode: authCode('0000'), storeId: other.merchant.store.id, order: { id: `iso-${++serial}`, title: 'Teh', detail: '', additionalData: '', currencyType: 'MYR', amount: 300 }, ipAddress: '127.0.0.1' },
      idempotencyKey: 'shared-key',
    });
    assert.equal(otherKeyed.status, 200, `another app's request under the same key runs: ${otherKeyed.rawText}`);
    assert.ok(!otherKeyed.rawText.includes(paid.item.transactionId), 'another app is handed this merchant\'s keyed answer');
  });
});
