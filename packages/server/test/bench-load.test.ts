// The bench's load generator against a real HTTP server: every single-use request sent exactly once, statuses counted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latencyPercentileMs, renderRequest, runLoad } from '../bench/load.js';

describe('bench load generator', () => {
  const seen: string[] = [];
  const bodies: string[] = [];
  let server: Server;
  let port = 0;

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push(req.headers['x-nonce-str'] as string);
        bodies.push(body);
        // Every tenth request is refused, and replies vary in size, so the parser must use each Content-Length.
        const refused = seen.length % 10 === 0;
        const reply = JSON.stringify({ n: seen.length, pad: 'x'.repeat(seen.length % 300) });
        res.writeHead(refused ? 400 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
        res.end(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('once: 500 distinct requests over 8 connections arrive exactly once each, bodies intact; non-2xx counted', async () => {
    seen.length = 0;
    bodies.length = 0;
    const requests = Array.from({ length: 500 }, (_, i) =>
      renderRequest('POST', '/pay', `127.0.0.1:${port}`, { 'x-nonce-str': `n-${i}`, 'content-type': 'application/json' }, JSON.stringify({ i })),
    );
    const result = await runLoad({ host: '127.0.0.1', port, connections: 8, requests, mode: { kind: 'once' } });
    assert.equal(result.requestsTotal, 500);
    assert.equal(result.latenciesMs.length, 500);
    assert.equal(result.non2xx, 50);
    assert.deepEqual([...seen].sort(), requests.map((_, i) => `n-${i}`).sort());
    assert.deepEqual(bodies.map((body) => (JSON.parse(body) as { i: number }).i).sort((a, b) => a - b), requests.map((_, i) => i));
    assert.ok(result.durationSeconds > 0);
  });

  test('cycle: repeats the requests until the duration ends', async () => {
    seen.length = 0;
    const requests = [renderRequest('GET', '/live', `127.0.0.1:${port}`, { 'x-nonce-str': 'same' })];
    const result = await runLoad({ host: '127.0.0.1', port, connections: 2, requests, mode: { kind: 'cycle', durationSeconds: 0.3 } });
    assert.ok(result.requestsTotal > 10, `answered ${result.requestsTotal}`);
    assert.equal(seen.length, result.requestsTotal);
    assert.ok(result.durationSeconds >= 0.3 && result.durationSeconds < 2, `duration ${result.durationSeconds}`);
  });

  test('percentiles span every run given', () => {
    const runs = [Float64Array.from([5, 1, 3]), Float64Array.from([2, 4, 100])];
    assert.equal(latencyPercentileMs(runs, 0.5), 4);
    assert.equal(latencyPercentileMs(runs, 0.99), 100);
    assert.equal(latencyPercentileMs([], 0.5), 0);
  });
});
