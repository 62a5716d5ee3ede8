// Audit reproductions for notify webhooks and the outbox: each test pins one finding, over real HTTP on both databases.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson } from '@tunai/client/signature';
import { pendingOutboxEvent, type OutboxEventRecord } from '../src/app/outbox-ports.js';
import { limits } from '@tunai/client/contract';
import { retryDelayBoundsMs } from '../src/domain/outbox.js';
import { createLogger } from '../src/lib/logger.js';
import { openStorage } from '../src/main.js';
import { startDueAttempts } from '../src/webhooks/deliver.js';
import { createOutboxWorker } from '../src/webhooks/outbox-worker.js';
import { WebhookReceiver, deliveryDeps } from './webhook-receiver.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type Dialect, type TestServer } from './harness.js';

let subjectSequence = 0;
const nextSubject = () => `2407${String(++subjectSequence).padStart(20, '0')}`;

/** Writes an event the way the checkout flow does: inside a db transaction, body fixed as Go-canonical JSON. */
async function enqueue(server: TestServer, merchantId: string, targetUrl: string): Promise<OutboxEventRecord> {
  const subjectId = nextSubject();
  const body = canonicalJson({ eventType: 'PAYMENT_WEB_ONLINE', data: { transactionId: subjectId, status: 'SUCCESS', order: { id: `o-${subjectId}`, amount: 100 } } });
  const event = pendingOutboxEvent(
    { id: server.running.deps.ids.numericId(), merchantId, eventType: 'PAYMENT_WEB_ONLINE', subjectId, targetUrl, body },
    server.clock.nowMs(),
  );
  assert.equal(await server.running.storage.transaction((tx) => tx.outbox.enqueue(event)), true);
  return event;
}

/** A receiver that answers every request with one fixed status and raw body bytes. */
async function rawReceiver(status: number, body: Buffer): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits++;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, hits: () => hits };
}

/** Polls (real time, bounded) until `probe` returns a value; for work a wake-up started in the background. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const giveUpAt = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}


forEachDialect('audit: notify webhooks', (dialect: Dialect) => {
  const servers: TestServer[] = [];
  const listeners: Server[] = [];

  async function fresh(env: Record<string, string> = {}): Promise<{ server: TestServer; dev: Developer }> {
    const server = await startTestServer(dialect, env);
    servers.push(server);
    return { server, dev: await createDeveloper(server) };
  }

  afterEach(async () => {
    for (const l of listeners.splice(0)) {
      l.closeAllConnections();
      await new Promise((resolve) => l.close(resolve));
    }
    for (const s of servers.splice(0)) await s.close();
  });

  test('a receiver error body with a NUL byte is recorded as an attempt and the event follows the retry schedule', async () => {
    const { server, dev } = await fresh();
    const hook = await rawReceiver(500, Buffer.from('bad\u0000gateway', 'utf8'));
    listeners.push(hook.server);
    const event = await enqueue(server, dev.merchant.merchant.id, hook.url);
    await server.running.runOutbox();
    assert.equal(hook.hits(), 1);
    const attempts = await server.running.storage.outbox.attempts(event.id);
    assert.equal(attempts.length, 1, 'the attempt is recorded');
    const stored = await server.running.storage.outbox.get(event.id);
    assert.ok(stored);
    assert.equal(stored.leaseUntilMs, null, 'the lease is released');
    assert.equal(stored.status, 'PENDING');
    assert.ok((stored.nextAttemptAtMs ?? 0) - server.clock.nowMs() <= limits.webhookRetryDelaysMs[0]! * 1.2, 'next attempt on the schedule');
  });

  test('a receiver whose error body carries a NUL still gets exactly 12 attempts, then FAILED (no endless 90 s lease loop)', async () => {
    const { server, dev } = await fresh();
    const hook = await rawReceiver(503, Buffer.from('\u0000', 'utf8'));
    listeners.push(hook.server);
    const event = await enqueue(server, dev.merchant.merchant.id, hook.url);
    for (let round = 0; round < 20; round++) {
      await server.running.runOutbox();
      const stored = await server.running.storage.outbox.get(event.id);
      assert.ok(stored);
      if (stored.status !== 'PENDING') break;
      // The scheduled retry, or (when nothing released it) the lapse of the lease.
      server.clock.setMs(Math.max(server.clock.nowMs(), stored.leaseUntilMs ?? 0, stored.nextAttemptAtMs ?? 0));
    }
    const stored = await server.running.storage.outbox.get(event.id);
    assert.equal(stored?.status, 'FAILED', `after ${hook.hits()} requests the event is ${stored?.status} with ${stored?.attempts} attempts`);
    assert.equal(hook.hits(), 12);
  });

  // Fixed (was: a sweep awaited every attempt it started and the next sweep queued behind it, so one receiver that never
  // answered delayed every merchant's notify by up to TUNAI_WEBHOOK_TIMEOUT_MS). A sweep now only claims.
  test(
    'one merchant\'s hanging receiver does not hold back another merchant\'s notify for the whole timeout',
    async () => {
    const timeoutMs = 3_000;
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: String(timeoutMs) });
    const other = await createDeveloper(server, { companyName: 'Prompt Merchant' });
    const slow = await new WebhookReceiver().start();
    slow.fallback = 'hang';
    const fast = await new WebhookReceiver().start();
    try {
      await enqueue(server, dev.merchant.merchant.id, slow.url());
      const sweep = server.running.runOutbox();
      await slow.received(1);
      // Committed while the slow attempt hangs; a commit wakes the outbox, which is what runOutbox stands for here.
      const startedAt = Date.now();
      await enqueue(server, other.merchant.merchant.id, fast.url());
      const second = server.running.runOutbox();
      await fast.received(1);
      const waitedMs = Date.now() - startedAt;
      await Promise.all([sweep, second]);
      assert.ok(waitedMs < timeoutMs / 2, `the prompt receiver waited ${waitedMs} ms behind a hanging one (timeout ${timeoutMs} ms)`);
    } finally {
      await slow.stop();
      await fast.stop();
    }
    },
  );

  // Fixed (was: finishAttempt overwrote the re-send's "due now" with the attempt's own outcome, FAILED on the twelfth).
  // resend marks the event (resent_at_ms); the attempt in flight then leaves it due, and the next claim serves it.
  test(
    'a re-send accepted while the last attempt is in flight is not lost when that attempt gives up',
    async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '1500' });
    const hook = await new WebhookReceiver().start();
    try {
      hook.fallback = 'fail';
      const event = await enqueue(server, dev.merchant.merchant.id, hook.url());
      for (let attempt = 1; attempt <= 11; attempt++) {
        assert.equal(await server.running.runOutbox(), 1);
        const after = await server.running.storage.outbox.get(event.id);
        server.clock.setMs(after?.nextAttemptAtMs ?? 0);
      }
      // The twelfth attempt hangs; the merchant presses "resend" meanwhile and is told the event is due again.
      hook.fallback = 'hang';
      const sweep = server.running.runOutbox();
      await hook.received(12);
      const resent = await dev.client.send('POST', `/admin/webhooks/${event.id}/resend`);
      assert.equal(resent.status, 200, resent.rawText);
      assert.equal((resent.body as { item: { status: string } }).item.status, 'PENDING');
      await sweep;
      hook.fallback = 'ok';
      await server.running.runOutbox();
      const stored = await server.running.storage.outbox.get(event.id);
      assert.equal(hook.requests.length, 13, `the re-send was made (event ${stored?.status}, ${stored?.attempts} attempts)`);
      assert.equal(stored?.status, 'DELIVERED');
    } finally {
      await hook.stop();
    }
    },
  );

  test('attempts in flight stay within the cap (max and max+1); a freed slot takes the event the cap held back', async () => {
    const { server, dev } = await fresh();
    const hook = await new WebhookReceiver().start();
    const inFlightMax = 2;
    const worker = createOutboxWorker({
      startDue: (slots) => startDueAttempts(deliveryDeps(server, 1_000), slots),
      inFlightMax,
      intervalMs: 0,
      logger: createLogger('silent'),
    });
    try {
      hook.fallback = 'hang';
      const events: OutboxEventRecord[] = [];
      for (let i = 0; i < inFlightMax + 3; i++) events.push(await enqueue(server, dev.merchant.merchant.id, hook.url()));
      const first = worker.runOnce();
      await hook.received(inFlightMax);
      assert.equal(worker.inFlight(), inFlightMax, 'the cap is filled');
      // At the cap a sweep claims nothing: no lease is taken for an attempt that could not start. (runOnce then waits
      // for the attempts in flight, so its claim phase, which needs no query with no slot free, is checked meanwhile.)
      const atCap = worker.runOnce();
      await new Promise((resolve) => setImmediate(resolve));
      const all = await server.running.storage.outbox.list({ merchantId: null, status: null, limit: 10, beforeId: null });
      assert.equal(worker.inFlight(), inFlightMax);
      assert.equal(hook.requests.length, inFlightMax);
      assert.equal(all.filter((e) => e.leaseUntilMs !== null).length, inFlightMax, 'only attempts under way hold leases');
      assert.equal(all.filter((e) => e.attempts === 0).length, 3);

      // The hanging attempts time out; each freed slot wakes a sweep by itself, which takes the events held back.
      hook.fallback = 'ok';
      let most = 0;
      const sample = setInterval(() => (most = Math.max(most, worker.inFlight())), 1);
      try {
        assert.equal(await first, inFlightMax);
        assert.equal(await atCap, 0);
        await until('every event to be attempted', async () => {
          const stored = await Promise.all(events.map((e) => server.running.storage.outbox.get(e.id)));
          return stored.every((e) => (e?.attempts ?? 0) >= 1 && e?.leaseUntilMs === null) ? true : undefined;
        });
      } finally {
        clearInterval(sample);
      }
      assert.ok(most <= inFlightMax, `at most ${inFlightMax} in flight (saw ${most})`);
      assert.equal(hook.requests.length, inFlightMax + 3);
      assert.deepEqual(new Set(hook.requests.map((r) => r.eventId)), new Set(events.map((e) => e.id)));
    } finally {
      await worker.close();
      await hook.stop();
    }
  });

  test('the server holds at most webhookInFlightMax attempts; the next due event waits for a slot, then goes by itself', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '5000' });
    // Each receiver takes at most webhookInFlightPerReceiverMax at once, so the process cap needs enough receivers.
    const perReceiver = limits.webhookInFlightPerReceiverMax;
    const cap = limits.webhookInFlightMax;
    const hooks = await Promise.all(Array.from({ length: Math.ceil((cap + 1) / perReceiver) }, () => new WebhookReceiver().start()));
    const requestCount = () => hooks.reduce((n, hook) => n + hook.requests.length, 0);
    try {
      for (const hook of hooks) hook.fallback = 'hang';
      const events: OutboxEventRecord[] = [];
      for (let i = 0; i < cap + 1; i++) events.push(await enqueue(server, dev.merchant.merchant.id, (hooks[Math.floor(i / perReceiver)] as WebhookReceiver).url()));
      // One sweep claims a batch (outboxBatchMax); a full batch with slots to spare sweeps again by itself up to the cap.
      const first = server.running.runOutbox();
      await until(`${cap} attempts to be under way`, async () => (requestCount() >= cap ? true : undefined));
      // No slot: this sweep claims nothing (and then waits for the attempts in flight, as runOutbox does).
      const atCap = server.running.runOutbox();
      await new Promise((resolve) => setImmediate(resolve));
      const waiting = (await Promise.all(events.map((e) => server.running.storage.outbox.get(e.id)))).filter((e) => e?.attempts === 0);
      assert.equal(waiting.length, 1, 'max+1: one event waits, unclaimed');
      assert.equal(requestCount(), cap);
      for (const hook of hooks) hook.fallback = 'ok';
      assert.equal(await first, limits.outboxBatchMax);
      assert.equal(await atCap, 0);
      await until('the held-back event to be delivered', async () =>
        (await server.running.storage.outbox.get(waiting[0]?.id ?? ''))?.status === 'DELIVERED' ? true : undefined,
      );
      assert.equal(requestCount(), cap + 1);
    } finally {
      for (const hook of hooks) await hook.stop();
    }
  });

  test('a re-send during an earlier attempt makes the next attempt due at once; after it, the schedule applies again', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '1000' });
    const hook = await new WebhookReceiver().start();
    try {
      hook.plan = ['hang'];
      hook.fallback = 'fail';
      const event = await enqueue(server, dev.merchant.merchant.id, hook.url());
      const sweep = server.running.runOutbox();
      await hook.received(1);
      const resent = await dev.client.send('POST', `/admin/webhooks/${event.id}/resend`);
      assert.equal(resent.status, 200, resent.rawText);
      const sweptAtMs = server.clock.nowMs();
      assert.equal(await sweep, 1);
      // The clock stands still: a second attempt can only come because the re-send left the event due now (not at the
      // first retry delay), and the worker sweeps again by itself when an attempt leaves its event due.
      await until('the re-send to be attempted', async () => {
        const stored = await server.running.storage.outbox.get(event.id);
        return stored?.attempts === 2 && stored.leaseUntilMs === null ? stored : undefined;
      });
      const log = await server.running.storage.outbox.attempts(event.id);
      assert.deepEqual(
        log.map((a) => [a.attempt, a.outcome, a.startedAtMs, a.error]),
        [
          [1, 'RETRY', sweptAtMs, 'timed out after 1000 ms'],
          [2, 'RETRY', sweptAtMs, 'HTTP 500: receiver down'],
        ],
      );
      // The claim served the re-send (its marker is spent): the second failure waits on the schedule as usual.
      const after = await server.running.storage.outbox.get(event.id);
      assert.equal(after?.status, 'PENDING');
      const waitMs = (after?.nextAttemptAtMs ?? 0) - server.clock.nowMs();
      const { minMs, maxMs } = retryDelayBoundsMs(2);
      assert.ok(waitMs >= minMs && waitMs <= maxMs, `wait ${waitMs} ms within ${minMs}..${maxMs}`);
      assert.equal(await server.running.runOutbox(), 0);
      assert.equal(hook.requests.length, 2);
    } finally {
      await hook.stop();
    }
  });

  test('a re-send during an attempt that is delivered still leads to one more delivery', async () => {
    const { server, dev } = await fresh();
    const hook = await new WebhookReceiver().start();
    try {
      hook.answerDelayMs = 1_500;
      const event = await enqueue(server, dev.merchant.merchant.id, hook.url());
      const sweep = server.running.runOutbox();
      await hook.received(1);
      const resent = await dev.client.send('POST', `/admin/webhooks/${event.id}/resend`);
      assert.equal(resent.status, 200, resent.rawText);
      assert.equal(await sweep, 1);
      const delivered = await until('the re-sent event to be delivered again', async () => {
        const stored = await server.running.storage.outbox.get(event.id);
        return stored?.status === 'DELIVERED' && stored.attempts === 2 ? stored : undefined;
      });
      assert.equal(delivered.leaseUntilMs, null);
      assert.deepEqual((await server.running.storage.outbox.attempts(event.id)).map((a) => [a.attempt, a.outcome]), [
        [1, 'DELIVERED'],
        [2, 'DELIVERED'],
      ]);
      assert.deepEqual(hook.requests.map((r) => r.eventId), [event.id, event.id]);
      assert.equal(await server.running.runOutbox(), 0, 'and nothing more');
    } finally {
      await hook.stop();
    }
  });

  test('a re-send written through another connection (another process) during the last attempt is delivered without a further sweep call', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '1000' });
    const hook = await new WebhookReceiver().start();
    const other = await openStorage(server.database.target);
    try {
      hook.fallback = 'fail';
      const event = await enqueue(server, dev.merchant.merchant.id, hook.url());
      for (let attempt = 1; attempt <= 11; attempt++) {
        assert.equal(await server.running.runOutbox(), 1);
        server.clock.setMs((await server.running.storage.outbox.get(event.id))?.nextAttemptAtMs ?? 0);
      }
      hook.plan = ['hang'];
      hook.fallback = 'ok';
      const sweep = server.running.runOutbox();
      await hook.received(12);
      assert.equal(await other.storage.outbox.resend(event.id, server.clock.nowMs()), true);
      assert.equal(await sweep, 1);
      // No interval sweep in tests (TUNAI_OUTBOX_INTERVAL_MS=0): the worker wakes itself for the event its attempt left due.
      await until('the re-sent event to be DELIVERED', async () =>
        (await server.running.storage.outbox.get(event.id))?.status === 'DELIVERED' ? true : undefined,
      );
      const log = await server.running.storage.outbox.attempts(event.id);
      assert.deepEqual(log.slice(-2).map((a) => [a.attempt, a.outcome]), [[12, 'GAVE_UP'], [13, 'DELIVERED']]);
      assert.equal(hook.requests.length, 13);
    } finally {
      await other.storage.close();
      await hook.stop();
    }
  });

  test('closing the server waits for attempts a wake-up started in the background, and records them', async () => {
    const { server, dev } = await fresh({ TUNAI_WEBHOOK_TIMEOUT_MS: '500' });
    const hook = await new WebhookReceiver().start();
    try {
      hook.fallback = 'hang';
      const event = await enqueue(server, dev.merchant.merchant.id, hook.url());
      server.running.deps.wakeOutbox();
      await hook.received(1);
      await server.running.close();
      const reopened = await openStorage(server.database.target);
      try {
        const stored = await reopened.storage.outbox.get(event.id);
        assert.deepEqual([stored?.status, stored?.attempts, stored?.leaseUntilMs], ['PENDING', 1, null], 'no lease left behind');
        assert.equal((await reopened.storage.outbox.attempts(event.id))[0]?.error, 'timed out after 500 ms');
      } finally {
        await reopened.storage.close();
      }
    } finally {
      await hook.stop();
    }
  });

  test('@tunai/client reaches the admin webhook endpoints with typed methods; another merchant gets 404', async () => {
    const { server, dev } = await fresh();
    const other = await createDeveloper(server, { companyName: 'Other' });
    const hook = await new WebhookReceiver().start();
    try {
      const event = await enqueue(server, dev.merchant.merchant.id, hook.url());
      await server.running.runOutbox();
      const listed = await dev.client.webhooks.list({ status: 'DELIVERED', limit: 5 });
      assert.deepEqual(listed.items.map((e) => e.id), [event.id]);
      const got = await dev.client.webhooks.get(event.id);
      assert.equal(got.item.attemptLog?.length, 1);
      assert.equal(got.item.attemptLog?.[0]?.outcome, 'DELIVERED');
      const resent = await dev.client.webhooks.resend(event.id);
      assert.equal(resent.item.id, event.id);
      await assert.rejects(other.client.webhooks.get(event.id), { code: 'TRANSACTION_NOT_FOUND', httpStatus: 404 });
      await assert.rejects(other.client.webhooks.resend(event.id), { code: 'TRANSACTION_NOT_FOUND', httpStatus: 404 });
      assert.deepEqual((await other.client.webhooks.list()).items, []);
    } finally {
      await hook.stop();
    }
  });
});
