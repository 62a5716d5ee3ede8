// One PostgreSQL database shared by several tunai schemas (tenants, test runs): a server starts and migrates its own
// schema while others are created and dropped around it. PostgreSQL only: SQLite gives each server its own file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { openStorage } from '../src/main.js';
import { openDatabase } from '../src/store/database.js';
import { freshDatabase, testDatabaseUrl, type FreshDatabase } from './harness.js';

describe('a PostgreSQL database shared with other schemas [postgres]', () => {
  let admin: pg.Client;
  const neighbours: string[] = [];

  before(async () => {
    admin = new pg.Client({ connectionString: testDatabaseUrl });
    await admin.connect();
  });
  after(async () => {
    for (const schema of neighbours) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });

  test('migrations on start succeed while neighbouring schemas (with tables and sequences) are created and dropped', async () => {
    // Before, the migrator listed every table of every schema in the database and asked PostgreSQL about each one;
    // a neighbour dropped meanwhile failed the start with `schema "t_…" does not exist`.
    let churning = true;
    let churned = 0;
    const churn = (async () => {
      while (churning) {
        const schema = `n_${randomBytes(5).toString('hex')}`;
        neighbours.push(schema);
        await admin.query(`create schema ${schema}; create table ${schema}.orders (id serial primary key, note text)`);
        await admin.query(`drop schema ${schema} cascade`);
        neighbours.splice(neighbours.indexOf(schema), 1);
        churned++;
      }
    })();
    const failures: string[] = [];
    try {
      for (let start = 0; start < 12; start++) {
        const database: FreshDatabase = await freshDatabase('postgres');
        try {
          const opened = await openStorage(database.target);
          await opened.storage.close();
        } catch (error) {
          failures.push(String(error));
        } finally {
          await database.drop();
        }
      }
    } finally {
      churning = false;
      await churn;
    }
    assert.ok(churned >= 12, `neighbours came and went during the starts (${churned})`);
    assert.deepEqual(failures, [], 'every start migrated its own schema');
  });

  test("introspection lists the server's own schema's tables, each once", async () => {
    const database = await freshDatabase('postgres');
    const other = await freshDatabase('postgres');
    try {
      for (const target of [database.target, other.target]) await (await openStorage(target)).storage.close();
      const opened = openDatabase(database.target);
      try {
        const tables = await opened.db.introspection.getTables();
        const names = tables.map((t) => t.name);
        assert.equal(new Set(names).size, names.length, 'no table twice, though another schema has the same ones');
        const own = database.target.kind === 'postgres' ? database.target.schema : '';
        assert.deepEqual([...new Set(tables.map((t) => t.schema))], [own], 'only the current schema');
        const expected = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name not like 'kysely_%'`.execute(opened.db);
        assert.deepEqual([...names].sort(), expected.rows.map((r) => r.name).sort(), 'every table of the schema, the migrator\'s own aside');
        const merchants = tables.find((t) => t.name === 'merchants');
        assert.ok(merchants && merchants.columns.some((c) => c.name === 'id' && !c.isNullable), 'columns are described');
      } finally {
        await opened.db.destroy();
      }
    } finally {
      await database.drop();
      await other.drop();
    }
  });
});
