// The payer pages find their payment by an id in the URL, the id being the page's only credential: a caller whose
// lookups keep finding nothing is refused every lookup (429 EXCEEDED_LIMIT) until its window ends, on every payer
// page and poll, found or not; hits never count; callers are told apart by address (an IPv6 /64), behind a proxy by
// the address the proxy reports. Over real HTTP on both databases, and the limiter's windows with a moved time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { limits } from '@tunai/client/contract';
import { createWebCheckout, postForm, rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, rawRequest, startTestServer, type Developer, type RawResponse, type TestServer } from './harness.js';
import { callerKey } from '../src/domain/caller-address.js';
import { MissLimiter } from '../src/lib/miss-limiter.js';
import { loadConfig } from '../src/lib/config.js';
import { openDatabase } from '../src/store/database.js';
import type { Kysely } from 'kysely';
import type { Database } from '../src/store/schema.js';

const missesMax = limits.payerLookupMissesMax;
const paymentTables = ['payment_transactions', 'payment_checkouts', 'payment_qr_codes', 'sim_wallet_orders'] as const;

describe('MissLimiter', () => {
  const limiterAt = (clock: { ms: number }, callersMax = 100) => new MissLimiter({ missesMax: 3, windowMs: 1_000, callersMax, busyRetryMs: 250, nowMs: () => clock.ms });

  test('a caller is refused from its missesMax-th miss until its window ends, then starts afresh', () => {
    const clock = { ms: 0 };
    const limiter = limiterAt(clock);
    limiter.recordMiss('a');
    limiter.recordMiss('a');
    assert.equal(limiter.blockedForMs('a'), 0, 'two misses of three: still allowed');
    clock.ms = 400;
    limiter.recordMiss('a');
    assert.equal(limiter.blockedForMs('a'), 600, 'refused until the window that began at 0 ends at 1,000');
    assert.equal(limiter.blockedForMs('b'), 0, 'another caller is not affected');
    clock.ms = 999;
    assert.equal(limiter.blockedForMs('a'), 1);
    clock.ms = 1_000;
    assert.equal(limiter.blockedForMs('a'), 0, 'the window is over');
    limiter.recordMiss('a');
    limiter.recordMiss('a');
    assert.equal(limiter.blockedForMs('a'), 0, 'a new window counts from one again');
  });

  test('misses spread over windows never add up', () => {
    const clock = { ms: 0 };
    const limiter = limiterAt(clock);
    for (let i = 0; i < 20; i += 1) {
      limiter.recordMiss('slow');
      limiter.recordMiss('slow');
      assert.equal(limiter.blockedForMs('slow'), 0, `window ${i}: two misses`);
      clock.ms += 1_000;
    }
  });

  test('lookups under way count against the budget: a burst is held to it, and refused as busy, not as misses', () => {
    const clock = { ms: 0 };
    const limiter = limiterAt(clock);
    assert.deepEqual([limiter.start('a'), limiter.start('a'), limiter.start('a')], [{ allowed: true }, { allowed: true }, { allowed: true }]);
    assert.deepEqual(limiter.start('a'), { allowed: false, reason: 'busy', waitMs: 250 }, 'three under way: the fourth waits a moment');
    assert.deepEqual(limiter.start('b'), { allowed: true }, 'another caller is not affected');
    limiter.finish('a', false);
    assert.deepEqual(limiter.start('a'), { allowed: true }, 'a lookup that found its page frees its place');
    limiter.finish('a', true);
    limiter.finish('a', true);
    assert.deepEqual(limiter.start('a'), { allowed: false, reason: 'busy', waitMs: 250 }, 'two misses and one under way');
    limiter.finish('a', true);
    assert.deepEqual(limiter.start('a'), { allowed: false, reason: 'misses', waitMs: 1_000 }, 'three misses: refused for the window');
    clock.ms = 1_000;
    assert.deepEqual(limiter.start('a'), { allowed: true }, 'a new window');
  });

  test('memory stays bounded: beyond callersMax the oldest window is forgotten', () => {
    const clock = { ms: 0 };
    const limiter = limiterAt(clock, 3);
    for (let i = 0; i < 3; i += 1) limiter.recordMiss('first');
    assert.ok(limiter.blockedForMs('first') > 0, 'first is refused');
    for (const caller of ['b', 'c', 'd']) limiter.recordMiss(caller);
    assert.equal(limiter.trackedCallers, 3, 'never more than callersMax');
    assert.equal(limiter.blockedForMs('first'), 0, 'the oldest window went first');
  });
});

describe('TUNAI_TRUST_PROXY', () => {
  test('true, false, or proxy addresses and CIDR ranges; anything else is refused', () => {
    const trust = (value: string) => loadConfig({ TUNAI_TRUST_PROXY: value }, {}).trustProxy;
    assert.equal(trust('true'), true);
    assert.equal(trust('off'), false);
    assert.deepEqual(trust(' 10.9.9.9, 10.0.0.0/8 ,fd00::/8,loopback'), ['10.9.9.9', '10.0.0.0/8', 'fd00::/8', 'loopback']);
    for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.1/8/2', 'fd00::/129', '1.2.3', '0.0.0.0/0', '::/0', ',', ' , ']) {
      assert.throws(() => trust(bad), /TUNAI_TRUST_PROXY must be/, bad);
    }
  });
});

describe('callerKey', () => {
  test('IPv4 as itself, mapped IPv4 as IPv4, IPv6 by its /64, anything else as given', () => {
    assert.equal(callerKey('203.0.113.7'), '203.0.113.7');
    assert.equal(callerKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(callerKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(callerKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'the same /64');
    assert.notEqual(callerKey('2001:db8:1:3::1'), callerKey('2001:db8:1:2::1'), 'the next /64 is another caller');
    assert.equal(callerKey('::1'), '0:0:0:0::/64');
    assert.equal(callerKey('not-an-address'), 'not-an-address');
  });
});

forEachDialect('payer page lookups', (dialect) => {
  let server: TestServer;
  let db: Kysely<Database>;
  let dev: Developer;
  const { writesNothing } = rowCounter(() => db, paymentTables);
  let sequence = 0;
  const orderId = (prefix: string) => `${prefix}-${dialect.slice(0, 2)}-${++sequence}`;
  // The server trusts the one proxy in front (the test's loopback socket): each test is its own caller by the last
  // X-Forwarded-For entry.
  const from = (caller: string, extra: Record<string, string> = {}) => ({ 'x-forwarded-for': caller, ...extra });
  const get = (target: string, caller: string): Promise<RawResponse> => rawRequest(server.url, 'GET', target, from(caller));
  const postFormFrom = (target: string, caller: string, fields: Record<string, string>): Promise<RawResponse> =>
    rawRequest(server.url, 'POST', target, from(caller, { 'content-type': 'application/x-www-form-urlencoded' }), new URLSearchParams(fields).toString());
  const unknownCheckout = (i: number) => `17000000000000${String(i).padStart(5, '0')}`;
  const exhaust = async (caller: string): Promise<void> => {
    for (let i = 0; i < missesMax; i += 1) {
      const miss = await get(`/checkout?checkoutId=${unknownCheckout(i)}`, caller);
      assert.equal(miss.status, 404, `miss ${i + 1}: ${miss.text.slice(0, 200)}`);
      assert.match(miss.text, /TRANSACTION_NOT_FOUND/);
    }
  };

  before(async () => {
    server = await startTestServer(dialect, { TUNAI_TRUST_PROXY: 'true' });
    db = openDatabase(server.database.target).db;
    dev = await createDeveloper(server, { companyName: 'Lookup Limit' });
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  test(`${missesMax} misses, then every payer page and poll is refused 429 EXCEEDED_LIMIT, real ids too, and nothing is written`, async () => {
    const caller = '198.51.100.10';
    const checkoutId = await createWebCheckout(dev.client, dev.merchant.store.id, orderId('guessed'), 450);
    const qr = (await dev.client.payment.createQrCode(qrCodeInput(dev.merchant.store.id, 'DYNAMIC'))).item;
    assert.equal((await get(`/checkout?checkoutId=${checkoutId}`, caller)).status, 200, 'the real checkout before the limit');
    await exhaust(caller);

    const page = await get(`/checkout?checkoutId=${checkoutId}`, caller);
    assert.equal(page.status, 429, page.text.slice(0, 200));
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /id="error-code">EXCEEDED_LIMIT</);
    const retryAfterSeconds = Number(page.headers['retry-after']);
    assert.ok(retryAfterSeconds > 0 && retryAfterSeconds <= limits.payerLookupMissWindowMs / 1_000, `retry-after ${String(page.headers['retry-after'])}`);

    const head = await rawRequest(server.url, 'HEAD', `/checkout?checkoutId=${checkoutId}`, from(caller));
    assert.equal(head.status, 429, 'HEAD is GET without the body');
    const poll = await get(`/checkout/status?checkoutId=${checkoutId}`, caller);
    assert.equal(poll.status, 429);
    assert.deepEqual((poll.json as { error: { code: string } }).error.code, 'EXCEEDED_LIMIT');
    assert.match((poll.json as { error: { message: string } }).error.message, /^Rate limit exceeded: /);

    for (const target of [`/payment/unified?code=${qr.code}`, '/payment/unified/status?transactionId=1', '/payment/unified/result?transactionId=1', '/sandbox/wallet?order=1']) {
      const refused = await get(target, caller);
      assert.equal(refused.status, 429, `${target}: ${refused.text.slice(0, 200)}`);
      assert.match(refused.text, /EXCEEDED_LIMIT/, target);
    }
    const pays = await writesNothing(async () => [
      await postFormFrom('/checkout/pay', caller, { checkoutId, method: 'TNG_MY' }),
      await postFormFrom('/checkout/cancel', caller, { checkoutId }),
      await postFormFrom('/payment/unified/pay', caller, { code: qr.code, method: 'TNG_MY' }),
      await postFormFrom('/sandbox/wallet/confirm', caller, { order: '1', outcome: '0000' }),
      await postFormFrom('/sandbox/wallet/cancel', caller, { order: '1' }),
    ]);
    assert.deepEqual(
      pays.map((r) => r.status),
      [429, 429, 429, 429, 429],
    );
    const row = await db.selectFrom('payment_checkouts').select(['status', 'transaction_id']).where('id', '=', checkoutId).executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'IN_PROCESS', transaction_id: null }, 'the refused cancel and pay changed nothing');
  });

  test('another caller is served while one is refused; a forged first X-Forwarded-For entry does not make a new caller', async () => {
    const caller = '198.51.100.20';
    const checkoutId = await createWebCheckout(dev.client, dev.merchant.store.id, orderId('other'), 450);
    await exhaust(caller);
    const forged = await rawRequest(server.url, 'GET', `/checkout?checkoutId=${checkoutId}`, { 'x-forwarded-for': `203.0.113.99, ${caller}` });
    assert.equal(forged.status, 429, 'the proxy appended the real address last: that is the caller');
    assert.equal((await get(`/checkout?checkoutId=${checkoutId}`, '198.51.100.21')).status, 200, 'a neighbour is served');
    // The /64 is one caller: another address in it is refused too, the next /64 is not.
    const v6 = '2001:db8:5:6::1';
    await exhaust(v6);
    assert.equal((await get(`/checkout?checkoutId=${checkoutId}`, '2001:db8:5:6:dead:beef:0:2')).status, 429);
    assert.equal((await get(`/checkout?checkoutId=${checkoutId}`, '2001:db8:5:7::1')).status, 200);
  });

  test('misses sent all at once are held to the limit too; a burst that finds its page is told to wait a moment, not that it missed', async () => {
    const caller = '198.51.100.50';
    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => get(`/checkout/status?checkoutId=${unknownCheckout(i)}`, caller)));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 404).length, missesMax, `${missesMax} looked up, the rest refused`);
    assert.equal(statuses.filter((s) => s === 429).length, 120 - missesMax);
    const after = await get(`/checkout/status?checkoutId=${unknownCheckout(0)}`, caller);
    assert.equal(after.status, 429, 'then refused for the window');
    assert.match((after.json as { error: { message: string } }).error.message, /not found/);

    const finder = '198.51.100.51';
    const checkoutId = await createWebCheckout(dev.client, dev.merchant.store.id, orderId('burst'), 450);
    const hits = await Promise.all(Array.from({ length: 100 }, () => get(`/checkout/status?checkoutId=${checkoutId}`, finder)));
    const busy = hits.filter((h) => h.status === 429);
    assert.equal(hits.filter((h) => h.status === 200).length + busy.length, 100, 'found, or asked to wait');
    for (const refusal of busy) {
      assert.equal(refusal.headers['retry-after'], String(limits.payerLookupBusyRetryMs / 1_000));
      assert.match((refusal.json as { error: { message: string } }).error.message, /at once/);
    }
    assert.equal((await get(`/checkout/status?checkoutId=${checkoutId}`, finder)).status, 200, 'once the burst is over the page answers');
  });

  test('hits never count: a page that polls its own checkout far past the limit keeps being answered, and so do its forms', async () => {
    const caller = '198.51.100.30';
    const checkoutId = await createWebCheckout(dev.client, dev.merchant.store.id, orderId('polled'), 450);
    for (let i = 0; i < missesMax * 2; i += 1) {
      const poll = await get(`/checkout/status?checkoutId=${checkoutId}`, caller);
      assert.equal(poll.status, 200, `poll ${i + 1}`);
    }
    // A few mistyped links are far from the limit.
    for (let i = 0; i < 3; i += 1) assert.equal((await get(`/checkout?checkoutId=${unknownCheckout(i)}`, caller)).status, 404);
    const pay = await postFormFrom('/checkout/pay', caller, { checkoutId, method: 'TNG_MY' });
    assert.equal(pay.status, 303, pay.text.slice(0, 200));
    const order = new URL(String(pay.headers.location), server.url).searchParams.get('order') ?? '';
    assert.equal((await get(`/sandbox/wallet?order=${order}`, caller)).status, 200);
  });
});

forEachDialect('payer page lookups behind listed proxies', (dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(dialect, { TUNAI_TRUST_PROXY: '10.9.9.9, 127.0.0.0/8' });
  });
  after(async () => {
    await server.close();
  });

  test('the caller is the nearest X-Forwarded-For entry that is not a listed proxy', async () => {
    const caller = '198.51.100.60';
    for (let i = 0; i < missesMax; i += 1) {
      const miss = await rawRequest(server.url, 'GET', `/checkout/status?checkoutId=${i + 1}`, { 'x-forwarded-for': `${caller}, 10.9.9.9` });
      assert.equal(miss.status, 404, `miss ${i + 1}`);
    }
    const refused = await rawRequest(server.url, 'GET', '/checkout/status?checkoutId=1', { 'x-forwarded-for': `203.0.113.1, ${caller}, 10.9.9.9` });
    assert.equal(refused.status, 429, 'a forged entry before the caller changes nothing');
    const neighbour = await rawRequest(server.url, 'GET', '/checkout/status?checkoutId=1', { 'x-forwarded-for': '198.51.100.61, 10.9.9.9' });
    assert.equal(neighbour.status, 404, 'another caller is looked up');
  });

});

forEachDialect('payer page lookups without a proxy', (dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(dialect);
  });
  after(async () => {
    await server.close();
  });

  test('the socket peer is the caller, and X-Forwarded-For is not believed', async () => {
    for (let i = 0; i < missesMax; i += 1) {
      const miss = await postForm(`${server.url}/payment/unified/pay`, { code: `nope${i}`, method: 'TNG_MY' });
      assert.equal(miss.status, 404, `miss ${i + 1}`);
    }
    const refused = await rawRequest(server.url, 'GET', '/checkout/status?checkoutId=1', { 'x-forwarded-for': '198.51.100.40' });
    assert.equal(refused.status, 429, 'the header names no other caller when no proxy is trusted');
    assert.equal((refused.json as { error: { code: string } }).error.code, 'EXCEEDED_LIMIT');
    // The API is not a payer page: it is not limited.
    assert.equal((await rawRequest(server.url, 'GET', '/health', {})).status, 200);
  });
});
