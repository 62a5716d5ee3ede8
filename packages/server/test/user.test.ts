// GET /v3/user: the item field for field, the merchant owner it names, scope, tokens and isolation, on both databases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawResponse } from '@tunai/client';
import { allScopes } from '@tunai/client/contract';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer, rmTime } from './harness.js';

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Every key of the spec's "Get User" item and its JSON type (storeId is an array of store ids). */
const userSpecTypes: Record<string, 'string' | 'boolean' | 'array'> = {
  id: 'string',
  firstName: 'string',
  lastName: 'string',
  countryCode: 'string',
  phoneNumber: 'string',
  email: 'string',
  avatarUrl: 'string',
  status: 'string',
  storeId: 'array',
  isActive: 'boolean',
  createdAt: 'string',
  updatedAt: 'string',
};

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.rawText}`);
  const body = res.body as { error?: { code?: string; message?: string } };
  assert.equal(body.error?.code, code, res.rawText);
  assert.equal(typeof body.error?.message, 'string');
}

forEachDialect('user endpoint', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Kedai Pengguna' });
  });
  after(() => server.close());

  test('GET /v3/user returns the item field for field: every key, right types, storeId an array, RFC 3339 times', async () => {
    const raw = await dev.client.send('GET', '/v3/user');
    assert.equal(raw.status, 200, raw.rawText);
    const body = raw.body as { item: Record<string, unknown>; code: string };
    assert.deepEqual(Object.keys(body).sort(), ['code', 'item']);
    assert.equal(body.code, 'SUCCESS');
    const item = body.item;
    assert.deepEqual(Object.keys(item).sort(), Object.keys(userSpecTypes).sort());
    for (const [key, type] of Object.entries(userSpecTypes)) {
      if (type === 'array') assert.ok(Array.isArray(item[key]), `${key} must be an array`);
      else assert.equal(typeof item[key], type, `${key} must be a ${type}`);
    }
    const storeIds = item['storeId'] as unknown[];
    assert.ok(storeIds.every((id) => typeof id === 'string'));
    assert.ok(storeIds.includes(dev.merchant.store.id), 'storeId contains the default store');
    assert.equal(item['isActive'], true);
    for (const key of ['createdAt', 'updatedAt']) {
      assert.match(item[key] as string, rfc3339, key);
      assert.ok(!Number.isNaN(Date.parse(item[key] as string)));
    }

    // The values are the stored owner's.
    const u = dev.merchant.user;
    assert.deepEqual(item, {
      id: u.id,
      firstName: u.firstName,
      lastName: u.lastName,
      countryCode: u.countryCode,
      phoneNumber: u.phoneNumber,
      email: u.email,
      avatarUrl: u.avatarUrl,
      status: u.status,
      storeId: [dev.merchant.store.id],
      isActive: true,
      createdAt: rmTime(u.createdAtMs),
      updatedAt: rmTime(u.updatedAtMs),
    });
  });

  test('the user is the merchant\'s owner', async () => {
    const res = await dev.client.user.get();
    assert.equal(res.code, 'SUCCESS');
    assert.equal(res.item.id, dev.merchant.user.id);
    const stored = await server.running.storage.users.get(dev.merchant.merchant.id, res.item.id);
    assert.ok(stored, 'the user belongs to the caller merchant');
    assert.equal(await server.running.storage.users.ownerOf(dev.merchant.merchant.id), res.item.id);
  });

  test('a token without get_user_profile → 403 CLIENT_NO_PERMISSION; with only that scope → 200', async () => {
    const others = allScopes.filter((s) => s !== 'get_user_profile');
    const without = await createDeveloper(server, { scopes: others });
    assertError(await without.client.send('GET', '/v3/user'), 403, 'CLIENT_NO_PERMISSION');
    const only = await createDeveloper(server, { scopes: ['get_user_profile'] });
    const ok = await only.client.send('GET', '/v3/user');
    assert.equal(ok.status, 200, ok.rawText);
    assert.equal((ok.body as { item: { id: string } }).item.id, only.merchant.user.id);
  });

  test('no access token → 401 TOKEN_INVALID', async () => {
    assertError(await dev.client.send('GET', '/v3/user', { accessToken: null, sign: false }), 401, 'TOKEN_INVALID');
    assertError(await dev.client.send('GET', '/v3/user', { accessToken: null, sign: false, headers: { Authorization: 'Bearer x.y' } }), 401, 'TOKEN_INVALID');
  });

  test('an expired access token → 401 TOKEN_EXPIRED (clock moved, no sleeping)', async () => {
    const fresh = await createDeveloper(server);
    const token = await fresh.client.getAccessToken();
    const ttlMs = server.config.accessTokenTtlSeconds * 1000;
    server.clock.advanceMs(ttlMs - 2_000);
    const stillValid = await fresh.client.send('GET', '/v3/user', { accessToken: token });
    assert.equal(stillValid.status, 200, stillValid.rawText);
    server.clock.advanceMs(4_000);
    assertError(await fresh.client.send('GET', '/v3/user', { accessToken: token }), 401, 'TOKEN_EXPIRED');
    // The client itself renews and carries on.
    const renewed = await fresh.client.user.get();
    assert.equal(renewed.item.id, fresh.merchant.user.id);
  });

  test('two merchants see different users, each their own', async () => {
    const a = await createDeveloper(server, { companyName: 'Merchant A' });
    const b = await createDeveloper(server, { companyName: 'Merchant B' });
    const [userA, userB] = await Promise.all([a.client.user.get(), b.client.user.get()]);
    assert.notEqual(userA.item.id, userB.item.id);
    assert.equal(userA.item.id, a.merchant.user.id);
    assert.equal(userB.item.id, b.merchant.user.id);
    assert.deepEqual(userA.item.storeId, [a.merchant.store.id]);
    assert.deepEqual(userB.item.storeId, [b.merchant.store.id]);
    // B's user is not a user of A's merchant.
    assert.equal(await server.running.storage.users.get(a.merchant.merchant.id, userB.item.id), null);
  });
});
