// Second audit of webhook delivery and the outbound URL guard: clock skew between processes, the in-flight cap, SSRF
// ranges and spellings, DNS at connect time, redirects, and receivers that answer slowly, endlessly or with huge headers.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { limits } from '@tunai/client/contract';
import { canonicalJson } from '@tunai/client/signature';
import { pendingOutboxEvent, type OutboxEventRecord } from '../src/app/outbox-ports.js';
import { isForbiddenAddress, isPrivateAddress, outboundUrlProblem, refusedAddressKind, type OutboundPolicy } from '../src/domain/outbound-url.js';
import { ManualClock } from '../src/lib/clock.js';
import { createIds } from '../src/lib/ids.js';
import { createLogger } from '../src/lib/logger.js';
import { openStorage, startServer, type RunningServer } from '../src/main.js';
import { startDueAttempts } from '../src/webhooks/deliver.js';
import { postOutbound, type ResolveAll } from '../src/webhooks/outbound-http.js';
import { createOutboxWorker } from '../src/webhooks/outbox-worker.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type Dialect, type TestServer } from './harness.js';
import { WebhookReceiver, deliveryDeps } from './webhook-receiver.js';

const productionPolicy: OutboundPolicy = { allowLinkLocal: false, allowPrivate: false };
const sandboxPolicy: OutboundPolicy = { allowLinkLocal: false, allowPrivate: true };
const allowEverything: OutboundPolicy = { allowLinkLocal: true, allowPrivate: true };

/** Polls (real time, bounded) until `probe` returns a value. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, boundMs = 10_000): Promise<T> {
  const giveUpAt = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('audit2: the outbound guard refuses every private spelling and range outside sandbox mode', () => {
  test('numeric spellings, trailing dots, IPv4-in-IPv6 forms and the documented ranges are refused (confirmed covered)', () => {
    for (const url of [
      'http://2130706433/',
      'http://0x7f.1/',
      'http://017700000001/',
      'http://0x7f000001./',
      'http://127.0.0.1./',
      'http://127.0.0.1%2e/',
      'http://[::ffff:10.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[0:0:0:0:0:ffff:127.0.0.1]/',
      'http://[::127.0.0.1]/',
      'http://[64:ff9b::7f00:1]/',
      'http://[64:ff9b::10.0.0.1]/',
      'http://100.64.0.1/',
      'http://100.127.255.255/',
      'http://0.0.0.0/',
      'http://0.1.2.3/',
      'http://169.254.1.1/',
      'http://[fc00::1]/',
      'http://[fdff::1]/',
      'http://[fe80::1]/',
      'http://[febf::1]/',
      'http://localhost./',
      'http://app.localhost./',
    ]) {
      assert.notEqual(outboundUrlProblem(url, productionPolicy), null, `${url} is refused outside sandbox mode`);
    }
  });

  test('6to4 addresses (2002::/16) that embed a private, loopback or link-local IPv4 address are refused', () => {
    for (const ip of ['2002:a00:1::', '2002:7f00:1::1', '2002:c0a8:101::1', '2002:ac10::', '2002:6440:1::']) {
      assert.equal(isPrivateAddress(ip), true, `${ip} is private (6to4 of a private IPv4 address)`);
      assert.equal(refusedAddressKind(ip, productionPolicy), 'a private or loopback address', `${ip} is refused outside sandbox mode`);
    }
    assert.equal(isForbiddenAddress('2002:a9fe:a9fe::'), true, '6to4 of 169.254.169.254 is a metadata address');
    assert.equal(isForbiddenAddress('2002::1'), true, '6to4 of 0.0.0.0 is unspecified');
    assert.equal(isPrivateAddress('2002::1'), true, '6to4 of 0.0.0.0 reaches this host');
    assert.notEqual(outboundUrlProblem('http://[2002:7f00:1::]/', productionPolicy), null, 'a 6to4 URL of 127.0.0.1 is refused');
    assert.notEqual(outboundUrlProblem('http://[2002:a9fe:a9fe::]/', sandboxPolicy), null, 'a 6to4 URL of the metadata address is refused in sandbox mode');
    // 6to4 of public addresses, and addresses next to 2002::/16, stay allowed.
    for (const ip of ['2002:808:808::1', '2001:ffff:a00:1::', '2003:a00:1::']) {
      assert.equal(refusedAddressKind(ip, productionPolicy), null, `${ip} is not refused`);
    }
  });

  test('198.18.0.0/15 (benchmarking), 240.0.0.0/4 (reserved, broadcast) and multicast are refused outside sandbox mode', () => {
    for (const ip of ['198.18.0.0', '198.18.0.1', '198.19.255.255', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '::ffff:198.18.0.1', 'ff02::1', 'ff05::2']) {
      assert.equal(refusedAddressKind(ip, productionPolicy), 'a private or loopback address', `${ip} is refused outside sandbox mode`);
      assert.equal(refusedAddressKind(ip, sandboxPolicy), null, `${ip} is allowed in sandbox mode`);
    }
    for (const ip of ['198.17.255.255', '198.20.0.0', '223.255.255.255', 'fe00::1', 'feff::1']) {
      assert.equal(refusedAddressKind(ip, productionPolicy), null, `${ip} is not refused`);
    }
    assert.equal(outboundUrlProblem('http://198.18.0.1/', productionPolicy), 'must not point at a private or loopback address (198.18.0.1)');
    assert.equal(outboundUrlProblem('http://4294967295/', productionPolicy), 'must not point at a private or loopback address (255.255.255.255)');
  });
});

/** A raw TCP receiver that does whatever `onRequest` does with the socket once the request has arrived. */
async function rawTcpReceiver(onRequest: (socket: Socket) => void): Promise<{ server: NetServer; url: string; sockets: Socket[]; written: () => number; closed: () => number }> {
  const sockets: Socket[] = [];
  let written = 0;
  let closed = 0;
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => closed++);
    let seen = '';
    let answered = false;
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (!answered && seen.includes('\r\n\r\n')) {
        answered = true;
        const write = socket.write.bind(socket);
        socket.write = ((data: string | Uint8Array, ...rest: never[]) => {
          written += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
          return write(data, ...rest);
        }) as typeof socket.write;
        onRequest(socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, sockets, written: () => written, closed: () => closed };
}

describe('audit2: every attempt is bounded in time and memory', () => {
  const servers: (NetServer | Server)[] = [];
  const timers: NodeJS.Timeout[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    for (const s of sockets.splice(0)) s.destroy();
    for (const server of servers.splice(0)) {
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  const post = (url: string, timeoutMs: number, extra: Partial<Parameters<typeof postOutbound>[0]> = {}) =>
    postOutbound({ url, headers: { 'Content-Type': 'application/json' }, body: '{"a":1}', timeoutMs, policy: sandboxPolicy, ...extra });
  /** Writes `text` one byte per tick, forever (until the socket goes). */
  const drip = (socket: Socket, text: string, everyMs = 20): void => {
    let i = 0;
    const t = setInterval(() => {
      if (socket.destroyed) return clearInterval(t);
      socket.write(text[i % text.length] as string);
      i++;
    }, everyMs);
    timers.push(t);
  };

  test('a status line dripped byte by byte never completes: the attempt ends at the timeout without a status', async () => {
    const receiver = await rawTcpReceiver((socket) => drip(socket, 'HTTP/1.1 200 OK'.padEnd(10_000, 'K')));
    servers.push(receiver.server);
    const started = Date.now();
    const result = await post(receiver.url, 400);
    const took = Date.now() - started;
    assert.equal(result.httpStatus, null);
    assert.equal(result.error, 'timed out after 400 ms');
    assert.ok(took < 5_000, `bounded by the timeout (took ${took} ms; unbounded it would drip for 200 s)`);
    await until('the socket to be closed', async () => (receiver.closed() >= 1 ? true : undefined));
  });

  test('endless header lines dripped slowly: the attempt ends at the timeout', async () => {
    const receiver = await rawTcpReceiver((socket) => {
      socket.write('HTTP/1.1 500 Internal Server Error\r\n');
      drip(socket, 'X-Slow: a\r\n', 5);
    });
    servers.push(receiver.server);
    const started = Date.now();
    const result = await post(receiver.url, 400);
    assert.equal(result.httpStatus, null);
    assert.ok(Date.now() - started < 5_000, 'bounded by the timeout (unbounded, it never ends)');
  });

  test('a huge header is refused by the parser at once (no unbounded buffering)', async () => {
    const receiver = await rawTcpReceiver((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nX-Huge: ${'h'.repeat(4_000_000)}\r\n\r\n`);
    });
    servers.push(receiver.server);
    const started = Date.now();
    const result = await post(receiver.url, 5_000);
    assert.equal(result.httpStatus, null, 'no status: the answer was never parsed');
    assert.match(result.error, /header|HPE_HEADER_OVERFLOW/i);
    assert.ok(Date.now() - started < 3_000, 'refused well before the timeout');
  });

  test('an endless error body is read only up to the cap, then the socket goes', async () => {
    const receiver = await rawTcpReceiver((socket) => {
      socket.write('HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = 'e'.repeat(16_384);
      const pump = (): void => {
        while (!socket.destroyed && socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    servers.push(receiver.server);
    const started = Date.now();
    const result = await post(receiver.url, 5_000);
    assert.equal(result.httpStatus, 500);
    assert.ok(result.error.startsWith('HTTP 500: eeee'), 'the excerpt is kept');
    assert.ok(result.error.length <= limits.webhookErrorCharsMax, `the excerpt is capped (${result.error.length})`);
    assert.ok(Date.now() - started < 3_000, 'ended by the cap, not the timeout');
    await until('the receiver to see its socket closed', async () => (receiver.closed() >= 1 ? true : undefined));
    assert.ok(receiver.written() < 32 * 1024 * 1024, `what the receiver could push is bounded by socket buffers (${receiver.written()} bytes)`);
  });

  test('an error body dripped byte by byte: the attempt ends at the timeout with the status and what arrived', async () => {
    const receiver = await rawTcpReceiver((socket) => {
      socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nslow');
      drip(socket, 'z', 20);
    });
    servers.push(receiver.server);
    const started = Date.now();
    const result = await post(receiver.url, 400);
    assert.equal(result.httpStatus, 503);
    assert.match(result.error, /^HTTP 503: slowz*$/);
    assert.ok(Date.now() - started < 5_000, 'bounded by the timeout (unbounded, it never ends)');
  });

  test('endless 1xx informational answers never count as an answer; the attempt ends at the timeout', async () => {
    const receiver = await rawTcpReceiver((socket) => {
      const t = setInterval(() => socket.destroyed || socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n'), 10);
      timers.push(t);
    });
    servers.push(receiver.server);
    const result = await post(receiver.url, 400);
    assert.equal(result.httpStatus, null);
    assert.equal(result.error, 'timed out after 400 ms');
  });

  test('a DNS lookup that never answers is bounded by the timeout; a late answer after it harms nothing', async () => {
    const never: ResolveAll = () => new Promise(() => undefined);
    const started = Date.now();
    const hung = await post('http://hooks.example.test/notify', 300, { policy: productionPolicy, resolveAll: never });
    assert.equal(hung.error, 'timed out after 300 ms');
    assert.ok(Date.now() - started < 5_000, 'bounded by the timeout (unbounded, it never ends)');
    const late: ResolveAll = async () => {
      await sleep(400);
      return [{ address: '10.0.0.1', family: 4 }];
    };
    const slow = await post('http://hooks.example.test/notify', 100, { policy: productionPolicy, resolveAll: late });
    assert.equal(slow.error, 'timed out after 100 ms');
    await sleep(500);
  });
});

describe('audit2: names are judged at connect time, every attempt; redirects are never followed', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a name that resolved to an allowed address, then rebinds to the metadata address, is refused on the next attempt', async () => {
    let hits = 0;
    const server = createHttpServer((req, res) => {
      hits++;
      req.resume();
      res.writeHead(500).end('try again');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const answers = [[{ address: '127.0.0.1', family: 4 }], [{ address: '169.254.169.254', family: 4 }], [{ address: '127.0.0.1', family: 4 }, { address: '2002:a9fe:a9fe::1', family: 6 }]];
    let lookups = 0;
    const resolveAll: ResolveAll = async () => answers[Math.min(lookups++, answers.length - 1)] ?? [];
    const url = `http://rebind.example.test:${port}/notify`;
    assert.equal(outboundUrlProblem(url, sandboxPolicy), null, 'the URL itself is acceptable');
    const first = await postOutbound({ url, headers: {}, body: '{}', timeoutMs: 2_000, policy: sandboxPolicy, resolveAll });
    assert.equal(first.httpStatus, 500);
    const second = await postOutbound({ url, headers: {}, body: '{}', timeoutMs: 2_000, policy: sandboxPolicy, resolveAll });
    assert.equal(second.httpStatus, null);
    assert.equal(second.error, 'refused: rebind.example.test resolves to 169.254.169.254, a link-local, metadata or unspecified address');
    // Any refused address among several refuses the name (6to4 of the metadata address included).
    const third = await postOutbound({ url, headers: {}, body: '{}', timeoutMs: 2_000, policy: sandboxPolicy, resolveAll });
    assert.equal(third.httpStatus, null);
    assert.match(third.error, /^refused: rebind\.example\.test resolves to 2002:a9fe:a9fe::1/);
    assert.equal(hits, 1, 'only the first attempt reached the receiver');
  });

  test('a name that resolves into 198.18.0.0/15 is refused at connect time outside sandbox mode', async () => {
    const resolveAll: ResolveAll = async () => [{ address: '198.18.0.10', family: 4 }];
    const result = await postOutbound({ url: 'http://bench.example.test/notify', headers: {}, body: '{}', timeoutMs: 500, policy: productionPolicy, resolveAll });
    assert.equal(result.httpStatus, null);
    assert.equal(result.error, 'refused: bench.example.test resolves to 198.18.0.10, a private or loopback address');
    assert.equal(result.durationMs < 500, true, 'refused without waiting for a connection');
  });

  test('3xx answers to private and metadata targets are recorded, never followed (307 and 308 too)', async () => {
    const paths: string[] = [];
    const server = createHttpServer((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      const status = Number((req.url ?? '').slice(1));
      res.writeHead(status, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    for (const status of [301, 302, 303, 307, 308]) {
      const result = await postOutbound({ url: `http://127.0.0.1:${port}/${status}`, headers: {}, body: '{}', timeoutMs: 2_000, policy: allowEverything });
      assert.equal(result.httpStatus, status);
      assert.equal(result.error, `HTTP ${status}`);
    }
    assert.deepEqual(paths, ['/301', '/302', '/303', '/307', '/308'], 'one request each, nothing followed');
  });
});

let subjectSequence = 0;
const nextSubject = () => `2412${String(++subjectSequence).padStart(20, '0')}`;

async function enqueue(server: TestServer | RunningServer, clock: ManualClock, merchantId: string, targetUrl: string): Promise<OutboxEventRecord> {
  const running = 'running' in server ? server.running : server;
  const subjectId = nextSubject();
  const body = canonicalJson({ eventType: 'PAYMENT_WEB_ONLINE', data: { transactionId: subjectId, status: 'SUCCESS', order: { id: `o-${subjectId}`, amount: 100 } } });
  const event = pendingOutboxEvent({ id: running.deps.ids.numericId(), merchantId, eventType: 'PAYMENT_WEB_ONLINE', subjectId, targetUrl, body }, clock.nowMs());
  assert.equal(await running.storage.transaction((tx) => tx.outbox.enqueue(event)), true);
  return event;
}

forEachDialect('audit2: outbox delivery across processes and at the cap', (dialect: Dialect) => {
  const servers: TestServer[] = [];
  const extra: RunningServer[] = [];
  const receivers: WebhookReceiver[] = [];

  async function fresh(env: Record<string, string> = {}): Promise<{ server: TestServer; dev: Developer }> {
    const server = await startTestServer(dialect, env);
    servers.push(server);
    return { server, dev: await createDeveloper(server) };
  }
  async function receiver(): Promise<WebhookReceiver> {
    const r = await new WebhookReceiver().start();
    receivers.push(r);
    return r;
  }
  /** Another process on the same database whose clock runs `aheadMs` ahead of the test server's. */
  async function aheadProcess(server: TestServer, aheadMs: number): Promise<{ running: RunningServer; clock: ManualClock }> {
    const clock = new ManualClock(server.clock.nowMs() + aheadMs);
    const running = await startServer({ config: server.config, clock, ids: createIds(clock), logger: createLogger('silent'), opened: await openStorage(server.database.target) });
    extra.push(running);
    return { running, clock };
  }


  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.stop();
    for (const running of extra.splice(0)) await running.close();
    for (const server of servers.splice(0)) await server.close();
  });

  test('a re-send made through a process whose clock is ahead, during an attempt here, is delivered here at once (no sweep timer)', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '1000' });
    const hook = await receiver();
    const ahead = await aheadProcess(server, 60_000);
    hook.plan = ['hang'];
    hook.fallback = 'ok';
    const event = await enqueue(server, server.clock, dev.merchant.merchant.id, hook.url());
    // The admin API of the other process: its clock says the re-send is a minute later than this process thinks it is.
    // (Its token is fetched first, so the re-send itself is quick and lands while the attempt here hangs.)
    const otherClient = dev.clientWith({ oauthBaseUrl: ahead.running.url, openApiBaseUrl: ahead.running.url, nowMs: () => ahead.clock.nowMs() });
    assert.equal((await otherClient.webhooks.get(event.id)).item.status, 'PENDING');
    let swept = false;
    const sweep = server.running.runOutbox().finally(() => (swept = true));
    await hook.received(1);
    const resent = await otherClient.webhooks.resend(event.id);
    assert.equal(resent.item.status, 'PENDING');
    assert.ok(!swept, 'the re-send landed while the attempt was in flight');
    assert.equal(resent.item.attempts, 1, 'the re-send saw the attempt under way');
    assert.equal(await sweep, 1);
    // Neither process sweeps on a timer (TUNAI_OUTBOX_INTERVAL_MS=0) and this clock stands still: the attempt that
    // saw the re-send must leave the event due by the clock of the process that will sweep it.
    await until(
      'the re-sent event to be DELIVERED',
      async () => ((await server.running.storage.outbox.get(event.id))?.status === 'DELIVERED' ? true : undefined),
      5_000,
    );
    const log = await server.running.storage.outbox.attempts(event.id);
    assert.deepEqual(log.map((a) => [a.attempt, a.outcome]), [[1, 'RETRY'], [2, 'DELIVERED']]);
    assert.equal(hook.requests.length, 2);
  });

  test('a re-send committed just after this attempt read its clock (same clocks) still leads to the next attempt at once', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '1000' });
    const hook = await receiver();
    const other = await openStorage(server.database.target);
    try {
      hook.plan = ['hang'];
      hook.fallback = 'ok';
      const event = await enqueue(server, server.clock, dev.merchant.merchant.id, hook.url());
      let swept = false;
      const sweep = server.running.runOutbox().finally(() => (swept = true));
      await hook.received(1);
      // The attempt records "now" as this instant; the re-send is stamped 1 ms later (committed after that read).
      assert.equal(await other.storage.outbox.resend(event.id, server.clock.nowMs() + 1), true);
      assert.ok(!swept, 'the re-send landed while the attempt was in flight');
      assert.equal(await sweep, 1);
      await until(
        'the re-sent event to be DELIVERED',
        async () => ((await server.running.storage.outbox.get(event.id))?.status === 'DELIVERED' ? true : undefined),
        5_000,
      );
      assert.equal(hook.requests.length, 2);
    } finally {
      await other.storage.close();
    }
  });

  test('an event written by a process whose clock is ahead is delivered by that process at once; here it waits for this clock (no loss)', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    const ahead = await aheadProcess(server, 60_000);
    const event = await enqueue(ahead.running, ahead.clock, dev.merchant.merchant.id, hook.url());
    assert.equal(await server.running.runOutbox(), 0, 'not yet due by this clock');
    ahead.running.deps.wakeOutbox();
    await until('the writer to deliver it', async () => ((await server.running.storage.outbox.get(event.id))?.status === 'DELIVERED' ? true : undefined));
    assert.equal(hook.requests.length, 1);
  });

  test('an in-flight cap that is not a whole number of at least 1 is refused (it would never deliver, or never cap)', () => {
    for (const inFlightMax of [0, -1, 0.5, Number.NaN]) {
      assert.throws(
        () => createOutboxWorker({ startDue: async () => ({ attempts: [], full: false, heldBack: false }), inFlightMax, intervalMs: 0, logger: createLogger('silent') }),
        RangeError,
        `inFlightMax ${inFlightMax}`,
      );
    }
  });

  test('with no free slot, sweeps neither spin nor claim: only attempts under way hold leases, and the freed slot takes the next event', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    let claimPhases = 0;
    let zeroSlotPhases = 0;
    const worker = createOutboxWorker({
      startDue: (slots) => {
        claimPhases++;
        if (slots === 0) zeroSlotPhases++;
        return startDueAttempts(deliveryDeps(server, 800), slots);
      },
      inFlightMax: 1,
      intervalMs: 0,
      logger: createLogger('silent'),
    });
    try {
      hook.plan = ['hang'];
      hook.fallback = 'ok';
      const events = [await enqueue(server, server.clock, dev.merchant.merchant.id, hook.url()), await enqueue(server, server.clock, dev.merchant.merchant.id, hook.url())];
      const first = worker.runOnce();
      await hook.received(1);
      for (let i = 0; i < 5; i++) worker.wake();
      await sleep(300);
      // A sweep that found no slot must not ask for another at once: that would be a busy loop until a slot frees.
      assert.ok(claimPhases <= 3, `wake-ups at the cap are coalesced, not a loop (${claimPhases} claim phases in 300 ms)`);
      const stored = await Promise.all(events.map((e) => server.running.storage.outbox.get(e.id)));
      assert.equal(stored.filter((e) => e?.leaseUntilMs !== null).length, 1, 'one lease: the attempt under way');
      assert.equal(stored.filter((e) => e?.attempts === 0).length, 1, 'the other event is unclaimed');
      assert.ok(zeroSlotPhases >= 1, 'a sweep ran with no free slot');
      assert.equal(await first, 1);
      await until('the held-back event to be delivered by the freed slot', async () => {
        const all = await Promise.all(events.map((e) => server.running.storage.outbox.get(e.id)));
        return all.filter((e) => e?.status === 'DELIVERED').length === 1 && all.every((e) => e?.leaseUntilMs === null && (e?.attempts ?? 0) === 1) ? true : undefined;
      });
    } finally {
      await worker.close();
    }
  });
});
