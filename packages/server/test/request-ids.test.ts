// X-Request-Id: every answer names its request, a well-formed caller id is kept, and the log lines carry the same id.
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { limits } from '@tunai/client/contract';
import { ManualClock } from '../src/lib/clock.js';
import { loadConfig } from '../src/lib/config.js';
import { createIds } from '../src/lib/ids.js';
import { createLogger } from '../src/lib/logger.js';
import { openStorage, startServer, type RunningServer } from '../src/main.js';
import { createDeveloper, forEachDialect, freshDatabase, rawRequest, type FreshDatabase, type TestServer } from './harness.js';

forEachDialect('X-Request-Id', (dialect) => {
  const lines: string[] = [];
  let database: FreshDatabase;
  let running: RunningServer;
  let server: TestServer;

  before(async () => {
    database = await freshDatabase(dialect);
    const clock = new ManualClock(Date.now());
    const config = loadConfig({ LOG_LEVEL: 'info', TUNAI_CLOSED_LOOP_INTERVAL_MS: '0', TUNAI_OUTBOX_INTERVAL_MS: '0' }, { port: '0', host: '127.0.0.1' });
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    running = await startServer({ config, clock, ids: createIds(clock), logger: createLogger('info', sink), opened: await openStorage(database.target) });
    // createDeveloper needs only the running server's deps, url and clock.
    server = { url: running.url, clock, running, config, database, close: async () => undefined };
  });
  after(async () => {
    await running.close();
    await database.drop();
  });

  /** The summary log line of the request with this id. */
  const requestLine = (id: string) =>
    lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string; url?: string; statusCode?: number }).find((entry) => entry.reqId === id && entry.msg === 'request');

  test('every answer carries a fresh X-Request-Id, and the request log line carries the same id', async () => {
    const dev = await createDeveloper(server);
    const first = await dev.client.send('GET', '/v3/merchant');
    const second = await dev.client.send('GET', '/v3/merchant');
    const ids = [first.headers.get('x-request-id'), second.headers.get('x-request-id')];
    for (const id of ids) assert.match(id ?? '', /^[A-Za-z0-9]{24}$/);
    assert.notEqual(ids[0], ids[1]);
    const logged = requestLine(ids[0] as string);
    assert.ok(logged, 'the request line names the id');
    assert.equal(logged.url, '/v3/merchant');
    assert.equal(logged.statusCode, 200);
  });

  test('errors, unknown routes and pages carry it too', async () => {
    const refused = await fetch(`${running.url}/v3/merchant`);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('x-request-id') ?? '', /^[A-Za-z0-9]{24}$/);
    const missing = await fetch(`${running.url}/v3/nowhere`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('x-request-id') ?? '', /^[A-Za-z0-9]{24}$/);
    const malformed = await fetch(`${running.url}/tool/signature/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    assert.equal(malformed.status, 400);
    assert.match(malformed.headers.get('x-request-id') ?? '', /^[A-Za-z0-9]{24}$/);
    const page = await fetch(`${running.url}/checkout?checkoutId=1`);
    assert.match(page.headers.get('x-request-id') ?? '', /^[A-Za-z0-9]{24}$/);
  });

  test(`a caller's X-Request-Id of up to ${limits.requestIdCharsMax} letters, digits and ._:- is kept and logged`, async () => {
    const longest = `trace.${'a'.repeat(limits.requestIdCharsMax - 6)}`;
    for (const id of ['3f0e9a4c-7b1d-4c55-9f0e-2b8f6f1d2a10', 'gw:edge-1.req_42', longest]) {
      const answer = await fetch(`${running.url}/health/live`, { headers: { 'x-request-id': id } });
      assert.equal(answer.headers.get('x-request-id'), id);
      assert.ok(requestLine(id), `logged under ${id.slice(0, 20)}`);
    }
  });

  test('a malformed or over-long caller id is replaced, never echoed', async () => {
    const tooLong = `x${'a'.repeat(limits.requestIdCharsMax)}`;
    for (const sent of [tooLong, 'has space', 'quote"s', 'semi;colon', '']) {
      const answer = await rawRequest(running.url, 'GET', '/health/live', { 'x-request-id': sent });
      assert.equal(answer.status, 200);
      const id = answer.headers['x-request-id'];
      assert.match(String(id), /^[A-Za-z0-9]{24}$/, `replaced: ${sent.slice(0, 20)}`);
    }
  });
});
