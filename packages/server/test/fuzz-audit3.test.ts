// Findings of the twelfth session's fuzz audit, over real HTTP on both databases: list filters take strict RFC 3339
// times only, `$in` admits no other operator beside it, settlement dates before year 100 are real dates, and routes
// that take no body still refuse one that is not JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertError } from './api-checks.js';
import { forEachDialect, rawRequest, twoMerchantSuite } from './harness.js';

forEachDialect('fuzz audit, twelfth session', (dialect) => {
  const world = twoMerchantSuite(dialect, { dev: 'Fuzz Three', other: 'Neighbour' });

  test('a list filter bound that is not an RFC 3339 time with an offset is refused; RFC 3339 with microseconds and offsets still works', async () => {
    const refused = ['Dec 7 2026', '1', '2026-12-07T00:00:00', '2026-02-30T00:00:00Z', '2026-12-07T24:00:00Z', '2026-12-07', '2026-12-07 00:00:00Z'];
    for (const bound of refused) {
      const stores = await world.dev.client.send('GET', '/v3/stores', { query: { filter: JSON.stringify({ updatedAt: { $gte: bound } }) } });
      assertError(stores, 400, 'VALIDATION_ERROR');
      assert.match((stores.body as { error: { message: string } }).error.message, /RFC 3339/, bound);
      for (const field of ['createdAt', 'transactionAt']) {
        const transactions = await world.dev.client.send('GET', '/v3/payment/transactions', { query: { filter: JSON.stringify({ [field]: { $lt: bound } }) } });
        assertError(transactions, 400, 'VALIDATION_ERROR');
      }
    }
    for (const bound of ['2026-01-01T00:00:00Z', '2026-01-01T08:00:00.123456+08:00', '2000-02-29T23:59:59.999999999-00:30']) {
      const stores = await world.dev.client.send('GET', '/v3/stores', { query: { filter: JSON.stringify({ updatedAt: { $gte: bound } }) } });
      assert.equal(stores.status, 200, `${bound}: ${stores.rawText}`);
    }
    // The store made with the merchant (now, on the test clock) is inside a bound a year back and outside one a year on.
    const yearMs = 365 * 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const listed = async (bound: string) =>
      ((await world.dev.client.stores.list({ filter: { updatedAt: { $gte: bound } } })).items ?? []).length;
    assert.equal(await listed(iso(world.server.clock.nowMs() - yearMs)), 1);
    assert.equal(await listed(iso(world.server.clock.nowMs() + yearMs)), 0);
  });

  test('a transaction filter with $in admits no other operator beside it', async () => {
    for (const filter of [{ status: { $in: ['SUCCESS'], $nin: ['SUCCESS'] } }, { method: { $in: ['TNG'], $regex: '^W' } }, { status: { $nin: ['SUCCESS'] } }]) {
      const res = await world.dev.client.send('GET', '/v3/payment/transactions', { query: { filter: JSON.stringify(filter) } });
      assertError(res, 400, 'VALIDATION_ERROR');
      assert.match((res.body as { error: { message: string } }).error.message, /^Validations error: filter\.(status|method) /, JSON.stringify(filter));
    }
    const plain = await world.dev.client.send('GET', '/v3/payment/transactions', { query: { filter: JSON.stringify({ status: { $in: ['SUCCESS'] }, method: 'TNG' }) } });
    assert.equal(plain.status, 200, plain.rawText);
  });

  test('settlement dates before year 100 are calendar dates (an empty day), not refused', async () => {
    for (const date of ['0001-01-01', '0050-01-01', '0099-12-31', '0100-01-01']) {
      const res = await world.dev.client.send('POST', '/v3/payment/settlement/csv', { body: { date, method: 'ALL', region: 'MALAYSIA', sequence: 1 } });
      assert.equal(res.status, 200, `${date}: ${res.rawText}`);
      assert.ok(res.rawText.startsWith('H,'), res.rawText);
      assert.ok(res.rawText.includes(`,${date},1`), `${date} is echoed: ${res.rawText}`);
    }
    assertError(await world.dev.client.send('POST', '/v3/payment/settlement/csv', { body: { date: '0050-02-29', method: 'ALL', region: 'MALAYSIA', sequence: 1 } }), 400, 'VALIDATION_ERROR');
  });

  test('routes that take no body still refuse one that is not JSON', async () => {
    for (const path of ['/sandbox/closed-loop/run', '/sandbox/outbox/run']) {
      const res = await rawRequest(world.server.url, 'POST', path, { 'content-type': 'application/json' }, '{');
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(res.json?.error?.code, 'INVALID_REQUEST', path);
      const empty = await rawRequest(world.server.url, 'POST', path, {}, undefined);
      assert.equal(empty.status, 200, `${path} without a body: ${empty.text}`);
    }
    const token = await world.dev.client.getAccessToken();
    const path = '/admin/webhooks/1234567890123456789/resend';
    const resend = await rawRequest(world.server.url, 'POST', path, { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, '{');
    assert.equal(resend.status, 400, resend.text);
    assert.equal(resend.json?.error?.code, 'INVALID_REQUEST');
    // Without a body it goes on to look the event up.
    assertError(await world.dev.client.send('POST', path), 404, 'TRANSACTION_NOT_FOUND');
  });
});
