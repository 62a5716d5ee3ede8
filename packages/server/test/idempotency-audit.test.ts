// Audit of Idempotency-Key on both databases: what names a request (a re-signed retry replays, another request is
// refused), key shapes, the 24 h boundary, two servers on one database, a client that hangs up, and the lease.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { Kysely } from 'kysely';
import type { RawResponse } from '@tunai/client';
import { allScopes, limits, type Transaction } from '@tunai/client/contract';
import { createAccessTokenService } from '../src/auth/access-tokens.js';
import { startRsaWorker } from '../src/auth/rsa-work.js';
import { ManualClock } from '../src/lib/clock.js';
import { loadConfig } from '../src/lib/config.js';
import { createIds } from '../src/lib/ids.js';
import { createLogger } from '../src/lib/logger.js';
import { openStorage, startServer, type RunningServer } from '../src/main.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { assertError, rowCounter } from './api-checks.js';
import { waitFor } from './child-server.js';
import { createDeveloper, forEachDialect, rawRequest, startTestServer, storeInput, type Developer, type TestServer } from './harness.js';

let codeCounter = 0;
/** A fresh WeChat Pay MY auth code ending in the simulator's magic `suffix` (codes are single use). */
function authCode(suffix = '0000'): string {
  codeCounter += 1;
  return `13${String(810_000_000 + codeCounter).padStart(12, '0')}${suffix}`;
}
let counter = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;
const replayed = (response: RawResponse) => response.headers.get('idempotent-replayed');
const messageOf = (response: RawResponse) => (response.body as { error?: { message?: string } }).error?.message ?? '';

/** One HTTP request whose headers may repeat (node:http sends an array value as several header lines). */
function requestWithHeaders(baseUrl: string, method: string, path: string, headers: Record<string, string | string[]>, body: string): Promise<{ status: number; text: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A second server on the suite's database (its own pool, clock and RSA worker), as a second process would be. */
interface Sibling {
  url: string;
  clock: ManualClock;
  running: RunningServer;
}

async function startSibling(server: TestServer, env: Record<string, string>): Promise<Sibling> {
  const clock = new ManualClock(server.clock.nowMs());
  const config = loadConfig(
    { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', TUNAI_CLOSED_LOOP_INTERVAL_MS: '0', TUNAI_OUTBOX_INTERVAL_MS: '0', ...env },
    { port: '0', host: '127.0.0.1' },
  );
  const opened = await openStorage(server.database.target);
  const running = await startServer({ config, clock, ids: createIds(clock), logger: createLogger(config.logLevel), opened });
  return { url: running.url, clock, running };
}

forEachDialect('Idempotency-Key audit', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let other: Developer;
  let db: Kysely<Database>;
  const rows = rowCounter(() => db, ['payment_transactions', 'payment_refunds', 'stores', 'idempotency_keys']);

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Audit Idem' });
    other = await createDeveloper(server, { companyName: 'Audit Idem Other' });
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  async function keyRow(clientId: string, key: string) {
    return db.selectFrom('idempotency_keys').selectAll().where('client_id', '=', clientId).where('idempotency_key', '=', key).executeTakeFirst();
  }
  async function storesNamed(name: string): Promise<number> {
    return (await db.selectFrom('stores').select('id').where('name', '=', name).execute()).length;
  }
  const quickPayBody = (code: string, orderId: string) => ({
    authCode: code,
    order: { id: orderId, title: 'audit', detail: 'd', additionalData: '', currencyType: 'MYR', amount: 640 },
    ipAddress: '8.8.8.8',
    storeId: dev.merchant.store.id,
  });

  test('a retry signed afresh (new nonce, a later timestamp) replays the first answer byte for byte', async () => {
    const input = storeInput(unique('Resigned'));
    const key = unique('resigned');
    const first = await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key, nonceStr: 'nonce-one-aaaaaaaaaa' });
    assert.equal(first.status, 200, first.rawText);
    server.clock.advanceMs(200_000);
    const retry = await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key, nonceStr: 'nonce-two-bbbbbbbbbb' });
    assert.equal(retry.status, 200, retry.rawText);
    assert.equal(replayed(retry), 'true');
    assert.equal(retry.rawText, first.rawText);
    assert.equal(await storesNamed(input.name), 1);
  });

  test('the query is matched by meaning: its parameters in another order, a trailing slash or a percent-encoded id replay', async () => {
    const input = storeInput(unique('Query order'));
    const key = unique('query-order');
    const first = await dev.client.send('POST', '/v3/store?b=2&a=1&a=0', { body: input, idempotencyKey: key });
    assert.equal(first.status, 200, first.rawText);
    for (const path of ['/v3/store?a=1&b=2&a=0', '/v3/store/?a=1&a=0&b=2']) {
      const retry = await dev.client.send('POST', path, { body: input, idempotencyKey: key });
      assert.equal(retry.status, 200, `${path}: ${retry.rawText}`);
      assert.equal(replayed(retry), 'true', path);
      assert.equal(retry.rawText, first.rawText, path);
    }
    assert.equal(await storesNamed(input.name), 1);
    // Another value, or the same values of one name in another order, is another request.
    for (const path of ['/v3/store?b=2&a=1&a=1', '/v3/store?b=2&a=0&a=1']) {
      const refused = await rows.writesNothing(() => dev.client.send('POST', path, { body: input, idempotencyKey: key }));
      assertError(refused, 422, 'INVALID_REQUEST');
    }

    const storeId = (first.body as { item: { id: string } }).item.id;
    const deleteKey = unique('delete-encoded');
    const deleted = await dev.client.send('DELETE', `/v3/store/${storeId}`, { idempotencyKey: deleteKey });
    assert.equal(deleted.status, 200, deleted.rawText);
    const encoded = `%${storeId.charCodeAt(0).toString(16)}${storeId.slice(1)}`;
    const again = await dev.client.send('DELETE', `/v3/store/${encoded}`, { idempotencyKey: deleteKey });
    assert.equal(again.status, 200, again.rawText);
    assert.equal(replayed(again), 'true');
    // Another store under the same key is another request.
    const otherStore = await rows.writesNothing(() => dev.client.send('DELETE', `/v3/store/${dev.merchant.store.id}`, { idempotencyKey: deleteKey }));
    assertError(otherStore, 422, 'INVALID_REQUEST');
  });

  test('the body is matched by meaning: whitespace and key order do not matter; a bare array and {"object": array} differ', async () => {
    const accessToken = await dev.client.getAccessToken();
    const headers = (key: string) => ({ authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', 'idempotency-key': key });
    const input = storeInput(unique('Whitespace'));
    const key = unique('whitespace');
    const first = await rawRequest(server.url, 'POST', '/v3/store', headers(key), JSON.stringify(input));
    assert.equal(first.status, 200, first.text);
    const spaced = `\n { ${Object.entries(input).reverse().map(([name, value]) => `"${name}" :\t${JSON.stringify(value)}`).join(' ,\r\n')} }  \n`;
    const retry = await rawRequest(server.url, 'POST', '/v3/store', headers(key), spaced);
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.text, first.text);
    assert.equal(await storesNamed(input.name), 1);

    // The signature's canonical form wraps a top-level array as {"object": [...]}; the request named by a key must not.
    const arrayKey = unique('array');
    const bare = await rawRequest(server.url, 'POST', '/v3/store', headers(arrayKey), JSON.stringify([input]));
    assert.equal(bare.status, 400, bare.text);
    const wrapped = await rawRequest(server.url, 'POST', '/v3/store', headers(arrayKey), JSON.stringify({ object: [input] }));
    assert.equal(wrapped.status, 422, `a different body under the key is refused, not replayed: ${wrapped.text}`);
    assert.equal(wrapped.headers['idempotent-replayed'], undefined);
  });

  test('keys: two Idempotency-Key headers or an empty one → 400 and no key taken; keys differ by case', async () => {
    const accessToken = await dev.client.getAccessToken();
    const base = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' };
    const input = storeInput(unique('Two headers'));
    for (const value of [['dup-a', 'dup-b'], ['dup-c', 'dup-c'], '']) {
      const before = await rows.countRows();
      const answer = await requestWithHeaders(server.url, 'POST', '/v3/store', { ...base, 'idempotency-key': value }, JSON.stringify(input));
      assert.equal(answer.status, 400, `${JSON.stringify(value)}: ${answer.text}`);
      assert.match(answer.text, /Idempotency-Key/);
      assert.deepEqual(await rows.countRows(), before, `${JSON.stringify(value)} wrote nothing`);
    }
    const key = unique('Case');
    assert.equal((await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key })).status, 200);
    const lower = await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key.toLowerCase() });
    assert.equal(lower.status, 200, lower.rawText);
    assert.equal(replayed(lower), null, 'a key in another case is another key');
    assert.equal(await storesNamed(input.name), 2);
  });

  test('one app acting for another merchant never gets the first merchant’s answer under the same key', async () => {
    // The sandbox grants each app its own merchant only, but tokens name the merchant (RM's OAuth lets one app act for
    // many): mint one for this app and the other merchant with the server's own keys, as a grant would.
    const rsa = startRsaWorker();
    try {
      const tokens = createAccessTokenService(server.running.serverKeys, rsa, server.clock, server.running.deps.ids, server.config.publicUrls[0] ?? 'tunai');
      const foreign = await tokens.issue({ clientId: dev.clientId, merchantId: other.merchant.merchant.id, userId: other.merchant.user.id, scopes: [...allScopes] }, 3_600);
      const input = storeInput(unique('Merchant scoped'));
      const key = unique('merchant');
      const mine = await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key });
      assert.equal(mine.status, 200, mine.rawText);
      const theirs = await rows.writesNothing(() => dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key, accessToken: foreign }));
      assert.notEqual(theirs.rawText, mine.rawText, 'the first merchant’s store is not handed to the second');
      assertError(theirs, 422, 'INVALID_REQUEST');
    } finally {
      await rsa.close();
    }
  });

  test('two servers on one database: one QuickPay runs; while it waits the other server answers 409, after it the replay', async () => {
    // The sibling waits the longest QuickPay the configuration allows; the wallet code 1002 never settles, so the request
    // waits until its clock passes the window.
    const sibling = await startSibling(server, { TUNAI_QUICKPAY_WAIT_MS: '120000' });
    try {
      sibling.clock.setMs(server.clock.nowMs());
      const onSibling = dev.clientWith({ oauthBaseUrl: sibling.url, openApiBaseUrl: sibling.url, nowMs: () => sibling.clock.nowMs() });
      const body = quickPayBody(authCode('1002'), unique('two-servers'));
      const key = unique('two-servers');
      // Warm up (token, RSA worker), so the timed call below reaches the handler well inside its time.
      assert.equal((await onSibling.send('GET', '/v3/merchant')).status, 200);
      // The first caller gives up after a second and hangs up: the request goes on without it.
      const hungUp = await onSibling.send('POST', '/v3/payment/quickpay', { body, idempotencyKey: key, timeoutMs: 1_000 }).then(
        () => 'answered',
        (error: unknown) => (error instanceof Error ? error.name : 'error'),
      );
      assert.notEqual(hungUp, 'answered', 'the caller hung up before the answer');
      const held = await keyRow(dev.clientId, key);
      assert.ok(held !== undefined && held.response_body === null && Number(held.lease_until_ms) > server.clock.nowMs(), 'after the hang-up the key is held, with no answer yet');

      const whileRunning = await dev.client.send('POST', '/v3/payment/quickpay', { body, idempotencyKey: key });
      assertError(whileRunning, 409, 'INVALID_REQUEST');
      assert.match(messageOf(whileRunning), /still being processed/);

      // Past the default lease but inside this QuickPay's wait: it is still running, and a retry must be told so.
      server.clock.advanceMs(limits.idempotencyLeaseMs + 1);
      sibling.clock.advanceMs(limits.idempotencyLeaseMs + 1);
      const pastLease = await dev.client.send('POST', '/v3/payment/quickpay', { body, idempotencyKey: key });
      assert.ok(pastLease.status === 409 || replayed(pastLease) === 'true', `409 or the replay: ${pastLease.rawText}`);
      assert.doesNotMatch(messageOf(pastLease), /ended without an answer/, 'a request still running is not reported as ended');

      const answered = await waitFor('the first QuickPay to store its answer', async () => {
        const row = await keyRow(dev.clientId, key);
        return row?.response_body ?? undefined;
      });
      const replay = await dev.client.send('POST', '/v3/payment/quickpay', { body, idempotencyKey: key });
      assert.equal(replay.status, 200, replay.rawText);
      assert.equal(replayed(replay), 'true');
      assert.equal(replay.rawText, answered);
      assert.equal((replay.body as { item: Transaction }).item.status, 'IN_PROCESS');
      const transactions = await db.selectFrom('payment_transactions').select('id').where('order_id', '=', body.order.id).execute();
      assert.equal(transactions.length, 1);

      // A burst split over both servers: one store is made, every other answer is its replay or a 409.
      const input = storeInput(unique('Burst'));
      const burstKey = unique('burst');
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? dev.client : onSibling).send('POST', '/v3/store', { body: input, idempotencyKey: burstKey })),
      );
      const ran = answers.filter((answer) => answer.status === 200 && replayed(answer) === null);
      assert.equal(ran.length, 1, `exactly one ran: ${answers.map((answer) => answer.status).join(',')}`);
      for (const answer of answers) {
        if (answer.status === 409) assert.match(messageOf(answer), /still being processed/);
        else assert.equal(answer.rawText, ran[0]?.rawText, 'every 200 is the one answer');
      }
      assert.equal(await storesNamed(input.name), 1);
    } finally {
      await sibling.running.close();
    }
  });

  test('a key lives exactly 24 h: one millisecond before, the replay; at 24 h, a fresh run', async () => {
    const input = storeInput(unique('Day boundary'));
    const key = unique('boundary');
    const startedAtMs = server.clock.nowMs();
    const first = await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key });
    assert.equal(first.status, 200, first.rawText);
    assert.equal(Number((await keyRow(dev.clientId, key))?.expires_at_ms), startedAtMs + limits.idempotencyKeyTtlMs);

    server.clock.setMs(startedAtMs + limits.idempotencyKeyTtlMs - 1);
    const lastReplay = await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key });
    assert.equal(replayed(lastReplay), 'true');
    assert.equal(lastReplay.rawText, first.rawText);
    await server.running.storage.idempotency.purgeExpired(server.clock.nowMs());
    assert.ok(await keyRow(dev.clientId, key), 'the purge leaves a key whose day is not out');

    server.clock.setMs(startedAtMs + limits.idempotencyKeyTtlMs);
    const fresh = await dev.client.send('POST', '/v3/store', { body: input, idempotencyKey: key });
    assert.equal(fresh.status, 200, fresh.rawText);
    assert.equal(replayed(fresh), null);
    assert.notEqual(fresh.rawText, first.rawText);
    assert.equal(await storesNamed(input.name), 2);
  });
});
