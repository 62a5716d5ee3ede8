// Nonce claims as the storage makes them, on both databases: claims made together are each decided once (also a
// nonce named twice in one turn), an expired row is taken over and a live one is a replay, and closing answers what
// was queued. On PostgreSQL the claims of one turn share one statement, and a failed statement fails only its batch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { sql } from 'kysely';
import { openStorage, type OpenedStorage } from '../src/main.js';
import { openDatabase, type OpenedDatabase } from '../src/store/database.js';
import { postgresNonceClaims } from '../src/store/postgres-nonce-claims.js';
import { forEachDialect, freshDatabase, type FreshDatabase } from './harness.js';

/** Counts the INSERT statements a Kysely instance sends. */
class InsertCounter implements KyselyPlugin {
  inserts = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'InsertQueryNode') this.inserts++;
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

forEachDialect('nonce claims', (dialect) => {
  let database: FreshDatabase;
  let opened: OpenedStorage;
  /** A second connection, to look at the stored rows as another process would. */
  let other: OpenedDatabase;
  let run = 0;
  /** An app id of its own per test, so the tests' nonces never meet. */
  const nextClientId = () => `app-${dialect}-${++run}`;

  before(async () => {
    database = await freshDatabase(dialect);
    opened = await openStorage(database.target);
    other = openDatabase(database.target);
  });
  after(async () => {
    await other.db.destroy();
    await opened.storage.close();
    await database.drop();
  });

  const storedNonces = async (clientId: string) =>
    (await other.db.selectFrom('request_nonces').select(['nonce', 'expires_at_ms']).where('client_id', '=', clientId).orderBy('nonce').execute()).map(
      (row) => ({ nonce: row.nonce, expiresAtMs: Number(row.expires_at_ms) }),
    );

  test('70 claims made in one turn, 35 nonces each named twice: each nonce is fresh exactly once, and stored once', async () => {
    // Nonces live in SQLite's own file, so the stored rows are looked at on PostgreSQL only.
    const clientId = nextClientId();
    const nonces = Array.from({ length: 35 }, (_, index) => `n${String(index).padStart(2, '0')}`);
    const claims = [...nonces, ...[...nonces].reverse()].map((nonce) => opened.storage.nonces.claim(clientId, nonce, 1_000, 60_000));
    const fresh = await Promise.all(claims);
    assert.equal(fresh.filter(Boolean).length, 35, 'one fresh claim per nonce');
    for (const nonce of nonces) {
      const answers = fresh.filter((_, index) => (index < 35 ? nonces[index] : nonces[69 - index]) === nonce);
      assert.deepEqual([...answers].sort(), [false, true], `nonce ${nonce}: one fresh claim, one replay`);
    }
    const again = await Promise.all(nonces.map((nonce) => opened.storage.nonces.claim(clientId, nonce, 2_000, 60_000)));
    assert.equal(again.filter(Boolean).length, 0, 'every nonce is spent');
    if (dialect === 'postgres') {
      assert.deepEqual(await storedNonces(clientId), nonces.map((nonce) => ({ nonce, expiresAtMs: 60_000 })));
    }
  });

  test('a live nonce is a replay; one whose window has passed is taken over with its new expiry', async () => {
    const clientId = nextClientId();
    assert.equal(await opened.storage.nonces.claim(clientId, 'n', 0, 1_000), true, 'first claim');
    assert.equal(await opened.storage.nonces.claim(clientId, 'n', 999, 2_000), false, 'replay within the window');
    assert.equal(await opened.storage.nonces.claim(clientId, 'n', 1_000, 5_000), true, 'window passed: taken over');
    assert.equal(await opened.storage.nonces.claim(clientId, 'n', 4_999, 9_000), false, 'the new expiry holds');
    assert.equal(await opened.storage.nonces.claim(`${clientId}-other`, 'n', 4_999, 9_000), true, 'another app\'s nonce of the same name');
    if (dialect === 'postgres') assert.deepEqual(await storedNonces(clientId), [{ nonce: 'n', expiresAtMs: 5_000 }]);
  });

  test('purging removes only expired nonces', async () => {
    const clientId = nextClientId();
    await Promise.all([
      opened.storage.nonces.claim(clientId, 'old', 0, 10),
      opened.storage.nonces.claim(clientId, 'live', 0, 1_000_000_000_000_000),
    ]);
    assert.equal(await opened.storage.nonces.purgeExpired(500), 1, 'the one expired nonce is purged, no live one');
    assert.equal(await opened.storage.nonces.claim(clientId, 'live', 600, 1_000_000_000_000_000), false, 'the live nonce stays spent');
    assert.equal(await opened.storage.nonces.claim(clientId, 'old', 600, 700), true, 'the purged nonce can be claimed');
  });

  test('closing answers the claims already made, then refuses new ones', async () => {
    const separate = await openStorage(database.target);
    const clientId = nextClientId();
    const pending = Array.from({ length: 12 }, (_, index) => separate.storage.nonces.claim(clientId, `c${index}`, 0, 60_000));
    await separate.storage.close();
    assert.deepEqual(await Promise.all(pending), Array.from({ length: 12 }, () => true));
    await assert.rejects(separate.storage.nonces.claim(clientId, 'late', 0, 60_000), /closed/);
    assert.equal(await opened.storage.nonces.claim(clientId, 'c3', 1, 60_000), false, 'a claim answered at close was committed');
  });

  if (dialect === 'postgres') {
    test('PostgreSQL: the claims of one turn share a statement of at most 32; claims awaited one by one each have their own', async () => {
      const counter = new InsertCounter();
      const claims = postgresNonceClaims(other.db.withPlugin(counter));
      const clientId = nextClientId();
      const fresh = await Promise.all(Array.from({ length: 70 }, (_, index) => claims.claim(clientId, `t${index}`, 0, 60_000)));
      assert.equal(fresh.filter(Boolean).length, 70);
      assert.equal(counter.inserts, 3, '32 + 32 + 6 claims');
      for (let index = 0; index < 3; index++) assert.equal(await claims.claim(clientId, `s${index}`, 0, 60_000), true);
      assert.equal(counter.inserts, 6, 'one statement per awaited claim');
      await claims.close();
    });

    test('PostgreSQL: a failed statement fails the claims of its batch and spends nothing; the next batch works', async () => {
      const claims = postgresNonceClaims(other.db);
      const clientId = nextClientId();
      await sql`alter table request_nonces rename to request_nonces_away`.execute(other.db);
      try {
        const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, index) => claims.claim(clientId, `f${index}`, 0, 60_000)));
        assert.deepEqual(outcomes.map((o) => o.status), Array.from({ length: 5 }, () => 'rejected'));
      } finally {
        await sql`alter table request_nonces_away rename to request_nonces`.execute(other.db);
      }
      assert.deepEqual(await storedNonces(clientId), []);
      const fresh = await Promise.all(Array.from({ length: 5 }, (_, index) => claims.claim(clientId, `f${index}`, 0, 60_000)));
      assert.deepEqual(fresh, [true, true, true, true, true]);
      await claims.close();
    });
  }
});
