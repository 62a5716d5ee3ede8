// Inputs a route-by-route fuzz found answering 500 or outside RM's envelope, each now a 4xx in the envelope that
// writes nothing: JSON nested past the limit, NUL inside a `filter` or a Basic client id (PostgreSQL text cannot
// hold it), requests Node's HTTP parser refuses before routing, and CONNECT (both databases).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { limits } from '@tunai/client/contract';
import { buildPlaintext, generateNonce, parsePrivateKey, signPlaintext, utf8Base64 } from '@tunai/client/signature';
import { rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';
import { openDatabase } from '../src/store/database.js';

/** `[[…]]` nested `depth` levels deep. */
function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Sends raw bytes on a fresh socket and returns everything the server answers before it closes the connection. */
function rawExchange(url: string, request: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.write(request);
  });
}

/** The status code and JSON body of a raw HTTP/1.1 answer; every refusal names itself with an X-Request-Id. */
function parseRawAnswer(answer: string): { status: number; body: { error?: { code?: string; message?: string } } } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  if (status >= 400) assert.match(head, /\r\nx-request-id: [A-Za-z0-9._:-]+\r\n/i, `the ${status} names its request: ${head}`);
  return { status, body: JSON.parse(body) as { error?: { code?: string; message?: string } } };
}

forEachDialect('edge refusals', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let db: ReturnType<typeof openDatabase>['db'];
  const tables = ['payment_transactions', 'payment_refunds', 'ledger_entries', 'payment_checkouts', 'payment_qr_codes', 'stores'];
  const counter = rowCounter(() => db, tables);
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server);
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  const toolBody = (data: string) =>
    `{"data":${data},"method":"post","nonceStr":"abcdefgh","privateKey":${JSON.stringify(dev.privateKeyPem)},"requestUrl":"https://x.example/v3","signType":"sha256","timestamp":"1"}`;
  const postTool = (body: string) => fetch(`${server.url}/tool/signature/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  test(`JSON nested ${limits.jsonNestingDepthMax} levels is accepted; one more, or thousands, → 400 INVALID_REQUEST`, async () => {
    // The tool's own wrapper object is the first level.
    const atMax = await postTool(toolBody(nestedArrays(limits.jsonNestingDepthMax - 1)));
    assert.equal(atMax.status, 200, await atMax.clone().text());
    assert.match(((await atMax.json()) as { signature: string }).signature, /^sha256 /);
    for (const depth of [limits.jsonNestingDepthMax, 4_000]) {
      const refused = await postTool(toolBody(nestedArrays(depth)));
      const body = (await refused.json()) as { error: { code: string; message: string } };
      assert.deepEqual([refused.status, body.error.code], [400, 'INVALID_REQUEST'], `depth ${depth + 1}`);
      assert.match(body.error.message, new RegExp(`deeper than ${limits.jsonNestingDepthMax} levels`));
    }
  });

  // A valid signature spends its nonce whatever the body holds (by design), so nonces are not counted here.
  test('a deeply nested body on a signed route: a wrong signature → 401, a right one → 400, nothing written', async () => {
    const accessToken = await dev.client.getAccessToken();
    const rawBody = `{"orderId":"x","deep":${nestedArrays(4_000)}}`;
    const requestUrl = `${server.url}/v3/payment/reverse`;
    const headersFor = (signature: string, nonceStr: string, timestamp: string) => ({
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      'x-signature': signature,
      'x-nonce-str': nonceStr,
      'x-timestamp': timestamp,
    });
    await counter.writesNothing(async () => {
      const timestamp = String(Math.floor(server.clock.nowMs() / 1000));
      const wrong = await fetch(requestUrl, { method: 'POST', headers: headersFor('sha256 AAAA', generateNonce(), timestamp), body: rawBody });
      assert.deepEqual([wrong.status, ((await wrong.json()) as { error: { code: string } }).error.code], [401, 'INVALID_REQUEST_SIGNATURE']);
      // Signed over the exact bytes sent, as the Python, Kotlin and Java SDKs do.
      const nonceStr = generateNonce();
      const plaintext = buildPlaintext({ data: utf8Base64(rawBody), method: 'post', nonceStr, requestUrl, signType: 'sha256', timestamp });
      const signature = `sha256 ${signPlaintext(plaintext, parsePrivateKey(dev.privateKeyPem))}`;
      const right = await fetch(requestUrl, { method: 'POST', headers: headersFor(signature, nonceStr, timestamp), body: rawBody });
      const body = (await right.json()) as { error: { code: string; message: string } };
      assert.deepEqual([right.status, body.error.code], [400, 'INVALID_REQUEST']);
    });
  });

  test('NUL (as JSON \\u0000) inside a filter → 400 VALIDATION_ERROR on every filtered list', async () => {
    for (const [path, filter] of [
      ['/v3/payment/transactions', '{"method":"a\\u0000b"}'],
      ['/v3/payment/transaction/qrcodes', '{"storeId":"\\u0000"}'],
      ['/v3/stores', '{"updatedAt":{"$gte":"\\u0000"}}'],
    ] as const) {
      const answer = await dev.client.send('GET', path, { query: { filter } });
      const body = answer.body as { error?: { code: string; message: string } };
      assert.deepEqual([answer.status, body.error?.code], [400, 'VALIDATION_ERROR'], `${path}: ${answer.rawText}`);
      assert.match(body.error?.message ?? '', /NUL/);
    }
  });

  test('NUL inside a Basic client id → 401 INVALID_CLIENT; inside the token body → 400 INVALID_REQUEST (the OAuth table has no VALIDATION_ERROR)', async () => {
    const basic = Buffer.from(`${dev.clientId}\u0000x:${dev.clientSecret}`).toString('base64');
    const answer = await fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
      body: '{"grantType":"client_credentials"}',
    });
    const body = (await answer.json()) as { error?: { code: string }; accessToken?: string };
    assert.deepEqual([answer.status, body.error?.code, body.accessToken], [401, 'INVALID_CLIENT', undefined]);
    const inBody = await fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: '{"grantType":"client_credentials","x":"a\\u0000b"}',
    });
    const refused = (await inBody.json()) as { error?: { code: string; message: string }; accessToken?: string };
    assert.deepEqual([inBody.status, refused.error?.code, refused.accessToken], [400, 'INVALID_REQUEST', undefined]);
    assert.match(refused.error?.message ?? '', /NUL/);
  });

  test('requests Node refuses before routing are answered in the envelope: bad target 400, huge headers 431, CONNECT 405', async () => {
    const rawTarget = parseRawAnswer(await rawExchange(server.url, Buffer.from('GET /v3/stores?x=\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1')));
    assert.deepEqual([rawTarget.status, rawTarget.body.error?.code], [400, 'INVALID_REQUEST']);
    const controlInHeader = parseRawAnswer(await rawExchange(server.url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Nonce-Str: ab\u0001cd\r\n\r\n'));
    assert.deepEqual([controlInHeader.status, controlInHeader.body.error?.code], [400, 'INVALID_REQUEST']);
    const huge = parseRawAnswer(await rawExchange(server.url, `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`));
    assert.deepEqual([huge.status, huge.body.error?.code], [431, 'INVALID_REQUEST']);
    const tunnel = parseRawAnswer(await rawExchange(server.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
    assert.deepEqual([tunnel.status, tunnel.body.error?.code], [405, 'METHOD_NOT_ALLOWED']);
    // The server is still serving.
    assert.equal((await fetch(`${server.url}/health/live`)).status, 200);
  });

  test('an unmet Expect → 417, an HTTP/1.1 request without Host → 400, both in the envelope; HTTP/1.0 needs no Host', async () => {
    await counter.writesNothing(async () => {
      const expect = parseRawAnswer(await rawExchange(server.url, 'POST /v3/store HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'));
      assert.deepEqual([expect.status, expect.body.error?.code], [417, 'INVALID_REQUEST']);
      assert.match(expect.body.error?.message ?? '', /Expect/);
      const named = await rawExchange(server.url, 'POST /v3/store HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-417.a:b\r\nExpect: 200-ok\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
      assert.match(named, /^HTTP\/1\.1 417 [^\r]*\r\n[\s\S]*\r\nx-request-id: trace-417\.a:b\r\n/i, `the caller's request id is echoed: ${named.slice(0, 300)}`);
      const noHost = parseRawAnswer(await rawExchange(server.url, 'GET /health/live HTTP/1.1\r\n\r\n'));
      assert.deepEqual([noHost.status, noHost.body.error?.code], [400, 'INVALID_REQUEST']);
      assert.match(noHost.body.error?.message ?? '', /Host/);
      const http10 = await rawExchange(server.url, 'GET /health/live HTTP/1.0\r\n\r\n');
      assert.match(http10, /^HTTP\/1\.1 200 OK\r\n/, `an HTTP/1.0 request without Host is served: ${http10.slice(0, 60)}`);
      // Expect: 100-continue is still met.
      const continued = await rawExchange(server.url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
      assert.match(continued, /200 OK/, `100-continue is met: ${continued.slice(0, 60)}`);
    });
  });

  test('an unknown route or a wrong method is named before the body: 404 and 405, not 415 or 413, for a non-JSON or oversized body', async () => {
    const unknown = await fetch(`${server.url}/v3/no-such-route`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.deepEqual([unknown.status, ((await unknown.json()) as { error?: { code?: string } }).error?.code], [404, 'API_ENDPOINT_NOT_FOUND']);
    const wrongMethod = await fetch(`${server.url}/health/live`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.deepEqual([wrongMethod.status, ((await wrongMethod.json()) as { error?: { code?: string } }).error?.code], [405, 'METHOD_NOT_ALLOWED']);
    const known = await fetch(`${server.url}/v3/store`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(known.status, 415, 'a known route still refuses a non-JSON body with 415');
    // A body over the limit too: the address is named first, and a known route still says 413.
    const oversized = `"${'a'.repeat(limits.requestBodyBytesMax)}"`;
    const unknownBig = await fetch(`${server.url}/v3/no-such-route`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: oversized });
    assert.deepEqual([unknownBig.status, ((await unknownBig.json()) as { error?: { code?: string } }).error?.code], [404, 'API_ENDPOINT_NOT_FOUND']);
    const wrongMethodBig = await fetch(`${server.url}/health/live`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: oversized });
    assert.deepEqual([wrongMethodBig.status, ((await wrongMethodBig.json()) as { error?: { code?: string } }).error?.code], [405, 'METHOD_NOT_ALLOWED']);
    const knownBig = await fetch(`${server.url}/v3/store`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: oversized });
    assert.equal(knownBig.status, 413, 'a known route refuses the body over the limit');
    assert.equal((await fetch(`${server.url}/health/live`)).status, 200, 'still serving');
  });

  test('a request being answered when bytes after it fail to parse gets its own answer, not the refusal, then the connection closes', async () => {
    // A token request (its handler runs on the RSA worker, so its answer comes after the parser has met the garbage
    // behind it) followed in the same packet by bytes that are no HTTP.
    const basic = Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64');
    const body = JSON.stringify({ grantType: 'client_credentials' });
    const valid = `POST /v1/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${basic}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const answer = await rawExchange(server.url, `${valid}\u0001NOT HTTP\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/, `the token request's own answer comes first: ${answer.slice(0, 80)}`);
    assert.ok(!answer.includes('could not be parsed'), 'no refusal was written into the stream');
    const parsed = parseRawAnswer(answer) as unknown as { body: { accessToken?: string } };
    assert.equal(typeof parsed.body.accessToken, 'string');
  });
});
