// GET /v3/merchant and /v3/merchant/subscriptions: shapes, scopes, tokens and isolation, on both databases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RmApiError, type RawResponse } from '@tunai/client';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer, rmTime } from './harness.js';

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function assertRfc3339(value: unknown, field: string): void {
  assert.equal(typeof value, 'string', `${field} must be a string`);
  assert.match(value as string, rfc3339, `${field} must be RFC 3339`);
  assert.ok(!Number.isNaN(Date.parse(value as string)), `${field} must parse`);
}

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.rawText}`);
  const body = res.body as { error?: { code?: string; message?: string } };
  assert.equal(body.error?.code, code, res.rawText);
  assert.equal(typeof body.error?.message, 'string');
}

/** Every key of the spec's "Get Merchant Profile" item and its JSON type. */
const merchantSpecTypes: Record<string, 'string' | 'boolean' | 'object'> = {
  id: 'string',
  companyName: 'string',
  companyType: 'string',
  companyLogoUrl: 'string',
  registrationNumber: 'string',
  businessCategory: 'string',
  establishedAt: 'string',
  countryCode: 'string',
  phoneNumber: 'string',
  addressLine1: 'string',
  addressLine2: 'string',
  postcode: 'string',
  city: 'string',
  state: 'string',
  country: 'string',
  invoiceAddress: 'object',
  isActive: 'boolean',
  status: 'string',
  isMasterMerchant: 'boolean',
  masterMerchantId: 'string',
  isPartner: 'boolean',
  partnerId: 'string',
  gstNo: 'string',
  createdAt: 'string',
  updatedAt: 'string',
};
const invoiceAddressKeys = ['addressLine1', 'addressLine2', 'city', 'country', 'postcode', 'state'];

forEachDialect('merchant endpoints', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Kedai Test' });
  });
  after(() => server.close());

  test('GET /v3/merchant returns the caller merchant with every field', async () => {
    const res = await dev.client.merchant.get();
    assert.equal(res.code, 'SUCCESS');
    assert.equal(res.item.id, dev.merchant.merchant.id);
    assert.equal(res.item.companyName, 'Kedai Test');
    assert.equal(res.item.establishedAt, '0001-01-01T00:00:00Z');
    assert.deepEqual(Object.keys(res.item.invoiceAddress).sort(), ['addressLine1', 'addressLine2', 'city', 'country', 'postcode', 'state']);
    assert.equal(typeof res.item.isActive, 'boolean');
  });

  test('GET /v3/merchant item matches the spec item field for field: every key, right types, RFC 3339 times', async () => {
    const raw = await dev.client.send('GET', '/v3/merchant');
    assert.equal(raw.status, 200, raw.rawText);
    const body = raw.body as { item: Record<string, unknown>; code: string };
    assert.deepEqual(Object.keys(body).sort(), ['code', 'item']);
    assert.equal(body.code, 'SUCCESS');
    const item = body.item;
    assert.deepEqual(Object.keys(item).sort(), Object.keys(merchantSpecTypes).sort());
    for (const [key, type] of Object.entries(merchantSpecTypes)) {
      assert.equal(typeof item[key], type, `${key} must be a ${type}`);
    }
    const invoice = item['invoiceAddress'] as Record<string, unknown>;
    assert.ok(invoice !== null && !Array.isArray(invoice));
    assert.deepEqual(Object.keys(invoice).sort(), invoiceAddressKeys);
    for (const key of invoiceAddressKeys) assert.equal(typeof invoice[key], 'string', `invoiceAddress.${key}`);
    for (const key of ['establishedAt', 'createdAt', 'updatedAt']) assertRfc3339(item[key], key);
    assert.match(item['id'] as string, /^[0-9]+$/);

    // Values are the stored merchant's, not placeholders.
    const m = dev.merchant.merchant;
    assert.deepEqual(item, {
      id: m.id,
      companyName: m.companyName,
      companyType: m.companyType,
      companyLogoUrl: m.companyLogoUrl,
      registrationNumber: m.registrationNumber,
      businessCategory: m.businessCategory,
      establishedAt: '0001-01-01T00:00:00Z',
      countryCode: m.countryCode,
      phoneNumber: m.phoneNumber,
      addressLine1: m.addressLine1,
      addressLine2: m.addressLine2,
      postcode: m.postcode,
      city: m.city,
      state: m.state,
      country: m.country,
      invoiceAddress: { ...m.invoiceAddress },
      isActive: true,
      status: m.status,
      isMasterMerchant: m.isMasterMerchant,
      masterMerchantId: m.masterMerchantId,
      isPartner: m.isPartner,
      partnerId: m.partnerId,
      gstNo: m.gstNo,
      createdAt: rmTime(m.createdAtMs),
      updatedAt: rmTime(m.updatedAtMs),
    });
  });

  test('GET /v3/merchant/subscriptions returns an array item with numeric ids', async () => {
    const res = await dev.client.merchant.subscriptions();
    assert.ok(Array.isArray(res.item));
    assert.equal(res.item.length, 3);
    for (const s of res.item) {
      assert.equal(typeof s.id, 'number');
      assert.equal(s.status, 'ACTIVE');
      assert.equal(s.gracePeriod, 90);
    }
  });

  test('GET /v3/merchant/subscriptions items have exactly id (number), gracePeriod, expiryAt, terminateAt, status', async () => {
    const raw = await dev.client.send('GET', '/v3/merchant/subscriptions');
    assert.equal(raw.status, 200, raw.rawText);
    const body = raw.body as { item: Record<string, unknown>[]; code: string };
    assert.deepEqual(Object.keys(body).sort(), ['code', 'item']);
    assert.equal(body.code, 'SUCCESS');
    assert.ok(Array.isArray(body.item));
    const stored = await server.running.storage.subscriptions.list(dev.merchant.merchant.id);
    assert.equal(body.item.length, stored.length);
    for (const s of body.item) {
      assert.deepEqual(Object.keys(s).sort(), ['expiryAt', 'gracePeriod', 'id', 'status', 'terminateAt']);
      assert.equal(typeof s['id'], 'number');
      assert.ok(Number.isInteger(s['id']));
      assert.equal(typeof s['gracePeriod'], 'number');
      assert.ok(Number.isInteger(s['gracePeriod']));
      assert.equal(typeof s['status'], 'string');
      assertRfc3339(s['expiryAt'], 'expiryAt');
      assertRfc3339(s['terminateAt'], 'terminateAt');
      // The grace period runs from expiry to termination.
      assert.ok(Date.parse(s['terminateAt'] as string) > Date.parse(s['expiryAt'] as string));
      const record = stored.find((r) => r.id === s['id']);
      assert.ok(record, `subscription ${String(s['id'])} is stored`);
      assert.equal(s['gracePeriod'], record.gracePeriodDays);
      assert.equal(s['expiryAt'], rmTime(record.expiryAtMs));
      assert.equal(s['terminateAt'], rmTime(record.terminateAtMs));
      assert.equal(s['status'], record.status);
    }
    assert.deepEqual(body.item.map((s) => s['id']).sort(), [1000, 1001, 1003]);
  });

  test('a token without get_merchant_profile is refused with 403', async () => {
    const limited = await createDeveloper(server, { scopes: ['manage_store'] });
    await assert.rejects(limited.client.merchant.get(), (e: unknown) => e instanceof RmApiError && e.httpStatus === 403 && e.code === 'CLIENT_NO_PERMISSION');
  });

  test('subscriptions need get_merchant_subscription: 403 CLIENT_NO_PERMISSION without it, 200 with only it', async () => {
    const profileOnly = await createDeveloper(server, { scopes: ['get_merchant_profile'] });
    assertError(await profileOnly.client.send('GET', '/v3/merchant/subscriptions'), 403, 'CLIENT_NO_PERMISSION');
    // The profile scope itself still works for that app.
    assert.equal((await profileOnly.client.send('GET', '/v3/merchant')).status, 200);

    const subscriptionOnly = await createDeveloper(server, { scopes: ['get_merchant_subscription'] });
    const ok = await subscriptionOnly.client.send('GET', '/v3/merchant/subscriptions');
    assert.equal(ok.status, 200, ok.rawText);
    assertError(await subscriptionOnly.client.send('GET', '/v3/merchant'), 403, 'CLIENT_NO_PERMISSION');
  });

  test('no Authorization header → 401 TOKEN_INVALID on both merchant endpoints', async () => {
    for (const path of ['/v3/merchant', '/v3/merchant/subscriptions']) {
      assertError(await dev.client.send('GET', path, { accessToken: null, sign: false }), 401, 'TOKEN_INVALID');
    }
  });

  test('malformed Authorization headers → 401 TOKEN_INVALID', async () => {
    const token = await dev.client.getAccessToken();
    for (const authorization of ['Bearer x.y', 'Bearer ', 'Bearer', `Basic ${token}`, token, `Bearer ${token}x`, `Bearer ${token.slice(0, -4)}`]) {
      const res = await dev.client.send('GET', '/v3/merchant', { accessToken: null, sign: false, headers: { Authorization: authorization } });
      assertError(res, 401, 'TOKEN_INVALID');
    }
  });

  test('an access token past its lifetime → 401 TOKEN_EXPIRED (clock moved, no sleeping)', async () => {
    const fresh = await createDeveloper(server);
    const token = await fresh.client.getAccessToken();
    const ttlMs = server.config.accessTokenTtlSeconds * 1000;
    assert.ok(ttlMs > 0);
    server.clock.advanceMs(ttlMs - 2_000);
    const stillValid = await fresh.client.send('GET', '/v3/merchant', { accessToken: token });
    assert.equal(stillValid.status, 200, stillValid.rawText);
    server.clock.advanceMs(4_000);
    assertError(await fresh.client.send('GET', '/v3/merchant', { accessToken: token }), 401, 'TOKEN_EXPIRED');
    assertError(await fresh.client.send('GET', '/v3/merchant/subscriptions', { accessToken: token }), 401, 'TOKEN_EXPIRED');
  });

  test('a token signed by another tunai server → 401 TOKEN_INVALID', async () => {
    const other = await startTestServer(dialect);
    try {
      const stranger = await createDeveloper(other, { companyName: 'Elsewhere' });
      const foreignToken = await stranger.client.getAccessToken();
      // The token is good where it was issued …
      const home = await stranger.client.send('GET', '/v3/merchant', { accessToken: foreignToken });
      assert.equal(home.status, 200, home.rawText);
      // … and worthless here.
      for (const path of ['/v3/merchant', '/v3/merchant/subscriptions']) {
        assertError(await dev.client.send('GET', path, { accessToken: foreignToken, sign: false }), 401, 'TOKEN_INVALID');
      }
    } finally {
      await other.close();
    }
  });

  test('two merchants each see only their own profile and subscriptions', async () => {
    const a = await createDeveloper(server, { companyName: 'Merchant A' });
    // Distinct creation times make each merchant's subscription dates its own.
    server.clock.advanceMs(3_600_000);
    const b = await createDeveloper(server, { companyName: 'Merchant B' });
    assert.notEqual(a.merchant.merchant.id, b.merchant.merchant.id);
    const [profileA, profileB] = await Promise.all([a.client.merchant.get(), b.client.merchant.get()]);
    assert.equal(profileA.item.id, a.merchant.merchant.id);
    assert.equal(profileA.item.companyName, 'Merchant A');
    assert.equal(profileB.item.id, b.merchant.merchant.id);
    assert.equal(profileB.item.companyName, 'Merchant B');

    const [subsA, subsB] = await Promise.all([a.client.merchant.subscriptions(), b.client.merchant.subscriptions()]);
    const storedA = await server.running.storage.subscriptions.list(a.merchant.merchant.id);
    const storedB = await server.running.storage.subscriptions.list(b.merchant.merchant.id);
    assert.deepEqual(subsA.item.map((s) => s.expiryAt).sort(), storedA.map((s) => rmTime(s.expiryAtMs)).sort());
    assert.deepEqual(subsB.item.map((s) => s.expiryAt).sort(), storedB.map((s) => rmTime(s.expiryAtMs)).sort());
    const expiriesA = new Set(subsA.item.map((s) => s.expiryAt));
    assert.ok(subsB.item.every((s) => !expiriesA.has(s.expiryAt)), 'B never sees A\'s subscriptions');
  });
});
