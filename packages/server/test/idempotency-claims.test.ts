// The Idempotency-Key store's one decision point, straight against both databases: live, expired and stale claims.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { limits } from '@tunai/client/contract';
import type { IdempotencyClaim } from '../src/app/idempotency-ports.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

forEachDialect('Idempotency-Key claims', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Review Idem' });
  });
  after(async () => {
    await server.close();
  });

  const claimAt = (key: string, nowMs: number, claimId: string, fingerprint = 'fp-1'): IdempotencyClaim => ({
    clientId: dev.clientId,
    key,
    fingerprint,
    claimId,
    nowMs,
    leaseUntilMs: nowMs + limits.idempotencyLeaseMs,
    expiresAtMs: nowMs + limits.idempotencyKeyTtlMs,
  });

  test('the conditional upsert: a live row is taken (no write), an expired one is taken over, and the old claim can no longer answer', async () => {
    const store = server.running.storage.idempotency;
    const t0 = 1_900_000_000_000;
    const key = `upsert-${dialect}`;
    assert.deepEqual(await store.claim(claimAt(key, t0, 'c1')), { kind: 'claimed' }, 'a new key is claimed');
    const live = await store.claim(claimAt(key, t0 + limits.idempotencyKeyTtlMs - 1, 'c2', 'fp-2'));
    assert.equal(live.kind, 'taken', 'a key inside its day is not claimed again');
    assert.equal(live.kind === 'taken' ? live.record.fingerprint : '', 'fp-1', 'the row is left as the first claim wrote it');
    assert.deepEqual(await store.claim(claimAt(key, t0 + limits.idempotencyKeyTtlMs, 'c3', 'fp-3')), { kind: 'claimed' }, 'an expired key is taken over');
    assert.equal(await store.complete(dev.clientId, key, 'c1', { httpStatus: 200, body: '{}' }), false, 'the first claim cannot store its answer over the new one');
    assert.equal(await store.complete(dev.clientId, key, 'c3', { httpStatus: 200, body: '{"ok":1}' }), true, 'the new claim stores its answer');
    const replay = await store.claim(claimAt(key, t0 + limits.idempotencyKeyTtlMs + 1, 'c4', 'fp-3'));
    assert.ok(replay.kind === 'taken' && replay.record.answer?.body === '{"ok":1}', 'the stored answer is what a retry gets');
  });

  test('the same key text on two apps is two keys', async () => {
    const other = await createDeveloper(server, { companyName: 'Review Idem Other' });
    const store = server.running.storage.idempotency;
    const nowMs = 1_900_000_000_000;
    assert.deepEqual(await store.claim(claimAt('shared-key', nowMs, 'a1')), { kind: 'claimed' }, 'first app claims');
    assert.deepEqual(await store.claim({ ...claimAt('shared-key', nowMs, 'b1'), clientId: other.clientId }), { kind: 'claimed' }, 'second app claims too');
  });
});
