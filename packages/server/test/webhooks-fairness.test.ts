// Deliveries in flight per receiver, over real HTTP on both databases: a receiver that never answers holds at most
// webhookInFlightPerReceiverMax of a process's slots, so other receivers are served at once.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator, sql, type Kysely } from 'kysely';
import { limits } from '@tunai/client/contract';
import { canonicalJson } from '@tunai/client/signature';
import { pendingOutboxEvent } from '../src/app/outbox-ports.js';
import { receiverOf } from '../src/domain/outbound-url.js';
import { migrateToLatest, openDatabase } from '../src/store/database.js';
import { migrationProvider } from '../src/store/migrations.js';
import { OffsetClock } from '../src/lib/clock.js';
import { ReceiverSlots } from '../src/webhooks/receiver-slots.js';
import { createDeveloper, forEachDialect, freshDatabase, startTestServer, type TestServer } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

let subjectSequence = 0;

async function enqueue(server: TestServer, merchantId: string, targetUrl: string): Promise<string> {
  const subjectId = `2412${String(++subjectSequence).padStart(20, '0')}`;
  const body = canonicalJson({ eventType: 'PAYMENT_WEB_ONLINE', data: { transactionId: subjectId, status: 'SUCCESS' } });
  const event = pendingOutboxEvent({ id: server.running.deps.ids.numericId(), merchantId, eventType: 'PAYMENT_WEB_ONLINE', subjectId, targetUrl, body }, server.clock.nowMs());
  assert.equal(await server.running.storage.transaction((tx) => tx.outbox.enqueue(event)), true);
  return event.id;
}

test('a receiver is its URL\'s origin; slots are taken and given back per receiver', () => {
  assert.equal(receiverOf('https://Shop.Example:443/notify?orderId=1'), 'https://shop.example');
  assert.equal(receiverOf('http://127.0.0.1:9000/a'), receiverOf('http://127.0.0.1:9000/b?c=d'));
  assert.notEqual(receiverOf('http://127.0.0.1:9000/a'), receiverOf('http://127.0.0.1:9001/a'));
  const slots = new ReceiverSlots(2);
  assert.deepEqual([slots.take('a'), slots.take('a'), slots.take('a'), slots.take('b')], [true, true, false, true]);
  assert.deepEqual(slots.full(), ['a']);
  slots.release('a');
  assert.deepEqual([slots.full(), slots.take('a'), slots.take('a')], [[], true, false]);
  for (const bad of [0, 1.5, Number.NaN]) assert.throws(() => new ReceiverSlots(bad), RangeError);
});

forEachDialect('notify deliveries per receiver', (dialect) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  test('migration 0010 gives events written before it their receiver', async () => {
    const database = await freshDatabase(dialect);
    const raw = openDatabase(database.target);
    cleanups.push(() => database.drop(), () => raw.db.destroy());
    const schema = dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(raw.db)).rows[0]?.schema : undefined;
    const migrator = new Migrator({ db: raw.db, provider: migrationProvider(raw.dialect), ...(schema ? { migrationTableSchema: schema } : {}) });
    const upTo = await migrator.migrateTo('0009_sandbox_clock');
    assert.equal(upTo.error, undefined);
    const old = raw.db as unknown as Kysely<any>;
    const row = (id: string, targetUrl: string) => ({
      id, merchant_id: '1', event_type: 'PAYMENT_WEB_ONLINE', subject_id: id, target_url: targetUrl, body: '{}', status: 'PENDING', attempts: 0,
      next_attempt_at_ms: 0, lease_until_ms: null, last_error: '', created_at_ms: 0, updated_at_ms: 0, delivered_at_ms: null,
    });
    await old.insertInto('outbox_events').values([row('e1', 'https://Shop.Example/notify?o=1'), row('e2', 'https://shop.example/other'), row('e3', 'http://127.0.0.1:9/n')]).execute();
    await migrateToLatest(raw.db, raw.dialect);
    const receivers = await raw.db.selectFrom('outbox_events').select(['id', 'receiver']).orderBy('id').execute();
    assert.deepEqual(receivers, [
      { id: 'e1', receiver: 'https://shop.example' },
      { id: 'e2', receiver: 'https://shop.example' },
      { id: 'e3', receiver: 'http://127.0.0.1:9' },
    ]);
  });

  test('a clock moved past an attempt\'s lease while it is out does not send the event a second time from this process', async () => {
    const server = await startTestServer(dialect, { TUNAI_WEBHOOK_TIMEOUT_MS: '3000' });
    cleanups.push(() => server.close());
    const dev = await createDeveloper(server);
    const hook = await new WebhookReceiver().start();
    hook.fallback = 'hang';
    cleanups.push(() => hook.stop());
    const eventId = await enqueue(server, dev.merchant.merchant.id, hook.url());
    server.running.deps.wakeOutbox();
    await hook.received(1);
    // Past the 90 s lease in sandbox time while the attempt still waits for its 3 s timeout.
    server.clock.advanceMs(limits.webhookLeaseMs + 1_000);
    const stored = await server.running.storage.outbox.get(eventId);
    assert.ok(stored?.leaseUntilMs !== null && (stored?.leaseUntilMs ?? 0) < server.clock.nowMs(), 'its lease has lapsed on the moved clock');
    for (let i = 0; i < 5; i++) {
      server.running.deps.wakeOutbox();
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    assert.equal(hook.requests.length, 1, 'one request: the attempt still out was not doubled');
    // It ends at its timeout and settles the event: one attempt recorded, due again later.
    for (const giveUpAt = Date.now() + 10_000; (await server.running.storage.outbox.attempts(eventId)).length === 0; ) {
      assert.ok(Date.now() < giveUpAt, 'the attempt ended within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const after = await server.running.storage.outbox.get(eventId);
    assert.deepEqual([after?.status, after?.attempts, after?.leaseUntilMs], ['PENDING', 1, null]);
    assert.equal(hook.requests.length, 1);
  });

  test('a receiver that never answers holds at most its share of the slots; another receiver is served before any of its attempts ends', async () => {
    const server = await startTestServer(dialect, { TUNAI_WEBHOOK_TIMEOUT_MS: '4000' });
    cleanups.push(() => server.close());
    const dev = await createDeveloper(server);
    const dead = await new WebhookReceiver().start();
    dead.fallback = 'hang';
    const healthy = await new WebhookReceiver().start();
    cleanups.push(() => healthy.stop(), () => dead.stop());

    // More due events to the dead receiver than the process has slots, every one on its own URL, all due first.
    const deadCount = limits.webhookInFlightMax + 20;
    const deadIds: string[] = [];
    for (let i = 0; i < deadCount; i++) deadIds.push(await enqueue(server, dev.merchant.merchant.id, dead.url(`/notify?orderId=${i}`)));
    server.clock.advanceMs(1);
    const healthyIds = [];
    for (let i = 0; i < 3; i++) healthyIds.push(await enqueue(server, dev.merchant.merchant.id, healthy.url()));

    // A background sweep, as a commit's wake-up starts one (runOutbox would go on until every dead event was tried).
    server.running.deps.wakeOutbox();
    await healthy.received(3);
    const attemptsEnded = async (ids: string[]) =>
      (await Promise.all(ids.map((id) => server.running.storage.outbox.attempts(id)))).reduce((n, list) => n + list.length, 0);
    assert.equal(await attemptsEnded(deadIds), 0, 'no attempt to the dead receiver had ended when the healthy one was served');
    // Its share of the attempts is under way (they arrive as they are sent), and no more than its share.
    await dead.received(limits.webhookInFlightPerReceiverMax);
    assert.equal(await attemptsEnded(deadIds), 0, 'none of them has ended yet');
    assert.equal(dead.requests.length, limits.webhookInFlightPerReceiverMax, 'the dead receiver holds exactly its share of the slots');

    // Its first share, oldest first, times out and waits to be retried; the healthy events were delivered once each.
    const firstShare = deadIds.slice(0, limits.webhookInFlightPerReceiverMax);
    for (const giveUpAt = Date.now() + 15_000; (await attemptsEnded(firstShare)) < firstShare.length; ) {
      assert.ok(Date.now() < giveUpAt, 'the first share timed out within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const outcomes = await Promise.all(firstShare.map(async (id) => (await server.running.storage.outbox.attempts(id))[0]?.outcome));
    assert.deepEqual(outcomes, Array(firstShare.length).fill('RETRY'));
    const healthyEvents = await Promise.all(healthyIds.map((id) => server.running.storage.outbox.get(id)));
    assert.deepEqual(healthyEvents.map((e) => e?.status), ['DELIVERED', 'DELIVERED', 'DELIVERED']);
    assert.equal(new Set(healthy.requests.map((r) => r.eventId)).size, 3, 'each healthy event once');
  });
});

test('the purge time of the shared sandbox clock follows a move only once the move is old enough for every process', async () => {
  const clock = new OffsetClock();
  const ageMs = 150;
  clock.adoptOffsetMs(3_600_000);
  assert.ok(clock.nowMs() - Date.now() >= 3_599_000, 'the clock itself moves at once');
  assert.ok(Math.abs(clock.settledNowMs(ageMs) - Date.now()) < 1_000, 'the settled time stays at the old offset');
  await new Promise((resolve) => setTimeout(resolve, ageMs + 50));
  clock.adoptOffsetMs(7_200_000);
  const settledAheadMs = clock.settledNowMs(ageMs) - Date.now();
  assert.ok(settledAheadMs >= 3_599_000 && settledAheadMs < 3_601_000, `the first move has settled, the second not yet (${settledAheadMs})`);
  await new Promise((resolve) => setTimeout(resolve, ageMs + 50));
  assert.ok(clock.settledNowMs(ageMs) - Date.now() >= 7_199_000, 'then the second too');
});
