// Webhooks across process deaths: `tunai serve` SIGKILLed before and during a delivery, restarted, and the event still arrives with the same id.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyNotifyCallback } from '@tunai/client';
import { limits } from '@tunai/client/contract';
import { canonicalJson } from '@tunai/client/signature';
import { pendingOutboxEvent, type OutboxEventRecord } from '../src/app/outbox-ports.js';
import type { Credentials } from '../src/cli/main.js';
import { createIds } from '../src/lib/ids.js';
import { systemClock } from '../src/lib/clock.js';
import { openStorage, type OpenedStorage } from '../src/main.js';
import { killChildren, killHard, startServe, tunai, waitFor, type ServerProcess } from './child-server.js';
import { forEachDialect, freshDatabase, type FreshDatabase } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

/** Sandbox time stands still (no closed loop); the outbox delivers every `outboxIntervalMs` (0: off). */
function serve(database: FreshDatabase, outboxIntervalMs: number): Promise<ServerProcess> {
  return startServe(database, { env: { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0', TUNAI_OUTBOX_INTERVAL_MS: String(outboxIntervalMs) } });
}

async function sandboxPost(server: ServerProcess, path: string, body?: unknown): Promise<{ item: Record<string, number> }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as { item: Record<string, number> };
}

forEachDialect('webhooks across crashes', (dialect) => {
  let database: FreshDatabase;
  let credentials: Credentials;
  let opened: OpenedStorage;
  const receivers: WebhookReceiver[] = [];
  const ids = createIds(systemClock);

  before(async () => {
    database = await freshDatabase(dialect);
    const init = await tunai(['init', ...database.configArgs, '--json']);
    assert.equal(init.code, 0, init.stderr);
    credentials = JSON.parse(init.stdout) as Credentials;
    opened = await openStorage(database.target);
  });
  afterEach(async () => {
    await killChildren();
    for (const r of receivers.splice(0)) await r.stop();
  });
  after(async () => {
    await opened?.storage.close();
    await database?.drop();
  });

  /** Commits an event straight into the database, as the payment flow's transaction does (no wake-up reaches any server). */
  async function commitEvent(targetUrl: string): Promise<OutboxEventRecord> {
    const nowMs = Date.now();
    const subjectId = ids.transactionId();
    const event = pendingOutboxEvent(
      {
        id: ids.numericId(),
        merchantId: credentials.merchantId,
        eventType: 'PAYMENT_WEB_ONLINE',
        subjectId,
        targetUrl,
        body: canonicalJson({ eventType: 'PAYMENT_WEB_ONLINE', data: { transactionId: subjectId, status: 'SUCCESS', order: { title: 'Kopi & <Roti>' } } }),
      },
      nowMs,
    );
    assert.equal(await opened.storage.transaction((tx) => tx.outbox.enqueue(event)), true);
    return event;
  }

  async function stored(id: string): Promise<OutboxEventRecord> {
    const event = await opened.storage.outbox.get(id);
    assert.ok(event);
    return event;
  }

  const verifies = (request: WebhookReceiver['requests'][number]) =>
    verifyNotifyCallback({ rawBody: request.body, headers: request.headers, serverPublicKeyPem: credentials.serverPublicKey });

  test('an event committed while delivery is off survives a SIGKILL and is delivered by the next process', async () => {
    const hook = await new WebhookReceiver().start();
    receivers.push(hook);
    const first = await serve(database, 0);
    const event = await commitEvent(hook.url());
    await killHard(first);
    assert.equal(hook.requests.length, 0);
    assert.deepEqual([(await stored(event.id)).status, (await stored(event.id)).attempts], ['PENDING', 0]);

    const second = await serve(database, 50);
    await waitFor('the event to be DELIVERED', async () => ((await stored(event.id)).status === 'DELIVERED' ? true : undefined));
    assert.equal(hook.requests.length, 1);
    const [request] = hook.requests;
    assert.ok(request);
    assert.equal(request.eventId, event.id);
    assert.equal(request.body, event.body);
    assert.equal(verifies(request), true, 'signed with the key `tunai init` printed');
    const log = await opened.storage.outbox.attempts(event.id);
    assert.deepEqual(log.map((a) => [a.attempt, a.outcome, a.httpStatus]), [[1, 'DELIVERED', 200]]);
    await killHard(second);
  });

  test('a delivery in flight when the process dies is made again after the lease lapses, with the same event id', async () => {
    const hook = await new WebhookReceiver().start();
    receivers.push(hook);
    hook.plan = ['hang'];
    const first = await serve(database, 50);
    const event = await commitEvent(hook.url());
    // The receiver holds the request open: the process is inside the attempt when it dies.
    await hook.received(1);
    await killHard(first);
    const orphaned = await stored(event.id);
    assert.equal(orphaned.status, 'PENDING');
    assert.equal(orphaned.attempts, 1);
    assert.ok(orphaned.leaseUntilMs !== null && orphaned.leaseUntilMs > Date.now() + limits.webhookLeaseMs / 2, 'the dead process still holds the lease');
    assert.deepEqual(await opened.storage.outbox.attempts(event.id), [], 'the attempt died before it could be recorded');

    // The next process leaves a held lease alone…
    const second = await serve(database, 0);
    assert.equal((await sandboxPost(second, '/sandbox/outbox/run')).item['attempted'], 0);
    assert.equal(hook.requests.length, 1);
    // …until it lapses (sandbox time travel past webhookLeaseMs), then delivers the same event again.
    await sandboxPost(second, '/sandbox/clock', { advanceSeconds: limits.webhookLeaseMs / 1000 + 1 });
    assert.equal((await sandboxPost(second, '/sandbox/outbox/run')).item['attempted'], 1);
    assert.equal(hook.requests.length, 2);
    const [dying, redelivered] = hook.requests;
    assert.ok(dying && redelivered);
    assert.equal(redelivered.eventId, event.id, 'at least once, never under a different id');
    assert.equal(dying.eventId, event.id);
    assert.equal(redelivered.body, dying.body);
    assert.equal(redelivered.body, event.body);
    assert.notEqual(redelivered.headers['x-nonce-str'], dying.headers['x-nonce-str']);
    assert.equal(verifies(dying), true);
    assert.equal(verifies(redelivered), true);

    const done = await stored(event.id);
    assert.deepEqual([done.status, done.attempts, done.leaseUntilMs], ['DELIVERED', 2, null]);
    const log = await opened.storage.outbox.attempts(event.id);
    assert.deepEqual(log.map((a) => [a.attempt, a.outcome, a.httpStatus]), [[2, 'DELIVERED', 200]]);
    // Every event this database ever held went out under its own id: no second event for the subject.
    const all = await opened.storage.outbox.list({ merchantId: null, status: null, limit: 100, beforeId: null });
    assert.equal(all.filter((e) => e.subjectId === event.subjectId).length, 1);
    await killHard(second);
  });
});
