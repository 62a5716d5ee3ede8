// Notify webhooks from the transactional outbox, over real HTTP on both databases: signing, retries, giving up, re-send, races, blocked targets, admin API, CLI.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { verifyNotifyCallback, type RawResponse } from '@tunai/client';
import { limits } from '@tunai/client/contract';
import { canonicalJson } from '@tunai/client/signature';
import { pendingOutboxEvent, type OutboxEventRecord } from '../src/app/outbox-ports.js';
import type { OutboundPolicy } from '../src/domain/outbound-url.js';
import { retryDelayBoundsMs } from '../src/domain/outbox.js';
import { createIds } from '../src/lib/ids.js';
import { createLogger } from '../src/lib/logger.js';
import { generateRsaKeyPairPem } from '../src/lib/rsa-keys.js';
import { openStorage, startServer, type RunningServer } from '../src/main.js';
import { startDueAttempts } from '../src/webhooks/deliver.js';
import type { ResolveAll } from '../src/webhooks/outbound-http.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type Dialect, type TestServer, rmTime } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

const execFileAsync = promisify(execFile);
const bin = new URL('../bin/tunai.js', import.meta.url).pathname;
const zeroTime = '0001-01-01T00:00:00Z';

const eventKeys = ['attempts', 'createdAt', 'deliveredAt', 'eventType', 'id', 'lastError', 'nextAttemptAt', 'status', 'subjectId', 'targetUrl'];

let subjectSequence = 0;
/** A 24-digit transaction id, unique in the file. */
const nextSubject = () => `2406${String(++subjectSequence).padStart(20, '0')}`;

/** Polls (real time, bounded) until `probe` returns a value; for work a wake-up started in the background. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const giveUpAt = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Writes an event the way the checkout flow does: inside a db transaction, body fixed as Go-canonical JSON. */
async function enqueue(
  server: TestServer,
  merchantId: string,
  targetUrl: string,
  options: { subjectId?: string; eventType?: string; id?: string } = {},
): Promise<{ event: OutboxEventRecord; inserted: boolean }> {
  const nowMs = server.clock.nowMs();
  const subjectId = options.subjectId ?? nextSubject();
  const eventType = options.eventType ?? 'PAYMENT_WEB_ONLINE';
  const body = canonicalJson({
    eventType,
    data: {
      transactionId: subjectId,
      status: 'SUCCESS',
      // <>& and non-ASCII make the Go canonical form differ from JSON.stringify: receivers must sign-check what was sent.
      order: { id: `order-${subjectId}`, title: 'Teh <Tarik> & Kopi', detail: 'kopi — 咖啡', amount: 1_250 },
      finalAmount: 1_250,
      createdAt: '2024-06-01T10:00:00.123456789Z',
    },
  });
  const event = pendingOutboxEvent(
    { id: options.id ?? server.running.deps.ids.numericId(), merchantId, eventType, subjectId, targetUrl, body },
    nowMs,
  );
  const inserted = await server.running.storage.transaction((tx) => tx.outbox.enqueue(event));
  return { event, inserted };
}

async function eventOf(server: TestServer | RunningServer, id: string): Promise<OutboxEventRecord> {
  const storage = 'running' in server ? server.running.storage : server.storage;
  const event = await storage.outbox.get(id);
  assert.ok(event, `event ${id} exists`);
  return event;
}

function assertSigned(server: TestServer, body: string, headers: Record<string, string | string[] | undefined>): void {
  assert.equal(verifyNotifyCallback({ rawBody: body, headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }), true, 'the signature verifies');
}

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.rawText);
  assert.equal((res.body as { error?: { code?: string } }).error?.code, code, res.rawText);
}

forEachDialect('notify webhooks from the outbox', (dialect: Dialect) => {
  const servers: TestServer[] = [];
  const receivers: WebhookReceiver[] = [];
  const extraRunning: RunningServer[] = [];

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

  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.stop();
    for (const running of extraRunning.splice(0)) await running.close();
    for (const server of servers.splice(0)) await server.close();
  });
  after(async () => undefined);

  test('an event is delivered once, signed so verifyNotifyCallback accepts it with the server public key', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    const { event, inserted } = await enqueue(server, dev.merchant.merchant.id, hook.url('/notify?orderId=abc'));
    assert.equal(inserted, true);

    assert.equal(await server.running.runOutbox(), 1);
    assert.equal(hook.requests.length, 1);
    const got = hook.requests[0];
    assert.ok(got);
    assert.equal(got.path, '/notify?orderId=abc');
    assert.equal(got.body, event.body, 'the body is the exact text fixed at commit');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['user-agent'], 'tunai-webhooks');
    assert.equal(got.headers['x-tunai-event-id'], event.id);
    assert.match(String(got.headers['x-nonce-str']), /^[A-Za-z0-9]{32}$/);
    assert.equal(got.headers['x-timestamp'], String(Math.floor(server.clock.nowMs() / 1000)));
    assert.match(String(got.headers['x-signature']), /^sha256 [A-Za-z0-9+/]+=*$/);
    assertSigned(server, got.body, got.headers);
    // A tampered body, or another key, does not verify.
    assert.equal(verifyNotifyCallback({ rawBody: got.body.replace('1250', '1'), headers: got.headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }), false);
    const otherKey = await generateRsaKeyPairPem();
    assert.equal(verifyNotifyCallback({ rawBody: got.body, headers: got.headers, serverPublicKeyPem: otherKey.publicKeyPem }), false);

    const delivered = await eventOf(server, event.id);
    assert.equal(delivered.status, 'DELIVERED');
    assert.equal(delivered.attempts, 1);
    assert.equal(delivered.deliveredAtMs, server.clock.nowMs());
    assert.equal(delivered.nextAttemptAtMs, null);
    assert.equal(delivered.leaseUntilMs, null);
    const attempts = await server.running.storage.outbox.attempts(event.id);
    assert.equal(attempts.length, 1);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.outcome, a.httpStatus, a.error, a.startedAtMs]),
      [[1, 'DELIVERED', 200, '', server.clock.nowMs()]],
    );

    // Nothing more goes out, however far the clock moves.
    assert.equal(await server.running.runOutbox(), 0);
    server.clock.advanceMs(86_400_000 * 30);
    assert.equal(await server.running.runOutbox(), 0);
    assert.equal(hook.requests.length, 1);
  });

  test('a wake-up after the commit delivers promptly with no sweep timer (TUNAI_OUTBOX_INTERVAL_MS=0)', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    const { event } = await enqueue(server, dev.merchant.merchant.id, hook.url());
    server.running.deps.wakeOutbox();
    server.running.deps.wakeOutbox();
    await hook.received(1);
    await until('the event to be DELIVERED', async () => ((await eventOf(server, event.id)).status === 'DELIVERED' ? true : undefined));
    assert.equal(hook.requests.length, 1);
    assert.equal(hook.requests[0]?.eventId, event.id);
  });

  test('500, refused connections and a hang past the timeout → delivered later; every attempt recorded with one id and one body', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '300' });
    const hook = await receiver();
    hook.plan = ['fail', 'fail'];
    const { event } = await enqueue(server, dev.merchant.merchant.id, hook.url());

    /** One sweep; then the event must wait exactly until its jittered next attempt, within the schedule's band. */
    const attemptAndStep = async (attemptsDone: number, via: 'runOutbox' | 'sandbox') => {
      const attempted =
        via === 'runOutbox'
          ? await server.running.runOutbox()
          : ((await (await fetch(`${server.url}/sandbox/outbox/run`, { method: 'POST' })).json()) as { item: { attempted: number } }).item.attempted;
      assert.equal(attempted, 1, `attempt ${attemptsDone} was made`);
      const pending = await eventOf(server, event.id);
      assert.equal(pending.status, 'PENDING');
      assert.equal(pending.attempts, attemptsDone);
      assert.equal(pending.leaseUntilMs, null, 'the lease is released when the attempt is recorded');
      const waitMs = (pending.nextAttemptAtMs ?? 0) - server.clock.nowMs();
      const { minMs, maxMs } = retryDelayBoundsMs(attemptsDone);
      assert.ok(waitMs >= minMs && waitMs <= maxMs, `wait ${waitMs} ms after attempt ${attemptsDone} is within ${minMs}..${maxMs}`);
      server.clock.setMs((pending.nextAttemptAtMs ?? 0) - 1);
      assert.equal(await server.running.runOutbox(), 0, 'not due one millisecond early');
      server.clock.advanceMs(1);
    };

    await attemptAndStep(1, 'runOutbox'); // 500
    await attemptAndStep(2, 'sandbox'); // 500
    await hook.stop();
    await attemptAndStep(3, 'runOutbox'); // connection refused
    await hook.start();
    hook.plan = ['hang'];
    await attemptAndStep(4, 'runOutbox'); // no answer within 300 ms
    assert.equal(await server.running.runOutbox(), 1); // 200
    const delivered = await eventOf(server, event.id);
    assert.equal(delivered.status, 'DELIVERED');
    assert.equal(delivered.attempts, 5);
    assert.equal(delivered.lastError, '');

    const log = await server.running.storage.outbox.attempts(event.id);
    assert.deepEqual(
      log.map((a) => [a.attempt, a.outcome, a.httpStatus]),
      [
        [1, 'RETRY', 500],
        [2, 'RETRY', 500],
        [3, 'RETRY', null],
        [4, 'RETRY', null],
        [5, 'DELIVERED', 200],
      ],
    );
    assert.equal(log[0]?.error, 'HTTP 500: receiver down');
    assert.match(log[2]?.error ?? '', /ECONNREFUSED/);
    assert.equal(log[3]?.error, 'timed out after 300 ms');
    assert.ok((log[3]?.durationMs ?? 0) >= 250, 'the hang lasted until the timeout');
    assert.ok(log.every((a, i) => i === 0 || a.startedAtMs > (log[i - 1]?.startedAtMs ?? 0)), 'attempts start later each time');

    // The receiver saw four requests (the refused one never arrived): one event id, byte-identical bodies, fresh nonces.
    assert.equal(hook.requests.length, 4);
    assert.deepEqual(new Set(hook.requests.map((r) => r.eventId)), new Set([event.id]));
    assert.deepEqual(new Set(hook.requests.map((r) => r.body)), new Set([event.body]));
    assert.equal(new Set(hook.requests.map((r) => r.headers['x-nonce-str'])).size, 4);
    for (const r of hook.requests) assertSigned(server, r.body, r.headers);
  });

  test('a 3xx is not a delivery and is not followed', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    hook.plan = ['redirect'];
    const { event } = await enqueue(server, dev.merchant.merchant.id, hook.url());
    assert.equal(await server.running.runOutbox(), 1);
    assert.deepEqual(hook.requests.map((r) => r.path), ['/notify'], 'the Location was not visited');
    const pending = await eventOf(server, event.id);
    assert.equal(pending.status, 'PENDING');
    assert.equal(pending.lastError, 'HTTP 302');
    const [first] = await server.running.storage.outbox.attempts(event.id);
    assert.equal(first?.outcome, 'RETRY');
    assert.equal(first?.httpStatus, 302);
  });

  test('gives up after 12 attempts (FAILED); a re-send delivers it with the same id and body', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    hook.fallback = 'fail';
    const { event } = await enqueue(server, dev.merchant.merchant.id, hook.url());
    for (let attempt = 1; attempt <= 12; attempt++) {
      assert.equal(await server.running.runOutbox(), 1, `attempt ${attempt}`);
      const after = await eventOf(server, event.id);
      assert.equal(after.attempts, attempt);
      if (attempt < 12) {
        assert.equal(after.status, 'PENDING');
        server.clock.setMs(after.nextAttemptAtMs ?? 0);
      }
    }
    const failed = await eventOf(server, event.id);
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.nextAttemptAtMs, null);
    assert.equal(failed.lastError, 'HTTP 500: receiver down');
    const log = await server.running.storage.outbox.attempts(event.id);
    assert.deepEqual(log.map((a) => a.outcome), [...Array<string>(11).fill('RETRY'), 'GAVE_UP']);
    // The gaps between attempts follow the documented schedule, each within its jitter band.
    for (let i = 1; i < log.length; i++) {
      const gapMs = (log[i]?.startedAtMs ?? 0) - (log[i - 1]?.startedAtMs ?? 0);
      const { minMs, maxMs } = retryDelayBoundsMs(i);
      assert.ok(gapMs >= minMs && gapMs <= maxMs, `gap ${i}: ${gapMs} ms within ${minMs}..${maxMs}`);
    }
    server.clock.advanceMs(365 * 86_400_000);
    assert.equal(await server.running.runOutbox(), 0, 'a FAILED event is never retried by itself');
    assert.equal(hook.requests.length, 12);

    const listed = await dev.client.send('GET', '/admin/webhooks', { query: { status: 'FAILED' } });
    assert.equal(listed.status, 200, listed.rawText);
    assert.deepEqual((listed.body as { items: { id: string }[] }).items.map((i) => i.id), [event.id]);

    hook.fallback = 'ok';
    const resent = await dev.client.send('POST', `/admin/webhooks/${event.id}/resend`);
    assert.equal(resent.status, 200, resent.rawText);
    const item = (resent.body as { item: { id: string; status: string } }).item;
    assert.equal(item.id, event.id);
    assert.ok(['PENDING', 'DELIVERED'].includes(item.status), item.status);
    await server.running.runOutbox();
    const delivered = await eventOf(server, event.id);
    assert.equal(delivered.status, 'DELIVERED');
    assert.equal(delivered.attempts, 13);
    assert.equal(hook.requests.length, 13);
    assert.deepEqual(new Set(hook.requests.map((r) => r.eventId)), new Set([event.id]));
    assert.deepEqual(new Set(hook.requests.map((r) => r.body)), new Set([event.body]));
    const last = (await server.running.storage.outbox.attempts(event.id)).at(-1);
    assert.deepEqual([last?.attempt, last?.outcome, last?.httpStatus], [13, 'DELIVERED', 200]);
  });

  test('enqueueing the same event type and subject twice keeps one event (one id)', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    const subjectId = nextSubject();
    const first = await enqueue(server, dev.merchant.merchant.id, hook.url(), { subjectId });
    const second = await enqueue(server, dev.merchant.merchant.id, hook.url('/other'), { subjectId });
    assert.equal(first.inserted, true);
    assert.equal(second.inserted, false);
    assert.equal(await server.running.storage.outbox.get(second.event.id), null);
    // Another event type about the same subject is another event.
    const other = await enqueue(server, dev.merchant.merchant.id, hook.url(), { subjectId, eventType: 'RECURRING_PAYMENT' });
    assert.equal(other.inserted, true);
    // The duplicate write inside a rolled-back transaction leaves nothing either.
    await assert.rejects(
      server.running.storage.transaction(async (tx) => {
        await tx.outbox.enqueue({ ...first.event, id: server.running.deps.ids.numericId(), subjectId: nextSubject() });
        throw new Error('roll back');
      }),
      /roll back/,
    );
    const all = await server.running.storage.outbox.list({ merchantId: dev.merchant.merchant.id, status: null, limit: 10, beforeId: null });
    assert.deepEqual(all.map((e) => e.id).sort(), [first.event.id, other.event.id].sort());
    assert.equal(await server.running.runOutbox(), 2);
    assert.deepEqual(hook.requests.map((r) => r.eventId).sort(), [first.event.id, other.event.id].sort());
  });

  test('concurrent sweeps (two servers on one database, parallel runOutbox) deliver each event exactly once', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    hook.answerDelayMs = 20;
    const opened = await openStorage(server.database.target);
    const second = await startServer({ config: server.config, clock: server.clock, ids: createIds(server.clock), logger: createLogger('silent'), opened });
    extraRunning.push(second);
    const events: OutboxEventRecord[] = [];
    for (let i = 0; i < 30; i++) events.push((await enqueue(server, dev.merchant.merchant.id, hook.url())).event);

    // One receiver takes at most webhookInFlightPerReceiverMax per process at once: the sweeps start that many, and
    // each ending attempt asks for the next sweep, which takes the rest.
    const counts = await Promise.all([server.running.runOutbox(), second.runOutbox(), server.running.runOutbox(), second.runOutbox()]);
    assert.ok(counts.every((n) => n >= 0 && n <= limits.webhookInFlightPerReceiverMax), `attempts per call: ${counts.join(', ')}`);
    await until('all 30 events to be delivered', async () => {
      const stored = await Promise.all(events.map((e) => eventOf(second, e.id)));
      return stored.every((e) => e.status === 'DELIVERED') ? true : undefined;
    });
    assert.equal(hook.requests.length, 30);
    assert.deepEqual(hook.requests.map((r) => r.eventId).sort(), events.map((e) => e.id).sort());
    for (const e of events) {
      const stored = await eventOf(second, e.id);
      assert.equal(stored.status, 'DELIVERED');
      assert.equal(stored.attempts, 1);
      assert.equal((await second.storage.outbox.attempts(e.id)).length, 1);
    }
  });

  /** The event's one attempt: a refusal recorded without connecting (no status, no time), its error matching `reason`. */
  async function refusedWithoutRequest(server: TestServer, eventId: string, reason: RegExp) {
    const [attempt] = await server.running.storage.outbox.attempts(eventId);
    assert.ok(attempt);
    assert.equal(attempt.outcome, 'RETRY');
    assert.equal(attempt.httpStatus, null);
    assert.equal(attempt.durationMs, 0, 'no connection was tried');
    assert.match(attempt.error, reason);
    return attempt;
  }

  test('link-local and metadata targets are refused and recorded without a request; allowed by TUNAI_OUTBOUND_ALLOW_LINK_LOCAL', async () => {
    const { server, dev } = await fresh();
    const targets = ['http://169.254.169.254/latest/meta-data/iam/', 'http://[fe80::1]/hook', 'http://metadata.google.internal/computeMetadata/v1/'];
    const ids: string[] = [];
    for (const target of targets) ids.push((await enqueue(server, dev.merchant.merchant.id, target)).event.id);
    assert.equal(await server.running.runOutbox(), 3);
    for (const id of ids) {
      const attempt = await refusedWithoutRequest(server, id, /^refused: the target URL must not point at a (link-local, metadata or unspecified address|cloud metadata host)/);
      assert.equal((await eventOf(server, id)).lastError, attempt.error);
    }

    // Allowed: the literal IPv6 link-local target is attempted (unreachable here without an interface, so a network error).
    const allowed = await fresh({ TUNAI_OUTBOUND_ALLOW_LINK_LOCAL: 'true', TUNAI_WEBHOOK_TIMEOUT_MS: '300' });
    const { event } = await enqueue(allowed.server, allowed.dev.merchant.merchant.id, 'http://[fe80::1]:9/hook');
    assert.equal(await allowed.server.running.runOutbox(), 1);
    const [attempt] = await allowed.server.running.storage.outbox.attempts(event.id);
    assert.ok(attempt);
    assert.notEqual(attempt.error, '');
    assert.doesNotMatch(attempt.error, /refused: /);
  });

  test('with TUNAI_SANDBOX=false, loopback and private targets are refused without a request and the merchant sees only the refusal', async () => {
    const { server, dev } = await fresh({ TUNAI_SANDBOX: 'false', TUNAI_WEBHOOK_TIMEOUT_MS: '300' });
    assert.deepEqual(server.config.outbound, { allowLinkLocal: false, allowPrivate: false });
    // An internal service with an error page: reached, its body would be the merchant's lastError.
    const internal = await receiver();
    internal.fallback = 'fail';
    const targets = [internal.url('/admin'), `http://localhost:${internal.port}/admin`, 'http://10.1.2.3/', 'http://[::ffff:127.0.0.1]/'];
    const ids: string[] = [];
    for (const target of targets) ids.push((await enqueue(server, dev.merchant.merchant.id, target)).event.id);
    assert.equal(await server.running.runOutbox(), targets.length);
    for (const id of ids) {
      const attempt = await refusedWithoutRequest(server, id, /^refused: the target URL must not point at a (private or loopback address|loopback host) \(/);
      const got = await dev.client.send('GET', `/admin/webhooks/${id}`);
      assert.equal(got.status, 200, got.rawText);
      assert.equal((got.body as { item: { lastError: string } }).item.lastError, attempt.error);
      assert.doesNotMatch(got.rawText, /receiver down/);
    }
    assert.equal(internal.requests.length, 0, 'the internal service was never called');

    // TUNAI_OUTBOUND_ALLOW_PRIVATE=true lets a production deployment deliver to its own network again.
    const allowed = await fresh({ TUNAI_SANDBOX: 'false', TUNAI_OUTBOUND_ALLOW_PRIVATE: 'true' });
    const hook = await receiver();
    const { event } = await enqueue(allowed.server, allowed.dev.merchant.merchant.id, hook.url());
    assert.equal(await allowed.server.running.runOutbox(), 1);
    assert.equal((await eventOf(allowed.server, event.id)).status, 'DELIVERED');
    assert.equal(hook.requests.length, 1);
  });

  test('a host name resolving to a private address is refused at connect time and recorded as a failed attempt', async () => {
    const { server, dev } = await fresh({ TUNAI_SANDBOX: 'false' });
    const hook = await receiver();
    hook.fallback = 'fail';
    // A public-looking name that really leads to the receiver on 127.0.0.1.
    const resolveAll: ResolveAll = async (hostname) => {
      if (hostname !== 'hooks.merchant.test') throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return [{ address: '127.0.0.1', family: 4 }];
    };
    let nonces = 0;
    /** One sweep with this policy and resolver, waiting until its attempts are recorded: how many it made. */
    const sweep = async (outboundPolicy: OutboundPolicy): Promise<number> => {
      const { attempts } = await startDueAttempts(
        {
          storage: server.running.storage,
          clock: server.clock,
          ids: server.running.deps.ids,
          logger: createLogger('silent'),
          privateKey: server.running.serverKeys.privateKey,
          timeoutMs: 2_000,
          outboundPolicy,
          random: () => 0.5,
          nonce: () => `nonce-${++nonces}`.padEnd(32, 'x'),
          resolveAll,
        },
        limits.webhookInFlightMax,
      );
      await Promise.all(attempts);
      return attempts.length;
    };
    const target = `http://hooks.merchant.test:${hook.port}/notify`;
    const { event } = await enqueue(server, dev.merchant.merchant.id, target);
    assert.equal(await sweep(server.config.outbound), 1);
    const [attempt] = await server.running.storage.outbox.attempts(event.id);
    assert.ok(attempt);
    assert.equal(attempt.outcome, 'RETRY');
    assert.equal(attempt.httpStatus, null);
    assert.equal(attempt.error, 'refused: hooks.merchant.test resolves to 127.0.0.1, a private or loopback address');
    const stored = await eventOf(server, event.id);
    assert.equal(stored.status, 'PENDING');
    assert.equal(stored.lastError, attempt.error);
    const got = await dev.client.send('GET', `/admin/webhooks/${event.id}`);
    assert.equal((got.body as { item: { lastError: string } }).item.lastError, attempt.error);
    assert.equal(hook.requests.length, 0, 'the receiver was never reached');

    // With link-local allowed and private still refused, the name is checked all the same.
    server.clock.advanceMs(retryDelayBoundsMs(1).maxMs);
    assert.equal(await sweep({ allowLinkLocal: true, allowPrivate: false }), 1);
    assert.equal((await server.running.storage.outbox.attempts(event.id))[1]?.error, attempt.error);
    assert.equal(hook.requests.length, 0);

    // Where private targets are allowed (sandbox mode), the same name reaches the receiver at the checked address.
    hook.fallback = 'ok';
    server.clock.advanceMs(retryDelayBoundsMs(2).maxMs);
    assert.equal(await sweep({ allowLinkLocal: false, allowPrivate: true }), 1);
    assert.equal((await eventOf(server, event.id)).status, 'DELIVERED');
    assert.equal(hook.requests.length, 1);
  });

  test('admin API: list (paged, filtered), get with attempts, re-send; merchants see only their own; 401 and 403', async () => {
    const { server, dev } = await fresh();
    const other = await createDeveloper(server, { companyName: 'Other Merchant' });
    const hook = await receiver();
    // The sweep delivers its events concurrently, so the failing one gets a receiver of its own.
    const failing = await receiver();
    failing.plan = ['fail'];
    const first = (await enqueue(server, dev.merchant.merchant.id, failing.url())).event;
    server.clock.advanceMs(1_000);
    const second = (await enqueue(server, dev.merchant.merchant.id, hook.url())).event;
    const foreign = (await enqueue(server, other.merchant.merchant.id, hook.url())).event;
    const sweptAtMs = server.clock.nowMs();
    assert.equal(await server.running.runOutbox(), 3);

    // Newest first, only this merchant's, RM's list envelope.
    const listed = await dev.client.send('GET', '/admin/webhooks');
    assert.equal(listed.status, 200, listed.rawText);
    const body = listed.body as { items: Record<string, unknown>[]; code: string; meta: { count: number; cursor?: string } };
    assert.equal(body.code, 'SUCCESS');
    assert.deepEqual(body.items.map((i) => i['id']), [second.id, first.id]);
    assert.deepEqual(body.meta, { count: 2 });
    for (const item of body.items) assert.deepEqual(Object.keys(item).sort(), eventKeys);
    const firstItem = body.items[1] as Record<string, unknown>;
    assert.equal(firstItem['status'], 'PENDING');
    assert.equal(firstItem['attempts'], 1);
    assert.equal(firstItem['lastError'], 'HTTP 500: receiver down');
    assert.equal(firstItem['deliveredAt'], zeroTime);
    assert.equal(firstItem['createdAt'], rmTime(first.createdAtMs));
    assert.notEqual(firstItem['nextAttemptAt'], zeroTime);
    assert.equal(firstItem['eventType'], 'PAYMENT_WEB_ONLINE');
    assert.equal(firstItem['subjectId'], first.subjectId);
    assert.equal(firstItem['targetUrl'], failing.url());
    assert.equal((body.items[0] as Record<string, unknown>)['status'], 'DELIVERED');
    assert.equal((body.items[0] as Record<string, unknown>)['nextAttemptAt'], zeroTime);

    // Paging with the opaque cursor, and the status filter.
    const page1 = await dev.client.send('GET', '/admin/webhooks', { query: { limit: 1 } });
    const p1 = page1.body as { items: { id: string }[]; meta: { count: number; cursor?: string } };
    assert.deepEqual(p1.items.map((i) => i.id), [second.id]);
    assert.ok(p1.meta.cursor);
    const page2 = await dev.client.send('GET', '/admin/webhooks', { query: { limit: 1, cursor: p1.meta.cursor } });
    const p2 = page2.body as { items: { id: string }[]; meta: { count: number; cursor?: string } };
    assert.deepEqual(p2.items.map((i) => i.id), [first.id]);
    assert.equal(p2.meta.cursor, undefined);
    const delivered = await dev.client.send('GET', '/admin/webhooks', { query: { status: 'DELIVERED' } });
    assert.deepEqual((delivered.body as { items: { id: string }[] }).items.map((i) => i.id), [second.id]);
    assertError(await dev.client.send('GET', '/admin/webhooks', { query: { status: 'LOST' } }), 400, 'VALIDATION_ERROR');
    assertError(await dev.client.send('GET', '/admin/webhooks', { query: { limit: 0 } }), 400, 'VALIDATION_ERROR');
    assertError(await dev.client.send('GET', '/admin/webhooks', { query: { limit: limits.pageSizeMax + 1 } }), 400, 'VALIDATION_ERROR');
    assert.equal((await dev.client.send('GET', '/admin/webhooks', { query: { limit: limits.pageSizeMax } })).status, 200);
    assertError(await dev.client.send('GET', '/admin/webhooks', { query: { cursor: 'bogus' } }), 400, 'VALIDATION_ERROR');

    // One event with its attempt log.
    const got = await dev.client.send('GET', `/admin/webhooks/${first.id}`);
    assert.equal(got.status, 200, got.rawText);
    const item = (got.body as { item: Record<string, unknown> & { attemptLog: Record<string, unknown>[] } }).item;
    assert.deepEqual(Object.keys(item).sort(), [...eventKeys, 'attemptLog'].sort());
    assert.equal(item.attemptLog.length, 1);
    assert.deepEqual(Object.keys(item.attemptLog[0] ?? {}).sort(), ['attempt', 'durationMs', 'error', 'httpStatus', 'outcome', 'startedAt']);
    assert.deepEqual(
      { ...item.attemptLog[0], durationMs: 0 },
      { attempt: 1, startedAt: rmTime(sweptAtMs), durationMs: 0, httpStatus: 500, error: 'HTTP 500: receiver down', outcome: 'RETRY' },
    );

    // Another merchant's event, an unknown id and a malformed id all look the same: not found.
    assertError(await other.client.send('GET', `/admin/webhooks/${first.id}`), 404, 'TRANSACTION_NOT_FOUND');
    assertError(await other.client.send('POST', `/admin/webhooks/${first.id}/resend`), 404, 'TRANSACTION_NOT_FOUND');
    assertError(await dev.client.send('GET', `/admin/webhooks/${foreign.id}`), 404, 'TRANSACTION_NOT_FOUND');
    assertError(await dev.client.send('GET', '/admin/webhooks/1234567890123456789'), 404, 'TRANSACTION_NOT_FOUND');
    assertError(await dev.client.send('GET', '/admin/webhooks/not-an-id'), 404, 'TRANSACTION_NOT_FOUND');
    const otherList = await other.client.send('GET', '/admin/webhooks');
    assert.deepEqual((otherList.body as { items: { id: string }[] }).items.map((i) => i.id), [foreign.id]);
    assert.equal((await eventOf(server, first.id)).attempts, 1, 'the foreign re-send changed nothing');

    // Authentication and scope; an unsigned call is fine (signature when present), a wrong method is 405.
    assert.equal((await dev.client.send('GET', '/admin/webhooks', { accessToken: null })).status, 401);
    assert.equal((await dev.client.send('POST', `/admin/webhooks/${first.id}/resend`, { accessToken: null })).status, 401);
    assert.equal((await dev.client.send('GET', '/admin/webhooks', { accessToken: 'not-a-token' })).status, 401);
    const storeOnly = await createDeveloper(server, { scopes: ['manage_store'] });
    assertError(await storeOnly.client.send('GET', '/admin/webhooks'), 403, 'CLIENT_NO_PERMISSION');
    assertError(await storeOnly.client.send('POST', `/admin/webhooks/${first.id}/resend`), 403, 'CLIENT_NO_PERMISSION');
    assert.equal((await dev.clientWith({ signing: 'never' }).send('GET', '/admin/webhooks')).status, 200);
    assertError(await dev.client.send('GET', '/admin/webhooks', { headers: { 'X-Signature': 'sha256 AAAA' } }), 401, 'INVALID_REQUEST_SIGNATURE');
    assertError(await dev.client.send('DELETE', `/admin/webhooks/${first.id}`), 405, 'METHOD_NOT_ALLOWED');

    // Re-sending a DELIVERED event: same id and body again, and it is delivered again.
    const resent = await dev.client.send('POST', `/admin/webhooks/${second.id}/resend`);
    assert.equal(resent.status, 200, resent.rawText);
    assert.equal((resent.body as { item: { id: string } }).item.id, second.id);
    await server.running.runOutbox();
    await until('the re-sent event to be DELIVERED', async () => ((await eventOf(server, second.id)).status === 'DELIVERED' ? true : undefined));
    const secondRequests = hook.requests.filter((r) => r.eventId === second.id);
    assert.equal(secondRequests.length, 2);
    assert.equal(secondRequests[0]?.body, secondRequests[1]?.body);
    assert.equal((await eventOf(server, second.id)).attempts, 2);
  });

  test('the sandbox sweep endpoint exists only in sandbox mode', async () => {
    const sandbox = await fresh();
    const run = await fetch(`${sandbox.server.url}/sandbox/outbox/run`, { method: 'POST' });
    assert.equal(run.status, 200);
    assert.deepEqual(await run.json(), { item: { attempted: 0 }, code: 'SUCCESS' });
    const live = await fresh({ TUNAI_SANDBOX: 'false' });
    assert.equal((await fetch(`${live.server.url}/sandbox/outbox/run`, { method: 'POST' })).status, 404);
  });

  test('closing the server waits for the delivery in flight and records it', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '300' });
    const hook = await receiver();
    hook.plan = ['hang'];
    const { event } = await enqueue(server, dev.merchant.merchant.id, hook.url());
    const sweep = server.running.runOutbox();
    await hook.received(1);
    await server.running.close();
    assert.equal(await sweep, 1);
    const reopened = await openStorage(server.database.target);
    try {
      const stored = await reopened.storage.outbox.get(event.id);
      assert.equal(stored?.leaseUntilMs, null, 'no lease left behind');
      assert.equal(stored?.status, 'PENDING');
      const [attempt] = await reopened.storage.outbox.attempts(event.id);
      assert.equal(attempt?.error, 'timed out after 300 ms');
    } finally {
      await reopened.storage.close();
    }
  });

  test('tunai webhooks list / show / resend (operator CLI)', async () => {
    const { server, dev } = await fresh();
    const hook = await receiver();
    hook.plan = ['fail'];
    const { event } = await enqueue(server, dev.merchant.merchant.id, hook.url());
    assert.equal(await server.running.runOutbox(), 1);
    const cli = async (args: string[]) => {
      try {
        const { stdout } = await execFileAsync(process.execPath, [bin, ...args, ...server.database.configArgs], { env: { ...process.env, LOG_LEVEL: 'silent' } });
        return { stdout, code: 0, stderr: '' };
      } catch (error) {
        const e = error as { stdout: string; stderr: string; code: number };
        return { stdout: e.stdout, stderr: e.stderr, code: e.code };
      }
    };
    const list = await cli(['webhooks', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { id: string; status: string }[];
    assert.deepEqual(listed.map((e) => [e.id, e.status]), [[event.id, 'PENDING']]);

    const show = await cli(['webhooks', 'show', event.id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`^id\\s+${event.id}$`, 'm'));
    assert.match(show.stdout, /^\s+#1 \S+ RETRY http=500 \d+ ms HTTP 500: receiver down$/m);

    const missing = await cli(['webhooks', 'show', '1234567890123456789']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /TRANSACTION_NOT_FOUND: Webhook event not found/);
    assert.equal((await cli(['webhooks', 'list', '--status', 'LOST'])).code, 2);

    // The CLI's re-send (on the wall clock) makes the event due now instead of at its retry time; the server's next sweep delivers it.
    const scheduledAtMs = (await eventOf(server, event.id)).nextAttemptAtMs ?? 0;
    const resend = await cli(['webhooks', 'resend', event.id, '--json']);
    assert.equal(resend.code, 0, resend.stderr);
    const resent = JSON.parse(resend.stdout) as { id: string; status: string; attemptLog: unknown[] };
    assert.deepEqual([resent.id, resent.status, resent.attemptLog.length], [event.id, 'PENDING', 1]);
    const due = await eventOf(server, event.id);
    assert.ok((due.nextAttemptAtMs ?? 0) <= Date.now() && due.nextAttemptAtMs !== scheduledAtMs, 'due now, not at the scheduled retry');
    server.clock.setMs(Math.max(server.clock.nowMs(), due.nextAttemptAtMs ?? 0));
    assert.equal(await server.running.runOutbox(), 1);
    assert.equal((await eventOf(server, event.id)).status, 'DELIVERED');
    assert.deepEqual(hook.requests.map((r) => r.eventId), [event.id, event.id]);
  });
});
