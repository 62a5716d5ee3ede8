// A client written from RM's public documents alone (node:crypto only, none of our code) drives every endpoint.
import { createPrivateKey, createSign, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

/** RM "Signature Algorithm": sort keys at every depth, compact JSON, escape <>& the way Go does, base64. */
function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortDeep((value as Record<string, unknown>)[k])]));
  }
  return value;
}

function docsSignedHeaders(input: {
  method: string;
  url: string;
  body?: unknown;
  privateKeyPem: string;
  accessToken: string;
  timestamp: string;
}): Record<string, string> {
  const nonceStr = randomBytes(16).toString('hex');
  const parts: string[] = [];
  if (input.body !== undefined) {
    const json = JSON.stringify(sortDeep(input.body)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
    parts.push(`data=${Buffer.from(json).toString('base64')}`);
  }
  parts.push(`method=${input.method.toLowerCase()}`, `nonceStr=${nonceStr}`, `requestUrl=${input.url}`, 'signType=sha256', `timestamp=${input.timestamp}`);
  const signer = createSign('RSA-SHA256');
  signer.update(parts.join('&'));
  return {
    Authorization: `Bearer ${input.accessToken}`,
    'X-Signature': `sha256 ${signer.sign(createPrivateKey(input.privateKeyPem), 'base64')}`,
    'X-Nonce-Str': nonceStr,
    'X-Timestamp': input.timestamp,
    'Content-Type': 'application/json',
  };
}

forEachDialect('a client written from the RM documents', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server);
  });
  after(() => server.close());

  for (const unit of ['seconds', 'milliseconds'] as const) {
    test(`obtains a token and calls every endpoint with ${unit} timestamps`, async () => {
      const tokenRes = await fetch(`${server.url}/v1/token`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64')}`,
        },
        body: JSON.stringify({ grantType: 'client_credentials' }),
      });
      assert.equal(tokenRes.status, 200);
      const token = (await tokenRes.json()) as { accessToken: string; expiresIn: number; refreshToken: string };
      assert.equal(typeof token.expiresIn, 'number');
      const nowMs = server.clock.nowMs();
      const timestamp = unit === 'seconds' ? String(Math.floor(nowMs / 1000)) : String(nowMs);

      const call = async (method: string, path: string, body?: unknown) => {
        const url = `${server.url}${path}`;
        const headers = docsSignedHeaders({ method, url, body, privateKeyPem: dev.privateKeyPem, accessToken: token.accessToken, timestamp });
        const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
        const json = (await res.json()) as Record<string, unknown>;
        assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
        assert.equal(json.code, 'SUCCESS');
        assert.equal(json.error, undefined);
        return json;
      };

      const merchant = (await call('GET', '/v3/merchant')).item as { id: string };
      assert.equal(merchant.id, dev.merchant.merchant.id);
      assert.ok(Array.isArray((await call('GET', '/v3/merchant/subscriptions')).item));
      const created = (await call('POST', '/v3/store', {
        name: `Cawangan ${unit}`,
        addressLine1: 'Lot 1 & 2, <Jalan> Ampang',
        postCode: '50450',
        city: 'Kuala Lumpur',
        state: 'WP',
        country: 'Malaysia',
        countryCode: '60',
        phoneNumber: '312345678',
        geoLocation: { latitude: 3.1578, longitude: 101.7123 },
      })).item as { id: string; addressLine1: string };
      assert.equal(created.addressLine1, 'LOT 1 & 2, <JALAN> AMPANG');
      const listed = (await call('GET', '/v3/stores?limit=50')).items as { id: string }[];
      assert.ok(listed.some((s) => s.id === created.id));
      assert.equal(((await call('GET', `/v3/store/${created.id}`)).item as { id: string }).id, created.id);
      const patched = (await call('PATCH', `/v3/store/${created.id}`, { name: 'Renamed' })).item as { name: string };
      assert.equal(patched.name, 'Renamed');
      assert.deepEqual(await call('DELETE', `/v3/store/${created.id}`), { code: 'SUCCESS' });
      const user = (await call('GET', '/v3/user')).item as { storeId: string[] };
      assert.deepEqual(user.storeId, [dev.merchant.store.id]);

      const refreshed = await fetch(`${server.url}/v1/token`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Basic ${Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64')}`,
        },
        body: JSON.stringify({ grantType: 'refresh_token', refreshToken: token.refreshToken }),
      });
      assert.equal(refreshed.status, 200);
    });
  }
});
