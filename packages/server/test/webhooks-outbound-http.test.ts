// Outbound POSTs against a real local receiver: status handling, no redirects, timeouts, refused connections, and the DNS guard.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { limits } from '@tunai/client/contract';
import type { OutboundPolicy } from '../src/domain/outbound-url.js';
import { postOutbound, type ResolveAll } from '../src/webhooks/outbound-http.js';

/** Sandbox mode's default: link-local refused, loopback and private allowed (the receiver here is on 127.0.0.1). */
const sandboxPolicy: OutboundPolicy = { allowLinkLocal: false, allowPrivate: true };
/** TUNAI_SANDBOX=false's default: both refused. */
const productionPolicy: OutboundPolicy = { allowLinkLocal: false, allowPrivate: false };

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('outbound POST', () => {
  let server: Server;
  let base: string;
  let port: number;
  const seen: Seen[] = [];
  const hanging: ServerResponse[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const path = (req.url ?? '').split('?')[0];
        if (path === '/ok') return void res.writeHead(200).end('ok');
        if (path === '/no-content') return void res.writeHead(204).end();
        if (path === '/fail') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('database\n  is down');
        if (path === '/huge') return void res.writeHead(503).end('z'.repeat(1_000_000));
        if (path === '/redirect') return void res.writeHead(302, { location: `${base}/ok?followed=1` }).end();
        if (path === '/hang') return void hanging.push(res);
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (url: string, extra: Partial<Parameters<typeof postOutbound>[0]> = {}) =>
    postOutbound({ url, headers: { 'Content-Type': 'application/json', 'X-Test': 'yes' }, body: '{"a":1}', timeoutMs: 2_000, policy: sandboxPolicy, ...extra });

  test('a 2xx is a delivery with the exact body and headers sent', async () => {
    const before = seen.length;
    const result = await post(`${base}/ok`);
    assert.equal(result.httpStatus, 200);
    assert.equal(result.error, '');
    assert.ok(result.durationMs >= 0);
    const request = seen[before];
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.body, '{"a":1}');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['content-length'], '7');
    assert.equal(request.headers['x-test'], 'yes');
    assert.equal((await post(`${base}/no-content`)).httpStatus, 204);
  });

  test('an error status is recorded with a one-line excerpt of the body', async () => {
    const result = await post(`${base}/fail`);
    assert.equal(result.httpStatus, 500);
    assert.equal(result.error, 'HTTP 500: database is down');
  });

  test('a huge error body is read only up to the cap', async () => {
    const result = await post(`${base}/huge`);
    assert.equal(result.httpStatus, 503);
    assert.ok(result.error.length <= limits.webhookErrorCharsMax);
    assert.match(result.error, /^HTTP 503: z+…$/);
  });

  test('a redirect is an answer, never followed', async () => {
    const before = seen.length;
    const result = await post(`${base}/redirect`);
    assert.equal(result.httpStatus, 302);
    assert.equal(result.error, 'HTTP 302');
    assert.equal(seen.length, before + 1, 'only the first request reached the receiver');
    assert.ok(!seen.some((s) => s.url.includes('followed')));
  });

  test('no answer within the timeout is a failure without a status', async () => {
    const result = await post(`${base}/hang`, { timeoutMs: 300 });
    assert.equal(result.httpStatus, null);
    assert.equal(result.error, 'timed out after 300 ms');
    assert.ok(result.durationMs >= 250, `took ${result.durationMs} ms`);
  });

  test('a refused connection is recorded as the network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await post(`http://127.0.0.1:${closedPort}/ok`);
    assert.equal(result.httpStatus, null);
    assert.match(result.error, /ECONNREFUSED/);
  });

  test('literal link-local and metadata targets are refused before any connection', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/', 'http://metadata.google.internal/']) {
      const result = await post(url);
      assert.equal(result.httpStatus, null);
      assert.match(result.error, /^refused: the target URL must not point at/);
      assert.equal(result.durationMs, 0);
    }
  });

  test('bad URLs are refused too (scheme, credentials)', async () => {
    assert.match((await post('ftp://127.0.0.1/')).error, /^refused: the target URL must use http or https/);
    assert.match((await post(`http://u:p@127.0.0.1:${port}/ok`)).error, /^refused: .*user name or password/);
  });

  test('a host name that resolves to a forbidden address is refused at connect time; the checked address is the one used', async () => {
    const names: Record<string, string[]> = {
      'receiver.test': ['127.0.0.1'],
      'rebind.test': ['169.254.169.254'],
      'mixed.test': ['127.0.0.1', '169.254.169.254'],
      'mapped.test': ['::ffff:169.254.169.254'],
      'v6-link-local.test': ['fe80::1'],
    };
    const asked: string[] = [];
    const resolveAll: ResolveAll = async (hostname) => {
      asked.push(hostname);
      const addresses = names[hostname];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    const before = seen.length;
    const ok = await post(`http://receiver.test:${port}/ok`, { resolveAll });
    assert.equal(ok.httpStatus, 200, ok.error);
    assert.equal(seen[before]?.headers.host, `receiver.test:${port}`);
    for (const host of ['rebind.test', 'mixed.test', 'mapped.test', 'v6-link-local.test']) {
      const refused = await post(`http://${host}:${port}/ok`, { resolveAll });
      assert.equal(refused.httpStatus, null, host);
      assert.match(refused.error, new RegExp(`^refused: ${host.replace('.', '\\.')} resolves to `), host);
    }
    assert.equal(seen.length, before + 1, 'no refused name reached the receiver');
    const unknown = await post(`http://nowhere.test:${port}/ok`, { resolveAll });
    assert.match(unknown.error, /ENOTFOUND/);
    assert.deepEqual([...new Set(asked)].sort(), ['mapped.test', 'mixed.test', 'nowhere.test', 'rebind.test', 'receiver.test', 'v6-link-local.test']);
  });

  test('with link-local allowed, literal link-local targets are attempted, not refused', async () => {
    // IPv6 link-local without an interface cannot be reached, so the attempt fails as a network error instead.
    const result = await post('http://[fe80::1]:9/', { policy: { allowLinkLocal: true, allowPrivate: true }, timeoutMs: 300 });
    assert.equal(result.httpStatus, null);
    assert.notEqual(result.error, '');
    assert.doesNotMatch(result.error, /refused: /);
  });

  test('with private targets refused, literal loopback and private targets are refused before any connection', async () => {
    const before = seen.length;
    for (const [url, host] of [
      [`${base}/ok`, '127.0.0.1'],
      [`http://10.1.2.3:${port}/ok`, '10.1.2.3'],
      [`http://[::1]:${port}/ok`, '[::1]'],
      [`http://[::ffff:127.0.0.1]:${port}/ok`, '[::ffff:7f00:1]'],
    ] as const) {
      const result = await post(url, { policy: productionPolicy });
      assert.equal(result.httpStatus, null, url);
      assert.equal(result.error, `refused: the target URL must not point at a private or loopback address (${host})`, url);
      assert.equal(result.durationMs, 0, url);
    }
    const named = await post(`http://localhost:${port}/ok`, { policy: productionPolicy });
    assert.equal(named.error, 'refused: the target URL must not point at a loopback host (localhost)');
    assert.equal(seen.length, before, 'nothing reached the receiver');
    // The same receiver is reachable once private targets are allowed (sandbox mode).
    assert.equal((await post(`${base}/ok`)).httpStatus, 200);
  });

  test('with private targets refused, a public-looking host name that resolves to a private address is refused at connect time', async () => {
    const names: Record<string, string[]> = {
      // Really the receiver: without the guard this request would arrive and its answer would be recorded.
      'hooks.merchant.test': ['127.0.0.1'],
      'ten.test': ['10.0.0.1'],
      'cgnat.test': ['100.64.0.1'],
      'ula.test': ['fd00::1'],
      'v6-loopback.test': ['::1'],
      'mapped-private.test': ['::ffff:127.0.0.1'],
      'mixed-private.test': ['93.184.215.14', '127.0.0.1'],
    };
    const resolveAll: ResolveAll = async (hostname) => {
      const addresses = names[hostname];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    const before = seen.length;
    const linkLocalAllowed: OutboundPolicy = { allowLinkLocal: true, allowPrivate: false };
    for (const policy of [productionPolicy, linkLocalAllowed]) {
      for (const host of Object.keys(names)) {
        const refused = await post(`http://${host}:${port}/ok`, { resolveAll, policy, timeoutMs: 1_000 });
        assert.equal(refused.httpStatus, null, host);
        const address = host === 'mixed-private.test' ? '127.0.0.1' : names[host]?.[0];
        assert.equal(refused.error, `refused: ${host} resolves to ${address}, a private or loopback address`, `${host} with ${JSON.stringify(policy)}`);
      }
    }
    assert.equal(seen.length, before, 'no refused name reached the receiver');
    // Sandbox mode: the same name reaches the same receiver.
    const ok = await post(`http://hooks.merchant.test:${port}/ok`, { resolveAll });
    assert.equal(ok.httpStatus, 200, ok.error);
    assert.equal(seen.length, before + 1);
  });
});
