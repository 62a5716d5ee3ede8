// Signed /v3 requests over real HTTP in every official RM SDK's style, and every signature/timestamp/nonce refusal, on both databases.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { limits } from '@tunai/client/contract';
import { buildPlaintext, canonicalJson, dataBase64, generateNonce, parsePrivateKey, signPlaintext, utf8Base64 } from '@tunai/client/signature';
import { createIds } from '../src/lib/ids.js';
import { createLogger } from '../src/lib/logger.js';
import { generateRsaKeyPairPem } from '../src/lib/rsa-keys.js';
import { openStorage, startServer, type RunningServer } from '../src/main.js';
import {
  createDeveloper,
  forEachDialect,
  freshDatabase,
  rawRequest,
  storeInput,
  startTestServer,
  type Developer,
  type RawResponse,
  type TestServer,
} from './harness.js';

// ---------------------------------------------------------------- raw HTTP and signing helpers


/** Raw HTTP with a JSON content type whenever a body is sent, as every RM SDK does. */
function send(baseUrl: string, method: string, target: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  return rawRequest(baseUrl, method, target, body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body);
}

interface SignParts {
  /** The method the SDK put in the plaintext (lower-cased by buildPlaintext). */
  method: string;
  requestUrl: string;
  /** base64 data, '' for php's `data=`, undefined to omit the pair. */
  data?: string | undefined;
  nonce?: string;
  timestamp: string;
  privateKeyPem: string;
  signType?: string;
}

interface Signed {
  headers: Record<string, string>;
  plaintext: string;
  nonce: string;
  timestamp: string;
}

function sign(parts: SignParts): Signed {
  const nonce = parts.nonce ?? generateNonce();
  const signType = parts.signType ?? 'sha256';
  const plaintext = buildPlaintext({
    data: parts.data,
    method: parts.method,
    nonceStr: nonce,
    requestUrl: parts.requestUrl,
    signType,
    timestamp: parts.timestamp,
  });
  const signature = signPlaintext(plaintext, parsePrivateKey(parts.privateKeyPem));
  return {
    headers: { 'X-Signature': `${signType} ${signature}`, 'X-Nonce-Str': nonce, 'X-Timestamp': parts.timestamp },
    plaintext,
    nonce,
    timestamp: parts.timestamp,
  };
}

const SB = 'https://sb-open.revenuemonster.my';
const PROD = 'https://open.revenuemonster.my';

/** Go/php/kt: integer seconds. */
function secondsTs(server: TestServer, offsetSeconds = 0): string {
  return String(Math.floor(server.clock.nowMs() / 1000) + offsetSeconds);
}
/** js: Date.getTime(). */
function millisTs(server: TestServer): string {
  return String(server.clock.nowMs());
}
/** py: str(time()), e.g. "1546931187.8109288". */
function pythonTs(server: TestServer): string {
  const now = server.clock.nowMs();
  return `${Math.floor(now / 1000)}.${String(now % 1000).padStart(3, '0')}9288`;
}
/** js/py: 64 hex. */
function hexNonce(): string {
  return randomBytes(32).toString('hex');
}
/** php: 32 alphanumerics. */
function alnumNonce(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(32), (byte) => alphabet.charAt(byte % alphabet.length)).join('');
}

/** Moves the server clock forward to a whole second so second-granular window edges are exact. */
function alignClockToSecond(server: TestServer): void {
  const rest = server.clock.nowMs() % 1000;
  if (rest !== 0) server.clock.advanceMs(1000 - rest);
}


/** js `sortObject`: every object's keys sorted, but objects inside arrays copied as they are. */
function jsSortObject(value: unknown): unknown {
  if (Array.isArray(value)) return value.slice();
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, jsSortObject(record[key])]),
    );
  }
  return value;
}

/** php's default json_encode of the unsorted payload (what Httpful sends): `\/` and `\uXXXX`. */
function phpDefaultJsonEncode(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

async function bearer(dev: Developer): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await dev.client.getAccessToken()}` };
}

async function liveStores(server: TestServer, dev: Developer): Promise<{ total: number; names: string[] }> {
  const page = await server.running.storage.stores.list({
    merchantId: dev.merchant.merchant.id,
    limit: 100,
    afterId: null,
    updatedAtFromMs: null,
    updatedAtToMs: null,
  });
  return { total: page.total, names: page.stores.map((s) => s.name) };
}

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text.slice(0, 400)}`);
  assert.equal(res.json?.error?.code, code, res.text.slice(0, 400));
  assert.equal(typeof res.json.error.message, 'string');
}

function assertOk(res: RawResponse): void {
  assert.equal(res.status, 200, res.text.slice(0, 600));
  assert.equal(res.json?.code, 'SUCCESS');
  assert.equal(res.json.error, undefined);
}

// ---------------------------------------------------------------- tests

forEachDialect('request signatures over HTTP', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server);
  });
  after(() => server.close());

  /** Signs and sends in one go; `wireBody` is what goes on the wire, `data` what was signed. */
  async function signedSend(input: {
    who?: Developer;
    method: string;
    target: string;
    wireBody?: string;
    signMethod?: string;
    requestUrl?: string;
    data?: string | undefined;
    nonce?: string;
    timestamp?: string;
    privateKeyPem?: string;
    extraHeaders?: Record<string, string>;
  }): Promise<{ res: RawResponse; signed: Signed }> {
    const who = input.who ?? dev;
    const signed = sign({
      method: input.signMethod ?? input.method,
      requestUrl: input.requestUrl ?? `${SB}${input.target}`,
      data: input.data,
      timestamp: input.timestamp ?? secondsTs(server),
      privateKeyPem: input.privateKeyPem ?? who.privateKeyPem,
      ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    });
    const headers = { ...(await bearer(who)), ...signed.headers, ...(input.extraHeaders ?? {}) };
    const res = await send(server.url, input.method, input.target, headers, input.wireBody);
    return { res, signed };
  }

  describe('each official SDK style is accepted', () => {
    test('Go form: sorted, \\u003c-escaped data, seconds timestamp, 32-letter nonce, struct-order wire body', async () => {
      const body = { ...storeInput('Go <Kedai> & Co'), geoLocation: { longitude: 101.7, latitude: 3.1 } };
      const { res } = await signedSend({ method: 'POST', target: '/v3/store', wireBody: JSON.stringify(body), data: dataBase64(body) });
      assertOk(res);
      assert.equal(res.json.item.name, 'Go <Kedai> & Co');
      assert.ok((await liveStores(server, dev)).names.includes('Go <Kedai> & Co'));
    });

    test('JS SDK: millisecond timestamp, 64-hex nonce, objects inside arrays left unsorted', async () => {
      const body = { ...storeInput('JS <Kedai> & Co'), tags: [{ z: 1, a: 2 }], order: { z: 'last', a: 'first' } };
      const signedJson = canonicalJson(body, 'unsortedArrays');
      assert.notEqual(signedJson, canonicalJson(body, 'go'), 'precondition: js form differs from go form');
      assert.ok(signedJson.includes('\\u003cKedai\\u003e \\u0026 Co'));
      const { res } = await signedSend({
        method: 'POST',
        target: '/v3/store',
        wireBody: JSON.stringify(jsSortObject(body)),
        data: utf8Base64(signedJson),
        timestamp: millisTs(server),
        nonce: hexNonce(),
      });
      assertOk(res);
      assert.ok((await liveStores(server, dev)).names.includes('JS <Kedai> & Co'));
    });

    test('JS SDK: a `{}` body signed as data=e30=', async () => {
      const { res, signed } = await signedSend({
        method: 'GET',
        target: '/v3/merchant',
        wireBody: '{}',
        data: 'e30=',
        timestamp: millisTs(server),
        nonce: hexNonce(),
      });
      assert.ok(signed.plaintext.startsWith('data=e30=&method=get&'));
      assertOk(res);
      assert.equal(res.json.item.id, dev.merchant.merchant.id);
    });

    test("PHP SDK: uppercase \\u003C, \\u0027 for ', sorted inside arrays, unsorted default-json_encode wire body", async () => {
      const name = "A<B> & C's 服务费";
      const body = { ...storeInput(name), addressLine2: 'Lot 5/6', tags: [{ z: 1, a: 2 }] };
      const signedJson = canonicalJson(body, 'php');
      assert.ok(signedJson.includes("A\\u003CB\\u003E \\u0026 C\\u0027s 服务费"), signedJson);
      assert.notEqual(signedJson, canonicalJson(body, 'go'));
      const wire = phpDefaultJsonEncode(body);
      assert.ok(wire.includes('\\u670d') && wire.includes('5\\/6'));
      const { res } = await signedSend({ method: 'POST', target: '/v3/store', wireBody: wire, data: utf8Base64(signedJson), nonce: alnumNonce() });
      assertOk(res);
      assert.equal(res.json.item.name, name);
      assert.equal(res.json.item.addressLine2, 'LOT 5/6');
    });

    test('PHP SDK: an empty array `[]` body signed as data= (empty value)', async () => {
      const { res, signed } = await signedSend({ method: 'GET', target: '/v3/merchant', wireBody: '[]', data: '', nonce: alnumNonce() });
      assert.ok(signed.plaintext.startsWith('data=&method=get&'));
      assertOk(res);
    });

    test('Python SDK: float-seconds timestamp, ensure_ascii \\uXXXX, raw <>&, arrays unsorted, 64-hex nonce', async () => {
      const name = "A<B> & C's 服务费 py";
      const body = { ...storeInput(name), tags: [{ z: 1, a: 2 }] };
      const signedJson = canonicalJson(body, 'python');
      assert.ok(signedJson.includes('A<B> & C\'s \\u670d\\u52a1\\u8d39 py'), signedJson);
      const timestamp = pythonTs(server);
      assert.match(timestamp, /^\d{10}\.\d{7}$/);
      const nonce = hexNonce();
      assert.match(nonce, /^[0-9a-f]{64}$/);
      const { res } = await signedSend({ method: 'POST', target: '/v3/store', wireBody: signedJson, data: utf8Base64(signedJson), timestamp, nonce });
      assertOk(res);
      assert.equal(res.json.item.name, name);
    });

    test('Kotlin/Java: sorted data without HTML escaping (POST /v3/store, array-free body)', async () => {
      const name = "A<B> & C's 服务费 kt";
      const body = { ...storeInput(name), geoLocation: { longitude: 100.5, latitude: 5.4 } };
      const signedJson = canonicalJson(body, 'noHtmlEscape');
      assert.ok(signedJson.includes(`"name":"${name}"`));
      assert.notEqual(signedJson, JSON.stringify(body), 'precondition: the wire order differs from the signed order');
      const { res } = await signedSend({ method: 'POST', target: '/v3/store', wireBody: JSON.stringify(body), data: utf8Base64(signedJson) });
      assertOk(res);
      assert.equal(res.json.item.name, name);
      assert.deepEqual(res.json.item.geoLocation, { latitude: 5.4, longitude: 100.5 });
    });

    test('Kotlin/Java: PATCH /v3/store/:id signed without HTML escaping', async () => {
      const created = await dev.client.stores.create(storeInput('Patch me'));
      const id = created.item.id;
      const changes = { name: "A<B> & C's 服务费 patched", city: 'Ipoh' };
      const signedJson = canonicalJson(changes, 'noHtmlEscape');
      const { res } = await signedSend({ method: 'PATCH', target: `/v3/store/${id}`, wireBody: JSON.stringify(changes), data: utf8Base64(signedJson) });
      assertOk(res);
      assert.equal(res.json.item.name, changes.name);
      assert.equal(res.json.item.city, 'IPOH');
      const stored = await server.running.storage.stores.get(dev.merchant.merchant.id, id);
      assert.equal(stored?.name, changes.name);
    });

    test('raw body signed as-is: pretty-printed JSON with odd key order', async () => {
      const body = { phoneNumber: '60123', name: 'Raw Kedai', country: 'Malaysia', city: 'Klang', addressLine1: 'Jalan Raw', state: 'Selangor', postCode: '41000', countryCode: '60' };
      const raw = JSON.stringify(body, null, 2);
      assert.notEqual(utf8Base64(raw), dataBase64(body));
      const { res } = await signedSend({ method: 'POST', target: '/v3/store', wireBody: raw, data: utf8Base64(raw) });
      assertOk(res);
      assert.equal(res.json.item.name, 'Raw Kedai');
    });
  });

  describe('requestUrl candidates', () => {
    for (const [label, base] of [
      ['https://sb-open.revenuemonster.my', SB],
      ['https://open.revenuemonster.my', PROD],
    ] as const) {
      test(`requestUrl signed as ${label}/v3/merchant is accepted`, async () => {
        const { res } = await signedSend({ method: 'GET', target: '/v3/merchant', requestUrl: `${base}/v3/merchant` });
        assertOk(res);
      });
    }

    test('requestUrl signed as the URL received (http://127.0.0.1:port/v3/merchant) is accepted', async () => {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const { res } = await signedSend({ method: 'GET', target: '/v3/merchant', requestUrl: `${server.url}/v3/merchant` });
      assertOk(res);
    });

    test('requestUrl on an unknown host is refused', async () => {
      const { res } = await signedSend({ method: 'GET', target: '/v3/merchant', requestUrl: 'https://evil.example.test/v3/merchant' });
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
    });

    const filter = '{"updatedAt":{"$gte":"2020-01-01T00:00:00Z"}}';

    test('GET /v3/stores: query signed decoded while the wire query is percent-encoded (kt/cs)', async () => {
      const target = `/v3/stores?limit=2&filter=${encodeURIComponent(filter)}`;
      const { res } = await signedSend({ method: 'GET', target, requestUrl: `${SB}/v3/stores?limit=2&filter=${filter}` });
      assertOk(res);
      assert.ok(res.json.items.length <= 2);
      assert.equal(res.json.meta.count, res.json.items.length);
    });

    test('GET /v3/stores: cs-style filter with spaces signed raw, sent %20-encoded', async () => {
      const spaced = '{"updatedAt": {"$gte": "2020-01-01T00:00:00Z"}}';
      const target = `/v3/stores?limit=2&filter=${encodeURIComponent(spaced)}`;
      const { res } = await signedSend({ method: 'GET', target, requestUrl: `${SB}/v3/stores?limit=2&filter=${spaced}` });
      assertOk(res);
    });

    test('GET /v3/stores: go url.Values.Encode() query (sorted, encoded, + for spaces) signed exactly as sent', async () => {
      const spaced = '{"updatedAt": {"$gte": "2020-01-01T00:00:00Z"}}';
      const encoded = `filter=${encodeURIComponent(spaced).replace(/%20/g, '+')}&limit=2`;
      assert.ok(encoded.includes('+'));
      const target = `/v3/stores?${encoded}`;
      const { res } = await signedSend({ method: 'GET', target, requestUrl: `${SB}${target}` });
      assertOk(res);
      assert.ok(res.json.items.length <= 2);
    });

    test('GET /v3/stores: encoded query signed exactly (go style) on the received host', async () => {
      const target = `/v3/stores?filter=${encodeURIComponent(filter)}&limit=2`;
      const { res } = await signedSend({ method: 'GET', target, requestUrl: `${server.url}${target}` });
      assertOk(res);
    });

    test("GET /v3/stores: '+' on the wire signed as a space", async () => {
      const spaced = '{"updatedAt": {"$gte": "2020-01-01T00:00:00Z"}}';
      const target = `/v3/stores?limit=2&filter=${encodeURIComponent(spaced).replace(/%20/g, '+')}`;
      const { res } = await signedSend({ method: 'GET', target, requestUrl: `${SB}/v3/stores?limit=2&filter=${spaced}` });
      assertOk(res);
    });

    test('GET /v3/stores: requestUrl signed without the query (js/py) is accepted', async () => {
      const target = `/v3/stores?limit=2&filter=${encodeURIComponent(filter)}`;
      const { res } = await signedSend({ method: 'GET', target, requestUrl: `${server.url}/v3/stores` });
      assertOk(res);
    });
  });

  describe('bodies on GET and DELETE, and the js deleteStore method bug', () => {
    let deleter: Developer;
    before(async () => {
      deleter = await createDeveloper(server, { companyName: 'Deleter' });
    });

    test('GET /v3/merchant with JSON body {"a":1} signed with data (go sends GET bodies) is verified', async () => {
      const { res, signed } = await signedSend({ method: 'GET', target: '/v3/merchant', wireBody: '{"a":1}', data: dataBase64({ a: 1 }) });
      assert.ok(signed.plaintext.startsWith(`data=${utf8Base64('{"a":1}')}&method=get&`));
      assertOk(res);
    });

    test('GET /v3/merchant with a JSON body the signature does not cover is refused (the body is read)', async () => {
      const { res } = await signedSend({ method: 'GET', target: '/v3/merchant', wireBody: '{"a":1}', data: undefined });
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
    });

    test('DELETE /v3/store/:id signed with method=get (js deleteStore bug) is accepted and deletes', async () => {
      const created = await deleter.client.stores.create(storeInput('Delete via js'));
      const id = created.item.id;
      const { res, signed } = await signedSend({ who: deleter, method: 'DELETE', target: `/v3/store/${id}`, signMethod: 'get', timestamp: millisTs(server), nonce: hexNonce() });
      assert.ok(signed.plaintext.startsWith('method=get&'));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { code: 'SUCCESS' });
      assert.equal(await server.running.storage.stores.get(deleter.merchant.merchant.id, id), null);
    });

    test('DELETE /v3/store/:id with body {} signed without data (go) is accepted', async () => {
      const created = await deleter.client.stores.create(storeInput('Delete with {}'));
      const id = created.item.id;
      const { res } = await signedSend({ who: deleter, method: 'DELETE', target: `/v3/store/${id}`, wireBody: '{}', data: undefined });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { code: 'SUCCESS' });
      assert.equal(await server.running.storage.stores.get(deleter.merchant.merchant.id, id), null);
    });

    test('DELETE /v3/store/:id with body {} signed as data=e30= (js/kt) is accepted', async () => {
      const created = await deleter.client.stores.create(storeInput('Delete with e30'));
      const id = created.item.id;
      const { res } = await signedSend({ who: deleter, method: 'DELETE', target: `/v3/store/${id}`, wireBody: '{}', data: 'e30=' });
      assert.equal(res.status, 200, res.text);
      assert.equal(await server.running.storage.stores.get(deleter.merchant.merchant.id, id), null);
    });
  });

  describe('refusals (401, exact code, nothing written)', () => {
    let victim: Developer;
    before(async () => {
      victim = await createDeveloper(server, { companyName: 'Refusals' });
    });

    async function refusedCreate(
      name: string,
      tweak: (base: { body: Record<string, unknown>; wire: string }) => Partial<Parameters<typeof signedSend>[0]>,
      code: string,
    ): Promise<RawResponse> {
      const initial = await liveStores(server, victim);
      const body = storeInput(name);
      const wire = JSON.stringify(body);
      const { res } = await signedSend({ who: victim, method: 'POST', target: '/v3/store', wireBody: wire, data: dataBase64(body), ...tweak({ body, wire }) });
      assertError(res, 401, code);
      const afterwards = await liveStores(server, victim);
      assert.equal(afterwards.total, initial.total, 'a refused request must not create a store');
      assert.ok(!afterwards.names.some((n) => n.startsWith(name)));
      return res;
    }

    test('body tampered after signing → INVALID_REQUEST_SIGNATURE', async () => {
      await refusedCreate('Tampered', ({ body }) => ({ wireBody: JSON.stringify({ ...body, name: 'Tampered later' }) }), 'INVALID_REQUEST_SIGNATURE');
    });

    test('signed with another key → INVALID_REQUEST_SIGNATURE', async () => {
      const other = await generateRsaKeyPairPem();
      await refusedCreate('Other key', () => ({ privateKeyPem: other.privateKeyPem }), 'INVALID_REQUEST_SIGNATURE');
    });

    test('wrong requestUrl path → INVALID_REQUEST_SIGNATURE', async () => {
      await refusedCreate('Wrong path', () => ({ requestUrl: `${SB}/v3/stores` }), 'INVALID_REQUEST_SIGNATURE');
    });

    test("X-Signature without the 'sha256 ' prefix → INVALID_REQUEST_SIGNATURE", async () => {
      const body = storeInput('No prefix');
      const signed = sign({ method: 'post', requestUrl: `${SB}/v3/store`, data: dataBase64(body), timestamp: secondsTs(server), privateKeyPem: victim.privateKeyPem });
      const bare = (signed.headers['X-Signature'] ?? '').replace(/^sha256 /, '');
      const initial = await liveStores(server, victim);
      const res = await send(server.url, 'POST', '/v3/store', { ...(await bearer(victim)), ...signed.headers, 'X-Signature': bare }, JSON.stringify(body));
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      assert.equal((await liveStores(server, victim)).total, initial.total);
    });

    test("RM's curl form: the bare signature with X-Signature-Type: sha256 is accepted; with another type, refused", async () => {
      const body = storeInput('Curl form');
      const signed = sign({ method: 'post', requestUrl: `${SB}/v3/store`, data: dataBase64(body), timestamp: secondsTs(server), privateKeyPem: victim.privateKeyPem });
      const bare = (signed.headers['X-Signature'] ?? '').replace(/^sha256 /, '');
      const initial = await liveStores(server, victim);
      const typed = { ...(await bearer(victim)), ...signed.headers, 'X-Signature': bare, 'X-Signature-Type': 'sha256' };
      const res = await send(server.url, 'POST', '/v3/store', typed, JSON.stringify(body));
      assert.equal(res.status, 200, res.text);
      assert.equal((await liveStores(server, victim)).total, initial.total + 1);

      const again = storeInput('Curl form md5');
      const md5 = sign({ method: 'post', requestUrl: `${SB}/v3/store`, data: dataBase64(again), timestamp: secondsTs(server), privateKeyPem: victim.privateKeyPem });
      const md5Headers = { ...(await bearer(victim)), ...md5.headers, 'X-Signature': (md5.headers['X-Signature'] ?? '').replace(/^sha256 /, ''), 'X-Signature-Type': 'md5' };
      assertError(await send(server.url, 'POST', '/v3/store', md5Headers, JSON.stringify(again)), 401, 'INVALID_REQUEST_SIGNATURE');
      assert.equal((await liveStores(server, victim)).total, initial.total + 1);
    });

    test('X-Signature with signType md5 (header and plaintext) → INVALID_REQUEST_SIGNATURE', async () => {
      const body = storeInput('Md5');
      const signed = sign({ method: 'post', requestUrl: `${SB}/v3/store`, data: dataBase64(body), timestamp: secondsTs(server), privateKeyPem: victim.privateKeyPem, signType: 'md5' });
      assert.match(signed.headers['X-Signature'] ?? '', /^md5 /);
      const initial = await liveStores(server, victim);
      const res = await send(server.url, 'POST', '/v3/store', { ...(await bearer(victim)), ...signed.headers }, JSON.stringify(body));
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      assert.equal((await liveStores(server, victim)).total, initial.total);
    });

    test('replayed nonce: the identical signed request twice → 200 then 401 SPAM, one store only', async () => {
      const body = storeInput('Replay once');
      const signed = sign({ method: 'post', requestUrl: `${SB}/v3/store`, data: dataBase64(body), timestamp: secondsTs(server), privateKeyPem: victim.privateKeyPem });
      const headers = { ...(await bearer(victim)), ...signed.headers };
      const first = await send(server.url, 'POST', '/v3/store', headers, JSON.stringify(body));
      assertOk(first);
      const second = await send(server.url, 'POST', '/v3/store', headers, JSON.stringify(body));
      assertError(second, 401, 'SPAM');
      const names = (await liveStores(server, victim)).names.filter((n) => n === 'Replay once');
      assert.equal(names.length, 1);
    });

    test('the same nonce used by a different app is fine', async () => {
      const nonce = generateNonce();
      const first = await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', nonce });
      assertOk(first.res);
      const otherApp = await createDeveloper(server, { companyName: 'Other app' });
      const second = await signedSend({ who: otherApp, method: 'GET', target: '/v3/merchant', nonce });
      assertOk(second.res);
      assert.equal(second.res.json.item.id, otherApp.merchant.merchant.id);
    });

    test('nonce reused with a new timestamp inside 2× window + margin → SPAM; after it → accepted', async () => {
      const nonce = generateNonce();
      assertOk((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', nonce })).res);
      server.clock.advanceMs(2 * 300 * 1000 + limits.nonceRetentionMarginMs - 1000);
      assertError((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', nonce })).res, 401, 'SPAM');
      server.clock.advanceMs(2000);
      assertOk((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', nonce })).res);
    });

    test('a byte-identical replay stays refused for as long as its timestamp passes, even one signed at the far edge of the window', async () => {
      // Timestamps in milliseconds (the js SDK's form), 300.4 s ahead: once accepted by rounding the skew to 300 s.
      const ahead = await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', timestamp: String(server.clock.nowMs() + 300_400) });
      assertError(ahead.res, 401, 'INVALID_TIMESTAMP');
      assert.match(String(ahead.res.json.error.message), /300\.4 s away/);
      // Exactly at the edge: accepted, then replayed at the last moment its timestamp is still inside the window.
      const headers = { ...(await bearer(victim)), ...sign({ method: 'get', requestUrl: `${SB}/v3/merchant`, timestamp: String(server.clock.nowMs() + 300_000), privateKeyPem: victim.privateKeyPem }).headers };
      assertOk(await send(server.url, 'GET', '/v3/merchant', headers));
      assertError(await send(server.url, 'GET', '/v3/merchant', headers), 401, 'SPAM');
      server.clock.advanceMs(2 * 300 * 1000);
      assertError(await send(server.url, 'GET', '/v3/merchant', headers), 401, 'SPAM');
      // One millisecond later the timestamp itself is out of the window.
      server.clock.advanceMs(1);
      assertError(await send(server.url, 'GET', '/v3/merchant', headers), 401, 'INVALID_TIMESTAMP');
    });

    test('stale timestamp (clock +301 s after signing, default window) → INVALID_TIMESTAMP, nothing written', async () => {
      alignClockToSecond(server);
      const timestamp = secondsTs(server);
      server.clock.advanceMs(301_000);
      await refusedCreate('Stale', () => ({ timestamp }), 'INVALID_TIMESTAMP');
    });

    test('timestamp exactly at the window edge (−300 s and +300 s) is accepted', async () => {
      alignClockToSecond(server);
      assertOk((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', timestamp: secondsTs(server, -300) })).res);
      assertOk((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', timestamp: secondsTs(server, 300) })).res);
      assertOk((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', timestamp: String(server.clock.nowMs() - 300_000) })).res);
    });

    test('timestamp 301 s in the past or future → INVALID_TIMESTAMP', async () => {
      alignClockToSecond(server);
      assertError((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', timestamp: secondsTs(server, -301) })).res, 401, 'INVALID_TIMESTAMP');
      await refusedCreate('Future', () => ({ timestamp: secondsTs(server, 301) }), 'INVALID_TIMESTAMP');
      assertError((await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', timestamp: String(server.clock.nowMs() + 301_000) })).res, 401, 'INVALID_TIMESTAMP');
    });

    test('garbage or missing timestamp → INVALID_TIMESTAMP', async () => {
      await refusedCreate('Garbage ts', () => ({ timestamp: 'yesterday' }), 'INVALID_TIMESTAMP');
      for (const timestamp of ['-1', '1e9', '0x5f5e100', '']) {
        const { res } = await signedSend({ who: victim, method: 'GET', target: '/v3/merchant', timestamp });
        assertError(res, 401, 'INVALID_TIMESTAMP');
      }
      const body = storeInput('No ts');
      const signed = sign({ method: 'post', requestUrl: `${SB}/v3/store`, data: dataBase64(body), timestamp: secondsTs(server), privateKeyPem: victim.privateKeyPem });
      const { 'X-Timestamp': _dropped, ...withoutTimestamp } = signed.headers;
      const res = await send(server.url, 'POST', '/v3/store', { ...(await bearer(victim)), ...withoutTimestamp }, JSON.stringify(body));
      assertError(res, 401, 'INVALID_TIMESTAMP');
    });

    test('missing nonce → INVALID_REQUEST_SIGNATURE, nothing written', async () => {
      const body = storeInput('No nonce');
      const signed = sign({ method: 'post', requestUrl: `${SB}/v3/store`, data: dataBase64(body), timestamp: secondsTs(server), privateKeyPem: victim.privateKeyPem });
      const { 'X-Nonce-Str': _dropped, ...withoutNonce } = signed.headers;
      const initial = await liveStores(server, victim);
      const res = await send(server.url, 'POST', '/v3/store', { ...(await bearer(victim)), ...withoutNonce }, JSON.stringify(body));
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      assert.equal((await liveStores(server, victim)).total, initial.total);
    });

    test('the error.debug block of a bad signature shows header remarks and the expected plaintext, never key material', async () => {
      const other = await generateRsaKeyPairPem();
      const res = await refusedCreate('Debug', ({ wire }) => ({ privateKeyPem: other.privateKeyPem, wireBody: wire }), 'INVALID_REQUEST_SIGNATURE');
      const debug = res.json.error.debug;
      assert.ok(debug, 'sandbox mode includes error.debug');
      for (const name of ['X-Signature', 'X-Nonce-Str', 'X-Timestamp']) {
        assert.equal(typeof debug.requestHeader[name]?.remark, 'string', `remark for ${name}`);
        assert.equal(typeof debug.requestHeader[name]?.isValid, 'boolean');
      }
      const nonce = debug.requestHeader['X-Nonce-Str'].currentValue as string;
      const timestamp = debug.requestHeader['X-Timestamp'].currentValue as string;
      const expectedBody = storeInput('Debug');
      assert.equal(debug.preVerifyContent.step1, canonicalJson(expectedBody));
      assert.equal(debug.preVerifyContent.step2, dataBase64(expectedBody));
      const step3 = debug.preVerifyContent.step3 as string;
      assert.ok(step3.startsWith(`data=${dataBase64(expectedBody)}&method=post&nonceStr=${nonce}&requestUrl=`), step3);
      assert.ok(step3.endsWith(`/v3/store&signType=sha256&timestamp=${timestamp}`), step3);
      assert.ok(!res.text.includes('PRIVATE KEY'));
      assert.ok(!res.text.includes('PUBLIC KEY'));
      assert.ok(!res.text.includes(victim.publicKeyPem.split('\n')[1] ?? 'never'), 'no public key body either');
    });
  });

  describe('who must sign', () => {
    test('app with requireSignature: unsigned GET /v3/merchant → 401 INVALID_REQUEST_SIGNATURE; signed → 200', async () => {
      const strict = await createDeveloper(server, { requireSignature: true });
      const unsigned = await send(server.url, 'GET', '/v3/merchant', await bearer(strict));
      assertError(unsigned, 401, 'INVALID_REQUEST_SIGNATURE');
      const { res } = await signedSend({ who: strict, method: 'GET', target: '/v3/merchant' });
      assertOk(res);
    });

    test('app with requireSignature: an unsigned create writes nothing', async () => {
      const strict = await createDeveloper(server, { requireSignature: true });
      const initial = await liveStores(server, strict);
      const res = await send(server.url, 'POST', '/v3/store', await bearer(strict), JSON.stringify(storeInput('Unsigned strict')));
      assertError(res, 401, 'INVALID_REQUEST_SIGNATURE');
      assert.equal((await liveStores(server, strict)).total, initial.total);
    });

    test('unsigned request for a normal app → 200', async () => {
      const res = await send(server.url, 'GET', '/v3/merchant', await bearer(dev));
      assertOk(res);
    });

    test('signed request from an app without a public key → 401 CLIENT_NOT_SET_PUBLIC_KEY, nothing written', async () => {
      const keyless = await createDeveloper(server, { withPublicKey: false });
      const initial = await liveStores(server, keyless);
      const body = storeInput('Keyless');
      const { res } = await signedSend({ who: keyless, method: 'POST', target: '/v3/store', wireBody: JSON.stringify(body), data: dataBase64(body) });
      assertError(res, 401, 'CLIENT_NOT_SET_PUBLIC_KEY');
      assert.equal((await liveStores(server, keyless)).total, initial.total);
    });
  });

  describe('nonces are shared across processes on one database', () => {
    let second: RunningServer;
    before(async () => {
      const opened = await openStorage(server.database.target);
      second = await startServer({
        config: server.config,
        clock: server.clock,
        ids: createIds(server.clock),
        logger: createLogger('silent'),
        opened,
      });
    });
    after(() => second.close());

    test('a signed request accepted by server 1 is refused as SPAM when replayed to server 2', async () => {
      assert.notEqual(second.url, server.url);
      const signed = sign({ method: 'get', requestUrl: `${SB}/v3/merchant`, timestamp: secondsTs(server), privateKeyPem: dev.privateKeyPem });
      const headers = { ...(await bearer(dev)), ...signed.headers };
      assertOk(await send(server.url, 'GET', '/v3/merchant', headers));
      assertError(await send(second.url, 'GET', '/v3/merchant', headers), 401, 'SPAM');
    });

    test('a fresh database of the same kind migrates while this one is in use (postgres: another schema of the same database)', async () => {
      // Kysely's migrator looks for its bookkeeping tables in every schema; it must only consider the schema it migrates.
      const fresh = await freshDatabase(dialect);
      try {
        const opened = await openStorage(fresh.target);
        assert.equal(await opened.storage.merchants.count(), 0);
        await opened.storage.close();
      } finally {
        await fresh.drop();
      }
    });

    test('server 2 accepts a fresh signed request with the same token (shared keys and apps)', async () => {
      const signed = sign({ method: 'get', requestUrl: `${SB}/v3/merchant`, timestamp: secondsTs(server), privateKeyPem: dev.privateKeyPem });
      assertOk(await send(second.url, 'GET', '/v3/merchant', { ...(await bearer(dev)), ...signed.headers }));
    });
  });
});

// Its own top-level suite so only one database of this file exists at a time (see the fresh-schema test above).
forEachDialect('request signatures with TUNAI_PUBLIC_URL', (dialect) => {
  let gw: TestServer;
  let gwDev: Developer;
  before(async () => {
    gw = await startTestServer(dialect, { TUNAI_PUBLIC_URL: 'https://gw.example.test' });
    gwDev = await createDeveloper(gw);
  });
  after(() => gw.close());

  async function gwSend(requestUrl: string): Promise<RawResponse> {
    const signed = sign({ method: 'get', requestUrl, timestamp: secondsTs(gw), privateKeyPem: gwDev.privateKeyPem });
    return send(gw.url, 'GET', '/v3/merchant', { ...(await bearer(gwDev)), ...signed.headers });
  }

  test('requestUrl signed as the configured public URL is accepted', async () => {
    assertOk(await gwSend('https://gw.example.test/v3/merchant'));
  });

  test('the received URL and the RM hosts still work next to the configured one', async () => {
    assertOk(await gwSend(`${gw.url}/v3/merchant`));
    assertOk(await gwSend(`${SB}/v3/merchant`));
    assertOk(await gwSend(`${PROD}/v3/merchant`));
  });

  test('a different host or scheme is refused', async () => {
    assertError(await gwSend('https://gw2.example.test/v3/merchant'), 401, 'INVALID_REQUEST_SIGNATURE');
    assertError(await gwSend('http://gw.example.test/v3/merchant'), 401, 'INVALID_REQUEST_SIGNATURE');
  });
});
