// SQLite shared by several processes: a write lock another process holds (a long or frozen transaction) makes this
// process's writes wait 5 s (limits.sqliteBusyWaitMs), asynchronously, and then fail cleanly, with nothing written;
// once the lock is gone they succeed. PostgreSQL's counterpart (a frozen process's transaction ended by the server) is in postgres-connections.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { createDeveloper, serverSuite, storeInput, type Developer } from './harness.js';

describe('a write lock held by another SQLite connection [sqlite]', () => {
  const suite = serverSuite('sqlite');
  let dev: Developer;
  let holder: BetterSqlite3.Database;

  before(async () => {
    dev = await createDeveloper(suite.server, { companyName: 'Locked Co' });
    const target = suite.server.database.target;
    assert.equal(target.kind, 'sqlite');
    holder = new BetterSqlite3(target.kind === 'sqlite' ? target.filePath : '');
  });
  after(() => {
    if (holder.inTransaction) holder.exec('rollback');
    holder.close();
  });

  test('a write waits 5 s without stopping the process, then answers 500 INTERNAL_ERROR and writes nothing; reads and later writes succeed', async () => {
    const storesOf = () => suite.db.selectFrom('stores').select('name').where('merchant_id', '=', dev.merchant.merchant.id).execute();
    const storesBefore = (await storesOf()).length;
    // The client's access token is fetched first: issuing one writes (its refresh token), so it would wait too.
    await dev.client.merchant.get();
    holder.exec('begin immediate');
    const started = performance.now();
    const refusing = dev.client.send('POST', '/v3/store', { body: storeInput('Behind the lock') });
    // The wait does not stop the process: before, SQLite's busy handler slept on the event loop, and this timer and
    // the health check both came due only after the five seconds.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const timerLateMs = performance.now() - started - 500;
    const live = await fetch(`${suite.server.url}/health/live`);
    assert.equal(live.status, 200);
    const servedAtMs = performance.now() - started;
    assert.ok(timerLateMs < 400 && servedAtMs < 1_500, `the event loop ran while the write waited (timer ${Math.round(timerLateMs)} ms late, health at ${Math.round(servedAtMs)} ms)`);
    const refused = await refusing;
    const waitedMs = performance.now() - started;
    assert.equal(refused.status, 500, refused.rawText);
    assert.deepEqual(refused.body, { error: { code: 'INTERNAL_ERROR', message: (refused.body as { error: { message: string } }).error.message } }, refused.rawText);
    assert.doesNotMatch(refused.rawText, /SQLITE|database is locked/i, 'the cause stays in the log');
    assert.ok(waitedMs >= 4_500, `it waited for the lock first (${Math.round(waitedMs)} ms)`);
    // WAL: a reader is never held behind a writer.
    assert.equal((await dev.client.merchant.get()).item.id, dev.merchant.merchant.id, 'a read is served while the lock is held');
    holder.exec('rollback');

    const created = await dev.client.stores.create(storeInput('After the lock'));
    assert.equal(created.item.name, 'After the lock');
    const names = (await storesOf()).map((row) => row.name);
    assert.equal(names.length, storesBefore + 1, 'only the store created after the lock was added');
    assert.ok(!names.includes('Behind the lock'), 'the refused request wrote nothing');
  });
});
