// HTTP envelope and edge cases: 404/405, malformed JSON, body size and type limits, __proto__, odd paths, health, and a no-5xx fuzz loop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { limits } from '@tunai/client/contract';
import { createDeveloper, forEachDialect, rawRequest, seededRandom, startTestServer, storeInput, type Developer, type RawResponse, type TestServer } from './harness.js';

const JSON_TYPE = { 'content-type': 'application/json' };

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text.slice(0, 300)}`);
  assert.equal(res.json?.error?.code, code, res.text.slice(0, 300));
  assert.equal(typeof res.json.error.message, 'string');
}

forEachDialect('HTTP envelope and edge cases', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let auth: Record<string, string>;
  let basic: Record<string, string>;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server);
    auth = { authorization: `Bearer ${await dev.client.getAccessToken()}` };
    basic = { authorization: `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64')}` };
  });
  after(() => server.close());

  async function storeCount(): Promise<number> {
    const page = await server.running.storage.stores.list({
      merchantId: dev.merchant.merchant.id,
      limit: 100,
      afterId: null,
      updatedAtFromMs: null,
      updatedAtToMs: null,
    });
    return page.total;
  }

  test('unknown route → 404 API_ENDPOINT_NOT_FOUND with exactly {error:{code,message}}', async () => {
    for (const [method, target] of [
      ['GET', '/nope'],
      ['GET', '/v3/unknown'],
      ['POST', '/v3/payment/nothing'],
      ['GET', '/'],
    ] as const) {
      const res = await rawRequest(server.url, method, target, auth);
      assertError(res, 404, 'API_ENDPOINT_NOT_FOUND');
      assert.deepEqual(Object.keys(res.json), ['error']);
      assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message']);
      assert.match(res.headers['content-type'] ?? '', /application\/json/);
    }
  });

  test('wrong method on a known path → 405 METHOD_NOT_ALLOWED with an Allow header', async () => {
    const cases: [string, string, string[]][] = [
      ['PUT', '/v3/store', ['POST']],
      ['DELETE', '/v3/stores', ['GET']],
      ['POST', '/v3/store/1234567890123456789', ['DELETE', 'GET', 'PATCH']],
      ['GET', '/tool/signature/generate', ['POST']],
      ['GET', '/v1/token', ['POST']],
      ['POST', '/v3/merchant', ['GET']],
    ];
    for (const [method, target, allowed] of cases) {
      const res = await rawRequest(server.url, method, target, auth);
      assertError(res, 405, 'METHOD_NOT_ALLOWED');
      const allow = (res.headers.allow ?? '').split(',').map((m) => m.trim()).filter(Boolean).sort();
      assert.deepEqual(allow, allowed, `${method} ${target}`);
    }
  });

  test('malformed JSON on POST /v3/store → 400 INVALID_REQUEST, nothing written', async () => {
    const initial = await storeCount();
    for (const body of ['{"name":', '{name: "x"}', "{'a':1}", '{"a":1,}', 'nul', '{"a":1}{"b":2}']) {
      assertError(await rawRequest(server.url, 'POST', '/v3/store', { ...auth, ...JSON_TYPE }, body), 400, 'INVALID_REQUEST');
    }
    assert.equal(await storeCount(), initial);
  });

  test('malformed JSON on POST /v1/token → 400 INVALID_REQUEST', async () => {
    for (const body of ['{"grantType":', 'grantType=client_credentials', '{"grantType":"client_credentials"']) {
      const res = await rawRequest(server.url, 'POST', '/v1/token', { ...basic, ...JSON_TYPE }, body);
      assertError(res, 400, 'INVALID_REQUEST');
      assert.equal(res.json.accessToken, undefined);
    }
  });

  test(`body of ${limits.requestBodyBytesMax} + 1 bytes → 413; exactly ${limits.requestBodyBytesMax} is not 413`, async () => {
    const initial = await storeCount();
    const wrap = (size: number) => {
      const prefix = '{"pad":"';
      const suffix = '"}';
      return prefix + 'x'.repeat(size - prefix.length - suffix.length) + suffix;
    };
    const atLimit = wrap(limits.requestBodyBytesMax);
    const overLimit = wrap(limits.requestBodyBytesMax + 1);
    assert.equal(Buffer.byteLength(atLimit), limits.requestBodyBytesMax);
    assert.equal(Buffer.byteLength(overLimit), limits.requestBodyBytesMax + 1);

    const over = await rawRequest(server.url, 'POST', '/v3/store', { ...auth, ...JSON_TYPE }, overLimit);
    assertError(over, 413, 'INVALID_REQUEST');
    const at = await rawRequest(server.url, 'POST', '/v3/store', { ...auth, ...JSON_TYPE }, atLimit);
    assertError(at, 400, 'VALIDATION_ERROR');

    assertError(await rawRequest(server.url, 'POST', '/v1/token', { ...basic, ...JSON_TYPE }, overLimit), 413, 'INVALID_REQUEST');
    assert.notEqual((await rawRequest(server.url, 'POST', '/v1/token', { ...basic, ...JSON_TYPE }, atLimit)).status, 413);
    assert.equal(await storeCount(), initial);
  });

  const getBodyOfBytes = (size: number) => `{"pad":"${'x'.repeat(size - 10)}"}`;

  test('a GET body over the limit → 413 INVALID_REQUEST (bodies on GET are read by hand)', async () => {
    const overLimit = getBodyOfBytes(limits.requestBodyBytesMax + 1);
    assert.equal(Buffer.byteLength(overLimit), limits.requestBodyBytesMax + 1);
    const over = await rawRequest(server.url, 'GET', '/v3/merchant', { ...auth, ...JSON_TYPE }, overLimit);
    assertError(over, 413, 'INVALID_REQUEST');
  });

  test('a GET body of exactly the limit is read (not 413)', async () => {
    const atLimit = getBodyOfBytes(limits.requestBodyBytesMax);
    assert.equal(Buffer.byteLength(atLimit), limits.requestBodyBytesMax);
    const at = await rawRequest(server.url, 'GET', '/v3/merchant', { ...auth, ...JSON_TYPE }, atLimit);
    assert.equal(at.status, 200, at.text.slice(0, 300));
  });

  test('text/plain (and form) bodies → 415 INVALID_REQUEST, nothing written', async () => {
    const initial = await storeCount();
    const body = JSON.stringify(storeInput('Plain text'));
    assertError(await rawRequest(server.url, 'POST', '/v3/store', { ...auth, 'content-type': 'text/plain' }, body), 415, 'INVALID_REQUEST');
    assertError(await rawRequest(server.url, 'POST', '/v3/store', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, 'name=x'), 415, 'INVALID_REQUEST');
    assertError(
      await rawRequest(server.url, 'POST', '/v1/token', { ...basic, 'content-type': 'text/plain' }, '{"grantType":"client_credentials"}'),
      415,
      'INVALID_REQUEST',
    );
    assert.equal(await storeCount(), initial);
  });

  test('JSON with a "__proto__" or constructor.prototype key → 400, nothing written', async () => {
    const initial = await storeCount();
    const valid = JSON.stringify(storeInput('Proto'));
    const bodies = [
      `{"__proto__":{"isAdmin":true},${valid.slice(1)}`,
      `{${valid.slice(1, -1)},"geoLocation":{"__proto__":{"latitude":1},"latitude":1,"longitude":2}}`,
      `{"constructor":{"prototype":{"polluted":true}},${valid.slice(1)}`,
    ];
    for (const body of bodies) {
      const res = await rawRequest(server.url, 'POST', '/v3/store', { ...auth, ...JSON_TYPE }, body);
      assertError(res, 400, 'INVALID_REQUEST');
    }
    assertError(await rawRequest(server.url, 'POST', '/v1/token', { ...basic, ...JSON_TYPE }, '{"__proto__":{},"grantType":"client_credentials"}'), 400, 'INVALID_REQUEST');
    assert.equal(await storeCount(), initial);
    assert.equal(({} as Record<string, unknown>)['isAdmin'], undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('invalid percent-encoding in the path (/v3/store/%ZZ) → 4xx with an error envelope, not 500', async () => {
    for (const target of ['/v3/store/%ZZ', '/v3/store/%E0%A4%A', '/v3/%ZZ', '/%']) {
      const res = await rawRequest(server.url, 'GET', target, auth);
      assert.ok(res.status >= 400 && res.status < 500, `${target} → ${res.status} ${res.text}`);
      assert.equal(typeof res.json?.error?.code, 'string', res.text);
    }
  });

  test('store id path segments: at 200 chars → 404 STORE_NOT_FOUND, very long → 404 not 500', async () => {
    assertError(await rawRequest(server.url, 'GET', `/v3/store/${'9'.repeat(200)}`, auth), 404, 'STORE_NOT_FOUND');
    for (const length of [201, 5_000]) {
      const res = await rawRequest(server.url, 'GET', `/v3/store/${'9'.repeat(length)}`, auth);
      assert.equal(res.status, 404, `id of ${length} chars → ${res.status} ${res.text.slice(0, 300)}`);
      assert.ok(['STORE_NOT_FOUND', 'API_ENDPOINT_NOT_FOUND'].includes(res.json?.error?.code), res.text.slice(0, 300));
    }
    const res = await rawRequest(server.url, 'DELETE', `/v3/store/${'9'.repeat(5_000)}`, auth);
    assert.equal(res.status, 404, res.text.slice(0, 300));
  });

  test('a success response never has a top-level "error"', async () => {
    const created = await rawRequest(server.url, 'POST', '/v3/store', { ...auth, ...JSON_TYPE }, JSON.stringify(storeInput('Envelope')));
    const id = created.json?.item?.id as string;
    const responses = [
      created,
      await rawRequest(server.url, 'GET', '/v3/merchant', auth),
      await rawRequest(server.url, 'GET', '/v3/merchant/subscriptions', auth),
      await rawRequest(server.url, 'GET', '/v3/stores', auth),
      await rawRequest(server.url, 'GET', `/v3/store/${id}`, auth),
      await rawRequest(server.url, 'PATCH', `/v3/store/${id}`, { ...auth, ...JSON_TYPE }, '{"city":"Ipoh"}'),
      await rawRequest(server.url, 'DELETE', `/v3/store/${id}`, auth),
      await rawRequest(server.url, 'GET', '/v3/user', auth),
      await rawRequest(server.url, 'POST', '/v1/token', { ...basic, ...JSON_TYPE }, '{"grantType":"client_credentials"}'),
      await rawRequest(server.url, 'GET', '/health', {}),
      await rawRequest(server.url, 'GET', '/health/live', {}),
    ];
    for (const res of responses) {
      assert.equal(res.status, 200, res.text.slice(0, 300));
      assert.ok(res.json !== null && typeof res.json === 'object', res.text.slice(0, 300));
      assert.ok(!('error' in res.json), res.text.slice(0, 300));
    }
  });

  test('GET /health reports the database; GET /health/live reports the process', async () => {
    const health = await rawRequest(server.url, 'GET', '/health', {});
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok', database: 'ok' });
    const live = await rawRequest(server.url, 'GET', '/health/live', {});
    assert.equal(live.status, 200);
    assert.deepEqual(live.json, { status: 'ok' });
  });

  test('fuzz: 200 random JSON-ish bodies and headers against POST /v3/store, /v1/token, /tool/signature/generate never 5xx', async () => {
    const seed = 0x7e57 + (dialect === 'postgres' ? 1 : 0);
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const int = (max: number) => Math.floor(random() * max);
    const strings = ['', 'x', 'A<B> & C\'s 服务费', '\u0000', '\ud800', '%ZZ', '𝕏', 'a'.repeat(300), '"', '\\', '__proto__', 'null', '{}', '1e309'];
    const keys = ['name', 'addressLine1', 'postCode', 'city', 'state', 'country', 'countryCode', 'phoneNumber', 'geoLocation', 'latitude', 'longitude',
      'grantType', 'refreshToken', 'code', 'redirectUri', 'data', 'method', 'nonceStr', 'privateKey', 'requestUrl', 'signType', 'timestamp', 'constructor', ''];
    const value = (depth: number): unknown => {
      switch (int(depth > 2 ? 5 : 8)) {
        case 0: return null;
        case 1: return random() < 0.5;
        case 2: return pick([0, -1, 1e308, -1e-308, 3.5, 2 ** 53 + 1, 91, -181]);
        case 3: return pick(strings);
        case 4: return pick(['client_credentials', 'refresh_token', 'authorization_code', 'sha256', 'post', '60', '123456789']);
        case 5: return Array.from({ length: int(4) }, () => value(depth + 1));
        default: return Object.fromEntries(Array.from({ length: int(6) }, () => [pick(keys), value(depth + 1)]));
      }
    };
    const body = (): string | undefined => {
      switch (int(8)) {
        case 0: return undefined;
        case 1: return '';
        case 2: return JSON.stringify(value(0)).slice(0, int(60));
        case 3: return pick(['{', '[', '"', '{"a":}', '\u0000', '{"a":1}garbage', 'true', '1', '"str"', '[]', '{}']);
        default: return JSON.stringify(value(0));
      }
    };
    const contentTypes = ['application/json', 'application/json;', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x', 'application/vnd.api+json', '', 'application/json; charset=latin1', '*/*'];
    const headerSets = (): Record<string, string> => {
      const headers: Record<string, string> = {};
      if (random() < 0.8) headers['content-type'] = pick(contentTypes);
      switch (int(5)) {
        case 0: Object.assign(headers, auth); break;
        case 1: Object.assign(headers, basic); break;
        case 2: headers.authorization = pick(['Bearer', 'Bearer x.y.z', 'Basic', 'Basic !!!', 'Basic ' + Buffer.from(':').toString('base64'), 'Digest x']); break;
        default: break;
      }
      if (random() < 0.3) headers['x-signature'] = pick(['sha256', 'sha256 ', 'sha256 AAAA', 'md5 x', 'sha256 ' + 'A'.repeat(3000)]);
      if (random() < 0.3) headers['x-nonce-str'] = pick(['', 'short', 'a'.repeat(200), 'ok_nonce_1234567890']);
      if (random() < 0.3) headers['x-timestamp'] = pick(['', '0', '-1', '1e99', String(Math.floor(server.clock.nowMs() / 1000)), 'NaN', '9'.repeat(40)]);
      return headers;
    };
    const targets = ['/v3/store', '/v1/token', '/tool/signature/generate'];
    const initial = await storeCount();
    const seen = new Map<number, number>();
    for (let index = 0; index < 200; index++) {
      const target = pick(targets);
      const payload = body();
      const headers = headerSets();
      const res = await rawRequest(server.url, 'POST', target, headers, payload);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      assert.ok(res.status < 500, `seed ${seed} #${index}: POST ${target} ${JSON.stringify(headers)} ${JSON.stringify(payload)?.slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`);
      if (res.status !== 200) assert.equal(typeof res.json?.error?.code, 'string', `#${index} non-200 without an error envelope: ${res.text.slice(0, 200)}`);
    }
    assert.ok(seen.size > 2, `the fuzz should hit several statuses: ${JSON.stringify([...seen])}`);
    // Random bodies carry random names; anything created must still respect the per-merchant store limit.
    assert.ok((await storeCount()) <= limits.storesPerMerchantMax && (await storeCount()) >= initial);
  });
});
