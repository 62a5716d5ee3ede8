// GET /v3/merchant and /v3/merchant/subscriptions: shapes, scopes, tokens and isolation, on both databases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RmApiError } from '@tunai/client';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

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

  test('a token without get_merchant_profile is refused with 403', async () => {
    const limited = await createDeveloper(server, { scopes: ['manage_store'] });
    await assert.rejects(limited.client.merchant.get(), (e: unknown) => e instanceof RmApiError && e.httpStatus === 403 && e.code === 'CLIENT_NO_PERMISSION');
  });
});
