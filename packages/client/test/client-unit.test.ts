// Owns the client's unit tests: a recording node:http server checks signing, token caching/refresh, error mapping and callbacks.
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listenLocal, type LocalServer } from './local-server.js';
import {
  RmApiError,
  TunaiClient,
  buildPlaintext,
  dataBase64,
  parsePublicKey,
  signPlaintext,
  parsePrivateKey,
  verifyNotifyCallback,
  verifyPlaintext,
} from '../src/index.js';
import type { TunaiClientOptions } from '../src/index.js';

interface RecordedRequest {
  method: string;
  /** The request-target as received, path plus query. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface CannedResponse {
  status: number;
  body: string;
  contentType?: string;
}

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const publicKey = keys.publicKey;
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

const json = (status: number, value: unknown): CannedResponse => ({ status, body: JSON.stringify(value) });

/** Every request the fake RM saw, in order; cleared before each test. */
let recorded: RecordedRequest[] = [];
/** Responses for the next /v1/token calls, consumed in order; when empty a fresh token is minted. */
let tokenQueue: CannedResponse[] = [];
/** Responses for the next non-token calls, consumed in order; when empty `{"item":{},"code":"SUCCESS"}`. */
let apiQueue: CannedResponse[] = [];
let tokenSerial = 0;
let local: LocalServer;
let baseUrl = '';

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const entry: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    recorded.push(entry);
    let reply: CannedResponse;
    if (entry.url === '/v1/token') {
      tokenSerial += 1;
      reply = tokenQueue.shift() ?? json(200, tokenBody(`access-${tokenSerial}`, `refresh-${tokenSerial}`));
    } else {
      reply = apiQueue.shift() ?? json(200, { item: {}, code: 'SUCCESS' });
    }
    res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' });
    res.end(reply.body);
  });
}

function tokenBody(accessToken: string, refreshToken: string, expiresIn = 7200, refreshTokenExpiresIn = 2_592_000) {
  return { accessToken, tokenType: 'Bearer', expiresIn, refreshToken, refreshTokenExpiresIn };
}

function tokenRequests(): RecordedRequest[] {
  return recorded.filter((entry) => entry.url === '/v1/token');
}

function apiRequests(): RecordedRequest[] {
  return recorded.filter((entry) => entry.url !== '/v1/token');
}

function only<T>(items: T[]): T {
  assert.equal(items.length, 1, `expected exactly one item, got ${items.length}`);
  return items[0] as T;
}

function header(entry: RecordedRequest, name: string): string | undefined {
  const value = entry.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}

/** A settable clock shared by the client under test. */
function makeClock(startMs = 1_700_000_000_123) {
  let nowMs = startMs;
  return {
    nowMs: () => nowMs,
    advanceSeconds(seconds: number) {
      nowMs += seconds * 1000;
    },
  };
}

function makeClient(overrides: Partial<TunaiClientOptions> = {}): TunaiClient {
  return new TunaiClient({
    clientId: 'client-123',
    clientSecret: 's3cret',
    privateKeyPem,
    oauthBaseUrl: baseUrl,
    openApiBaseUrl: baseUrl,
    ...overrides,
  });
}

/** Rebuilds the Go-form plaintext from what the server received and checks the signature with the public key. */
function assertSignedRequest(entry: RecordedRequest, expectedBody?: unknown): string {
  const signatureHeader = header(entry, 'x-signature') ?? '';
  assert.match(signatureHeader, /^sha256 [A-Za-z0-9+/]+={0,2}$/);
  const nonceStr = header(entry, 'x-nonce-str') ?? '';
  const timestamp = header(entry, 'x-timestamp') ?? '';
  const body = entry.body === '' ? undefined : (JSON.parse(entry.body) as unknown);
  if (expectedBody !== undefined) assert.deepEqual(body, expectedBody);
  const plaintext = buildPlaintext({
    data: dataBase64(body),
    method: entry.method,
    nonceStr,
    requestUrl: `${baseUrl}${entry.url}`,
    signType: 'sha256',
    timestamp,
  });
  assert.ok(verifyPlaintext(plaintext, signatureHeader.slice('sha256 '.length), publicKey), `signature must verify over ${plaintext}`);
  return plaintext;
}

before(async () => {
  local = await listenLocal(handle);
  baseUrl = local.origin;
});

after(() => local.close());

beforeEach(() => {
  recorded = [];
  tokenQueue = [];
  apiQueue = [];
});

describe('oauth', () => {
  it('client credentials: Basic auth, JSON grantType body, returns the token response', async () => {
    const client = makeClient();
    const token = await client.oauth.clientCredentials();
    assert.equal(token.tokenType, 'Bearer');
    const entry = only(tokenRequests());
    assert.equal(entry.method, 'POST');
    assert.equal(header(entry, 'authorization'), `Basic ${Buffer.from('client-123:s3cret').toString('base64')}`);
    assert.match(header(entry, 'content-type') ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(entry.body), { grantType: 'client_credentials' });
  });

  it('refresh and authorization_code send their grant fields and leave the cache alone', async () => {
    const client = makeClient();
    await client.oauth.refresh('rt-1');
    await client.oauth.authorizationCode('code-9', 'https://merchant.example/cb');
    const [refresh, code] = tokenRequests();
    assert.deepEqual(JSON.parse(refresh?.body ?? ''), { grantType: 'refresh_token', refreshToken: 'rt-1' });
    assert.deepEqual(JSON.parse(code?.body ?? ''), {
      grantType: 'authorization_code',
      code: 'code-9',
      redirectUri: 'https://merchant.example/cb',
    });
    // The raw grant calls do not replace the client's own token, so the first API call still asks for one.
    await client.merchant.get();
    assert.deepEqual(JSON.parse(tokenRequests()[2]?.body ?? ''), { grantType: 'client_credentials' });
  });

  it('builds the authorize URL with comma-separated scopes', () => {
    const client = makeClient({ oauthBaseUrl: 'https://sb-oauth.revenuemonster.my/' });
    assert.equal(
      client.oauth.authorizeUrl({
        redirectUri: 'https://merchant.example/cb?x=1',
        scopes: ['get_merchant_profile', 'manage_store'],
        state: 'a b',
      }),
      'https://sb-oauth.revenuemonster.my/authorize?responseType=code&clientId=client-123' +
        '&redirectUri=https%3A%2F%2Fmerchant.example%2Fcb%3Fx%3D1&scope=get_merchant_profile,manage_store&state=a%20b',
    );
    assert.ok(!client.oauth.authorizeUrl({ redirectUri: 'https://m.example', scopes: ['a'] }).includes('state='));
  });

  it('token endpoint errors surface as RmApiError', async () => {
    tokenQueue.push(json(401, { error: { code: 'INVALID_CLIENT', message: 'Invalid client' } }));
    const client = makeClient();
    await assert.rejects(client.getAccessToken(), (error: unknown) => {
      assert.ok(error instanceof RmApiError);
      assert.equal(error.code, 'INVALID_CLIENT');
      assert.equal(error.httpStatus, 401);
      return true;
    });
  });

  it('a token response with a string expiresIn is refused', async () => {
    tokenQueue.push(json(200, { ...tokenBody('a', 'r'), expiresIn: '7200' }));
    await assert.rejects(makeClient().getAccessToken(), { code: 'INVALID_TOKEN_RESPONSE' });
  });
});

describe('token cache', () => {
  it('reuses the token until refreshSkewSeconds before expiry, then refreshes', async () => {
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs, refreshSkewSeconds: 60 });
    assert.equal(await client.getAccessToken(), 'access-' + tokenSerial);
    const first = await client.getAccessToken();
    await client.merchant.get();
    assert.equal(tokenRequests().length, 1);
    assert.equal(header(only(apiRequests()), 'authorization'), `Bearer ${first}`);

    clock.advanceSeconds(7200 - 61);
    assert.equal(await client.getAccessToken(), first);
    assert.equal(tokenRequests().length, 1);

    clock.advanceSeconds(1);
    const second = await client.getAccessToken();
    assert.notEqual(second, first);
    const refresh = tokenRequests()[1];
    assert.deepEqual(JSON.parse(refresh?.body ?? ''), {
      grantType: 'refresh_token',
      refreshToken: `refresh-${first.slice('access-'.length)}`,
    });
  });

  it('falls back to client_credentials when the refresh is refused with 400 or 401', async () => {
    for (const status of [400, 401]) {
      recorded = [];
      const clock = makeClock();
      const client = makeClient({ nowMs: clock.nowMs });
      await client.getAccessToken();
      clock.advanceSeconds(7200);
      tokenQueue.push(json(status, { error: { code: 'INVALID_GRANT', message: 'Invalid grant' } }));
      const renewed = await client.getAccessToken();
      const grants = tokenRequests().map((entry) => (JSON.parse(entry.body) as { grantType: string }).grantType);
      assert.deepEqual(grants, ['client_credentials', 'refresh_token', 'client_credentials']);
      assert.equal(renewed, `access-${tokenSerial}`);
    }
  });

  it('a refresh failing with 5xx is not papered over', async () => {
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs });
    await client.getAccessToken();
    clock.advanceSeconds(7200);
    tokenQueue.push(json(503, { error: { code: 'TEMPORARY_UNAVAILABLE', message: 'down' } }));
    await assert.rejects(client.getAccessToken(), { code: 'TEMPORARY_UNAVAILABLE', httpStatus: 503 });
    assert.equal(tokenRequests().length, 2);
  });

  it('skips the refresh grant once the refresh token itself has expired', async () => {
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs });
    tokenQueue.push(json(200, tokenBody('a1', 'r1', 100, 200)));
    await client.getAccessToken();
    clock.advanceSeconds(500);
    await client.getAccessToken();
    const grants = tokenRequests().map((entry) => (JSON.parse(entry.body) as { grantType: string }).grantType);
    assert.deepEqual(grants, ['client_credentials', 'client_credentials']);
  });

  it('concurrent callers share one in-flight token request', async () => {
    const client = makeClient();
    const tokens = await Promise.all([client.getAccessToken(), client.getAccessToken(), client.merchant.get(), client.user.get()]);
    assert.equal(tokenRequests().length, 1);
    assert.equal(tokens[0], tokens[1]);
    for (const entry of apiRequests()) assert.equal(header(entry, 'authorization'), `Bearer ${tokens[0]}`);
  });

  it('a failed token request is not cached: the next call tries again', async () => {
    const client = makeClient();
    tokenQueue.push(json(500, { error: { code: 'INTERNAL_ERROR', message: 'x' } }));
    await assert.rejects(client.getAccessToken(), RmApiError);
    assert.match(await client.getAccessToken(), /^access-/);
    assert.equal(tokenRequests().length, 2);
  });
});

describe('request signing', () => {
  it('signed GET: bearer, signature headers, no body, no content type, Go-form plaintext verifies', async () => {
    const clock = makeClock(1_700_000_000_987);
    const client = makeClient({ nowMs: clock.nowMs });
    await client.merchant.get();
    const entry = only(apiRequests());
    assert.equal(entry.method, 'GET');
    assert.equal(entry.url, '/v3/merchant');
    assert.equal(entry.body, '');
    assert.equal(header(entry, 'content-type'), undefined);
    assert.match(header(entry, 'authorization') ?? '', /^Bearer access-\d+$/);
    assert.match(header(entry, 'x-nonce-str') ?? '', /^[A-Za-z]{32}$/);
    assert.equal(header(entry, 'x-timestamp'), '1700000000');
    const plaintext = assertSignedRequest(entry);
    assert.ok(plaintext.startsWith('method=get&nonceStr='), plaintext);
    assert.ok(plaintext.endsWith(`&requestUrl=${baseUrl}/v3/merchant&signType=sha256&timestamp=1700000000`), plaintext);
  });

  it('signed POST: sends JSON.stringify of the body but signs its Go canonical form', async () => {
    const client = makeClient();
    const body = { name: 'Kedai <A&B>', geoLocation: { longitude: 101.5, latitude: 3.1 }, addressLine1: 'Jalan 1' };
    await client.request('POST', '/v3/store', { body });
    const entry = only(apiRequests());
    assert.equal(entry.body, JSON.stringify(body));
    assert.equal(header(entry, 'content-type'), 'application/json');
    const plaintext = assertSignedRequest(entry, body);
    const canonical = '{"addressLine1":"Jalan 1","geoLocation":{"latitude":3.1,"longitude":101.5},"name":"Kedai \\u003cA\\u0026B\\u003e"}';
    assert.ok(plaintext.startsWith(`data=${Buffer.from(canonical).toString('base64')}&method=post&`), plaintext);
  });

  it('signs the exact URL sent, query included, encoded with encodeURIComponent in insertion order', async () => {
    const client = makeClient();
    await client.stores.list({ limit: 5, cursor: 'c/1 2', filter: { updatedAt: { $gte: '2024-01-01T00:00:00Z' } } });
    await client.request('GET', '/v3/payment/transactions', { query: { z: 'last', a: 1, skipped: undefined } });
    const [stores, transactions] = apiRequests();
    assert.ok(stores !== undefined && transactions !== undefined);
    const filter = encodeURIComponent(JSON.stringify({ updatedAt: { $gte: '2024-01-01T00:00:00Z' } }));
    assert.equal(stores.url, `/v3/stores?limit=5&cursor=c%2F1%202&filter=${filter}`);
    assert.ok(assertSignedRequest(stores).includes(`&requestUrl=${baseUrl}${stores.url}&`));
    assert.equal(transactions.url, '/v3/payment/transactions?z=last&a=1');
    assertSignedRequest(transactions);
  });

  it('timestampUnit milliseconds sends epoch ms', async () => {
    const clock = makeClock(1_700_000_000_987);
    const client = makeClient({ nowMs: clock.nowMs, timestampUnit: 'milliseconds' });
    await client.user.get();
    const entry = only(apiRequests());
    assert.equal(header(entry, 'x-timestamp'), '1700000000987');
    assertSignedRequest(entry);
  });

  it('nonceStr and timestamp overrides are sent and signed', async () => {
    const client = makeClient();
    await client.request('DELETE', '/v3/store/42', { nonceStr: 'abcdefghijklmnopqrstuvwxyzABCDEF', timestamp: '1234' });
    const entry = only(apiRequests());
    assert.equal(header(entry, 'x-nonce-str'), 'abcdefghijklmnopqrstuvwxyzABCDEF');
    assert.equal(header(entry, 'x-timestamp'), '1234');
    assert.ok(assertSignedRequest(entry).startsWith('method=delete&nonceStr=abcdefghijklmnopqrstuvwxyzABCDEF&'));
  });

  it('PATCH is sent upper-case and signed lower-case', async () => {
    const client = makeClient();
    await client.stores.update('7', { name: 'New' });
    const entry = only(apiRequests());
    assert.equal(entry.method, 'PATCH');
    assert.equal(entry.url, '/v3/store/7');
    assert.ok(assertSignedRequest(entry, { name: 'New' }).includes('&method=patch&'));
  });

  it("signing 'never', per-call sign:false and a keyless client send no signature headers", async () => {
    await makeClient({ signing: 'never' }).merchant.get();
    await makeClient().request('GET', '/v3/merchant', { sign: false });
    await makeClient({ privateKeyPem: undefined }).merchant.get();
    assert.equal(apiRequests().length, 3);
    for (const entry of apiRequests()) {
      assert.equal(header(entry, 'x-signature'), undefined);
      assert.equal(header(entry, 'x-nonce-str'), undefined);
      assert.equal(header(entry, 'x-timestamp'), undefined);
      assert.match(header(entry, 'authorization') ?? '', /^Bearer /);
    }
  });

  it("per-call sign:true overrides signing 'never'; without a key it throws", async () => {
    await makeClient({ signing: 'never' }).request('GET', '/v3/merchant', { sign: true });
    assertSignedRequest(only(apiRequests()));
    await assert.rejects(makeClient({ privateKeyPem: undefined }).request('GET', '/v3/merchant', { sign: true }), TypeError);
  });

  it('accessToken override: a string is used without a token request, null sends no Authorization', async () => {
    const client = makeClient();
    await client.request('GET', '/v3/merchant', { accessToken: 'given-token' });
    await client.request('GET', '/v3/merchant', { accessToken: null });
    assert.equal(tokenRequests().length, 0);
    const [given, none] = apiRequests();
    assert.ok(given !== undefined && none !== undefined);
    assert.equal(header(given, 'authorization'), 'Bearer given-token');
    assert.equal(header(none, 'authorization'), undefined);
    assertSignedRequest(none);
  });

  it('extra headers are applied last and can tamper with the signature', async () => {
    const client = makeClient();
    await client.request('GET', '/v3/merchant', { headers: { 'x-signature': 'sha256 AAAA', 'X-Extra': 'yes' } });
    const entry = only(apiRequests());
    assert.equal(header(entry, 'x-signature'), 'sha256 AAAA');
    assert.equal(header(entry, 'x-extra'), 'yes');
  });

  it('a body on GET is refused instead of being signed and dropped', async () => {
    await assert.rejects(makeClient().request('GET', '/v3/merchant', { body: { a: 1 } }), TypeError);
    assert.equal(apiRequests().length, 0);
  });

  it('an empty-object body is sent but omitted from the plaintext, as RM does', async () => {
    await makeClient().request('POST', '/v3/thing', { body: {} });
    const entry = only(apiRequests());
    assert.equal(entry.body, '{}');
    assert.ok(assertSignedRequest(entry).startsWith('method=post&'));
  });
});

describe('endpoints', () => {
  it('store, merchant and user methods hit the RM paths', async () => {
    const client = makeClient();
    const createInput = {
      name: 'S',
      addressLine1: 'A',
      postCode: '50000',
      city: 'KL',
      state: 'WP',
      country: 'Malaysia',
      countryCode: '60',
      phoneNumber: '123456789',
    };
    await client.merchant.get();
    await client.merchant.subscriptions();
    await client.stores.list();
    await client.stores.get('1 2');
    await client.stores.create(createInput);
    await client.stores.update('5', { city: 'PJ' });
    await client.stores.delete('5');
    await client.user.get();
    assert.deepEqual(
      apiRequests().map((entry) => `${entry.method} ${entry.url}`),
      [
        'GET /v3/merchant',
        'GET /v3/merchant/subscriptions',
        'GET /v3/stores',
        'GET /v3/store/1%202',
        'POST /v3/store',
        'PATCH /v3/store/5',
        'DELETE /v3/store/5',
        'GET /v3/user',
      ],
    );
    assert.deepEqual(JSON.parse(apiRequests()[4]?.body ?? ''), createInput);
    assert.equal(apiRequests()[6]?.body, '');
  });

  it('tool endpoints carry no token and no signature', async () => {
    apiQueue.push(json(200, { data: 'method=post', sequenceData: '{}', signature: 'sha256 x' }));
    apiQueue.push(json(200, { isValid: true }));
    const client = makeClient();
    const common = { method: 'post', nonceStr: 'n', requestUrl: 'https://x', signType: 'sha256', timestamp: '1', data: { a: 1 } };
    const generated = await client.tool.generateSignature({ ...common, privateKey: privateKeyPem });
    const verified = await client.tool.verifySignature({ ...common, publicKey: 'pk', signature: 'sha256 x' });
    assert.equal(generated.signature, 'sha256 x');
    assert.equal(verified.isValid, true);
    assert.equal(tokenRequests().length, 0);
    const [generate, verify] = apiRequests();
    assert.ok(generate !== undefined && verify !== undefined);
    assert.equal(generate.url, '/tool/signature/generate');
    assert.equal(verify.url, '/tool/signature/verify');
    for (const entry of [generate, verify]) {
      assert.equal(header(entry, 'authorization'), undefined);
      assert.equal(header(entry, 'x-signature'), undefined);
    }
  });
});

describe('error mapping', () => {
  it('maps the RM envelope: code, message, status, body and error.debug', async () => {
    const body = { error: { code: 'STORE_NOT_FOUND', message: 'Store not found', debug: { why: 'x' } } };
    apiQueue.push(json(404, body));
    await assert.rejects(makeClient().stores.get('9'), (error: unknown) => {
      assert.ok(error instanceof RmApiError);
      assert.equal(error.name, 'RmApiError');
      assert.equal(error.code, 'STORE_NOT_FOUND');
      assert.equal(error.httpStatus, 404);
      assert.match(error.message, /Store not found/);
      assert.deepEqual(error.body, body);
      assert.deepEqual(error.debug, { why: 'x' });
      return true;
    });
  });

  it('reads a top-level debug (signature failures)', async () => {
    apiQueue.push(
      json(401, { debug: { preVerifyContent: { step1: '{}' } }, error: { code: 'INVALID_REQUEST_SIGNATURE', message: 'bad' } }),
    );
    await assert.rejects(makeClient().merchant.get(), {
      code: 'INVALID_REQUEST_SIGNATURE',
      httpStatus: 401,
      debug: { preVerifyContent: { step1: '{}' } },
    });
  });

  it('a non-envelope body becomes HTTP_<status> with the raw text or JSON as body', async () => {
    apiQueue.push({ status: 502, body: 'Bad Gateway', contentType: 'text/plain' });
    apiQueue.push(json(404, { message: 'nope' }));
    apiQueue.push(json(400, { error: 'invalid_grant' }));
    const client = makeClient();
    await assert.rejects(client.merchant.get(), { code: 'HTTP_502', httpStatus: 502, body: 'Bad Gateway' });
    await assert.rejects(client.merchant.get(), { code: 'HTTP_404', httpStatus: 404, body: { message: 'nope' } });
    await assert.rejects(client.merchant.get(), { code: 'HTTP_400', httpStatus: 400 });
  });

  it('any 2xx other than 200 is an error, and so is a 200 carrying a top-level error', async () => {
    apiQueue.push(json(201, { item: {}, code: 'SUCCESS' }));
    apiQueue.push(json(200, { error: { code: 'TRANSACTION_NOT_FOUND', message: 'x' } }));
    const client = makeClient();
    await assert.rejects(client.merchant.get(), { code: 'HTTP_201', httpStatus: 201 });
    await assert.rejects(client.merchant.get(), { code: 'TRANSACTION_NOT_FOUND', httpStatus: 200 });
  });

  it('send never throws on status and returns parsed body, raw text and headers', async () => {
    apiQueue.push(json(401, { error: { code: 'TOKEN_INVALID', message: 'x' } }));
    apiQueue.push({ status: 500, body: 'oops', contentType: 'text/plain' });
    const client = makeClient();
    const unauthorised = await client.send('get', '/v3/merchant', { accessToken: 'bogus' });
    assert.equal(unauthorised.status, 401);
    assert.deepEqual(unauthorised.body, { error: { code: 'TOKEN_INVALID', message: 'x' } });
    assert.equal(unauthorised.rawText, '{"error":{"code":"TOKEN_INVALID","message":"x"}}');
    assert.equal(unauthorised.headers.get('content-type'), 'application/json');
    const crashed = await client.send('GET', '/v3/merchant');
    assert.equal(crashed.status, 500);
    assert.equal(crashed.body, 'oops');
    assert.equal(apiRequests()[0]?.method, 'GET');
  });

  it('request returns the parsed success body', async () => {
    apiQueue.push(json(200, { items: [{ id: '1' }], code: 'SUCCESS', meta: { count: 1 } }));
    const stores = await makeClient().stores.list({ limit: 1 });
    assert.deepEqual(stores, { items: [{ id: '1' }], code: 'SUCCESS', meta: { count: 1 } });
  });
});

describe('constructor', () => {
  it('rejects an unparsable private key up front', () => {
    assert.throws(() => makeClient({ privateKeyPem: 'not a key' }), /INVALID_PRIVATE_KEY/);
  });

  it('accepts a PKCS#8 key and an injected fetch', async () => {
    const seen: string[] = [];
    const client = makeClient({
      privateKeyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    await client.merchant.get();
    assert.deepEqual(seen, [`${baseUrl}/v1/token`, `${baseUrl}/v3/merchant`]);
    assertSignedRequest(only(apiRequests()));
  });
});

describe('verifyNotifyCallback', () => {
  const serverPublicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rawBody = JSON.stringify({ eventType: 'PAYMENT_WEB_ONLINE', data: { transactionId: '1', note: 'a<b', order: { id: 'o1' } } });

  function signCallback(body: string, nonceStr = 'NONCEnonceNONCEnonceNONCEnonceAB', timestamp = '1700000000') {
    const plaintext = buildPlaintext({
      data: dataBase64(JSON.parse(body) as unknown),
      method: 'post',
      nonceStr,
      signType: 'sha256',
      timestamp,
    });
    assert.ok(!plaintext.includes('requestUrl'));
    return {
      'X-Signature': `sha256 ${signPlaintext(plaintext, parsePrivateKey(privateKeyPem))}`,
      'X-Nonce-Str': nonceStr,
      'X-Timestamp': timestamp,
    };
  }

  it('accepts a correctly signed callback with headers in any case or as a Headers object', () => {
    const headers = signCallback(rawBody);
    assert.equal(verifyNotifyCallback({ rawBody, headers, serverPublicKeyPem }), true);
    const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), [value]]));
    assert.equal(verifyNotifyCallback({ rawBody, headers: lower, serverPublicKeyPem }), true);
    assert.equal(verifyNotifyCallback({ rawBody, headers: new Headers(headers), serverPublicKeyPem }), true);
    // Whitespace and key order in the delivered bytes do not matter: the canonical form is signed.
    const reordered = JSON.stringify({ data: { order: { id: 'o1' }, note: 'a<b', transactionId: '1' }, eventType: 'PAYMENT_WEB_ONLINE' }, null, 2);
    assert.equal(verifyNotifyCallback({ rawBody: reordered, headers, serverPublicKeyPem }), true);
  });

  it('refuses tampering, wrong keys and malformed input without throwing', () => {
    const headers = signCallback(rawBody);
    const otherPem = otherKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const cases: Array<Parameters<typeof verifyNotifyCallback>[0]> = [
      { rawBody: rawBody.replace('o1', 'o2'), headers, serverPublicKeyPem },
      { rawBody, headers: { ...headers, 'X-Timestamp': '1700000001' }, serverPublicKeyPem },
      { rawBody, headers: { ...headers, 'X-Nonce-Str': 'other' }, serverPublicKeyPem },
      { rawBody, headers, serverPublicKeyPem: otherPem },
      { rawBody, headers, serverPublicKeyPem: 'garbage' },
      { rawBody, headers, serverPublicKeyPem, method: 'get' },
      { rawBody: '{not json', headers, serverPublicKeyPem },
      { rawBody, headers: { ...headers, 'X-Signature': 'rsa ' + (headers['X-Signature'] ?? '').slice(7) }, serverPublicKeyPem },
      { rawBody, headers: { ...headers, 'X-Signature': 'sha256' }, serverPublicKeyPem },
      { rawBody, headers: { 'X-Nonce-Str': headers['X-Nonce-Str'], 'X-Timestamp': headers['X-Timestamp'] }, serverPublicKeyPem },
      { rawBody, headers: { ...headers, 'x-timestamp': '999' }, serverPublicKeyPem },
      { rawBody, headers: { ...headers, 'X-Signature': undefined }, serverPublicKeyPem },
    ];
    for (const [index, input] of cases.entries()) {
      assert.equal(verifyNotifyCallback(input), false, `case ${index}`);
    }
  });

  it('parsePublicKey of the PEM used above is an RSA key (sanity)', () => {
    assert.equal(parsePublicKey(serverPublicKeyPem).asymmetricKeyType, 'rsa');
  });
});
