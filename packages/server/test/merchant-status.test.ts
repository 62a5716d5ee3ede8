// A merchant's status is its verification and `isActive` its switch: switching never moves the status, and the
// 0008 migration gives back VERIFIED to merchants an older `tunai merchant deactivate/activate` left ACTIVE or INACTIVE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMerchant } from '../src/app/create-merchant.js';
import { setMerchantActive } from '../src/app/set-merchant-active.js';
import { ManualClock } from '../src/lib/clock.js';
import { createIds } from '../src/lib/ids.js';
import { openStorage, type OpenedStorage } from '../src/main.js';
import { openDatabase, type OpenedDatabase } from '../src/store/database.js';
import { migrationProvider } from '../src/store/migrations.js';
import { forEachDialect, freshDatabase, type FreshDatabase } from './harness.js';

forEachDialect('merchant status', (dialect) => {
  let database: FreshDatabase;
  let opened: OpenedStorage;
  let raw: OpenedDatabase;
  const clock = new ManualClock(Date.UTC(2026, 11, 7));
  const deps = () => ({ storage: opened.storage, clock, ids: createIds(clock) });

  before(async () => {
    database = await freshDatabase(dialect);
    opened = await openStorage(database.target);
    raw = openDatabase(database.target);
  });
  after(async () => {
    await raw.db.destroy();
    await opened.storage.close();
    await database.drop();
  });

  const storedOf = (id: string) => raw.db.selectFrom('merchants').select(['status', 'is_active']).where('id', '=', id).executeTakeFirstOrThrow();

  test('deactivating and activating a merchant moves isActive only', async () => {
    const { merchant } = await createMerchant(deps(), { companyName: 'Switch Co' });
    const off = await setMerchantActive(deps(), merchant.id, false);
    assert.deepEqual([off.isActive, off.status], [false, 'VERIFIED']);
    assert.deepEqual(await storedOf(merchant.id), { status: 'VERIFIED', is_active: 0 });
    const on = await setMerchantActive(deps(), merchant.id, true);
    assert.deepEqual([on.isActive, on.status], [true, 'VERIFIED']);
    assert.deepEqual(await storedOf(merchant.id), { status: 'VERIFIED', is_active: 1 });
  });

  test('0008 turns the ACTIVE and INACTIVE an older switch wrote back into VERIFIED, leaving other statuses and the switch alone', async () => {
    const created = async (companyName: string) => (await createMerchant(deps(), { companyName })).merchant.id;
    const [wasOn, wasOff, reviewing] = [await created('Was On'), await created('Was Off'), await created('Reviewing')];
    await setMerchantActive(deps(), wasOff, false);
    const setStatus = (id: string, status: string) => raw.db.updateTable('merchants').set({ status }).where('id', '=', id).execute();
    await setStatus(wasOn, 'ACTIVE');
    await setStatus(wasOff, 'INACTIVE');
    await setStatus(reviewing, 'REVIEWING');
    // Run 0008 again, as on a database that was migrated before it existed (later migrations stay applied).
    const migration = (await migrationProvider(raw.dialect).getMigrations())['0008_merchant_status'];
    assert.ok(migration, '0008 is in the migration set');
    await migration.up(raw.db);
    assert.deepEqual(await storedOf(wasOn), { status: 'VERIFIED', is_active: 1 });
    assert.deepEqual(await storedOf(wasOff), { status: 'VERIFIED', is_active: 0 });
    assert.deepEqual((await storedOf(reviewing)).status, 'REVIEWING');
  });
});
