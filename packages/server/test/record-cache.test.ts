// The app and merchant cache on both databases: a record is read once while the database's version stands, a commit
// by any other connection (another process, the CLI, an operator's SQL) is seen by the next look, a rolled-back one
// changes nothing, and concurrent reads share one look.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createMerchant } from '../src/app/create-merchant.js';
import type { MerchantRecord } from '../src/app/ports.js';
import { ManualClock } from '../src/lib/clock.js';
import { createIds } from '../src/lib/ids.js';
import { openStorage, type OpenedStorage } from '../src/main.js';
import { openDatabase, type OpenedDatabase } from '../src/store/database.js';
import { postgresRecordVersion, RecordCache, recordCacheRecheckMs, sqliteRecordVersion, type RecordVersionSource } from '../src/store/record-cache.js';
import { forEachDialect, freshDatabase, type FreshDatabase } from './harness.js';

forEachDialect('app and merchant cache', (dialect) => {
  let database: FreshDatabase;
  let opened: OpenedStorage;
  /** The cache's own connection, as a server process has. */
  let own: OpenedDatabase;
  /** Another connection, as another process or an operator has. */
  let other: OpenedDatabase;
  let merchantId: string;

  before(async () => {
    database = await freshDatabase(dialect);
    opened = await openStorage(database.target);
    const clock = new ManualClock(Date.now());
    merchantId = (await createMerchant({ storage: opened.storage, clock, ids: createIds(clock) }, { companyName: 'Cached Co' })).merchant.id;
    own = openDatabase(database.target);
    other = openDatabase(database.target);
  });
  after(async () => {
    await own.db.destroy();
    await other.db.destroy();
    await opened.storage.close();
    await database.drop();
  });

  /** A cache on the own connection with a clock the test moves, counting its looks at the version and its loads. */
  function countedCache() {
    const source: RecordVersionSource = own.sqlite ? sqliteRecordVersion(own.sqlite) : postgresRecordVersion(own.db);
    const counts = { looks: 0, loads: 0 };
    let nowMs = 1_000;
    const cache = new RecordCache({ read: () => (counts.looks++, source.read()) }, () => nowMs);
    const load = async (): Promise<MerchantRecord | null> => {
      counts.loads++;
      const row = await own.db.selectFrom('merchants').select(['id', 'company_name']).where('id', '=', merchantId).executeTakeFirst();
      return row ? ({ id: row.id, companyName: row.company_name } as MerchantRecord) : null;
    };
    return { cache, counts, read: () => cache.merchant(merchantId, load), advance: (ms: number) => (nowMs += ms) };
  }

  const rename = (companyName: string) => other.db.updateTable('merchants').set({ company_name: companyName }).where('id', '=', merchantId).execute();

  test('a record is loaded once while the version stands; another connection\'s commit is seen at the next look', async () => {
    const { counts, read, advance } = countedCache();
    await rename('Cached Co');
    assert.equal((await read())?.companyName, 'Cached Co');
    advance(recordCacheRecheckMs);
    assert.equal((await read())?.companyName, 'Cached Co');
    advance(recordCacheRecheckMs);
    assert.equal((await read())?.companyName, 'Cached Co');
    assert.deepEqual(counts, { looks: 3, loads: 1 }, 'three looks at the version, one load');

    await rename('Renamed Co');
    advance(recordCacheRecheckMs);
    assert.equal((await read())?.companyName, 'Renamed Co', 'the commit moved the version and the record was loaded again');
    assert.equal(counts.loads, 2);
  });

  test('a write that is rolled back leaves the version, and the cache, as they were', async () => {
    const { counts, read, advance } = countedCache();
    await rename('Before Rollback');
    assert.equal((await read())?.companyName, 'Before Rollback');
    await other.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('merchants').set({ company_name: 'Never Committed' }).where('id', '=', merchantId).execute();
        throw new Error('roll back');
      })
      .catch((error: Error) => assert.equal(error.message, 'roll back'));
    advance(recordCacheRecheckMs);
    assert.equal((await read())?.companyName, 'Before Rollback');
    assert.equal(counts.loads, 1, 'no load: the version did not move');
  });

  test('reads that start within the recheck bound share one look; a later one looks again', async () => {
    const { counts, read, advance } = countedCache();
    const names = await Promise.all(Array.from({ length: 20 }, () => read()));
    assert.ok(names.every((record) => record?.id === merchantId), 'every read answered');
    assert.equal(counts.looks, 1, `20 reads at once looked at the version once (${counts.looks})`);
    advance(recordCacheRecheckMs);
    await read();
    assert.equal(counts.looks, 2);
  });

  if (dialect === 'postgres') {
    test('without its version row the cache serves nothing stale: every look drops it', async () => {
      const { counts, read, advance } = countedCache();
      await own.db.deleteFrom('record_versions').execute();
      try {
        await read();
        advance(recordCacheRecheckMs);
        await read();
        assert.equal(counts.loads, 2, 'loaded again at the next look');
        await rename('Unversioned Co');
        advance(recordCacheRecheckMs);
        assert.equal((await read())?.companyName, 'Unversioned Co');
      } finally {
        await own.db.insertInto('record_versions').values({ name: 'records', version: 1_000 }).execute();
      }
    });

    test('the version moves once per committing statement on client_apps or merchants, from any schema-qualified writer, and not for other tables', async () => {
      const version = async () => Number((await own.db.selectFrom('record_versions').select('version').where('name', '=', 'records').executeTakeFirstOrThrow()).version);
      const before = await version();
      await rename('Counted Co');
      assert.equal(await version(), before + 1, 'an update of merchants');
      await other.db.updateTable('client_apps').set({ name: 'nobody' }).where('client_id', '=', 'no such app').execute();
      assert.equal(await version(), before + 2, 'a statement on client_apps counts even when it matched no row');
      await other.db.updateTable('stores').set({ name: 'Elsewhere' }).where('merchant_id', '=', merchantId).execute();
      assert.equal(await version(), before + 2, 'stores are not cached and do not count');
      // An operator's session with another search_path, writing the table by its qualified name.
      const schema = database.target.kind === 'postgres' ? database.target.schema : undefined;
      assert.ok(schema, 'the test database has its own schema');
      const outside = openDatabase({ kind: 'postgres', url: database.target.kind === 'postgres' ? database.target.url : '' });
      try {
        await sql`update ${sql.id(schema ?? '', 'merchants')} set company_name = 'Qualified Co' where id = ${merchantId}`.execute(outside.db);
      } finally {
        await outside.db.destroy();
      }
      assert.equal(await version(), before + 3, 'a qualified write from a session outside the schema counts in that schema');
    });
  }
});
