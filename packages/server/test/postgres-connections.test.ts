// PostgreSQL connections that break under a running server (a restart, a failover, an administrator's
// pg_terminate_backend): the process lives on, reconnects, and loses no acknowledged payment. SQLite has no
// connections to lose, so this suite runs on PostgreSQL only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { RawResponse } from '@tunai/client';
import { checkLedger } from '../src/app/check-ledger.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { waitFor } from './api-checks.js';
import { createDeveloper, rawRequest, startTestServer, storeInput, testDatabaseUrl, type Developer, type TestServer } from './harness.js';

/** The server's log lines, parsed, as they are written. */
class LogLines extends Writable {
  readonly lines: { level: number; msg: string; err?: { message?: string } }[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line));
    done();
  }
}

const brokeMessage = 'a database connection broke; the pool dropped it and the next query opens a new one';

describe('PostgreSQL connections that break under a running server [postgres]', () => {
  const applicationName = `tunai-conn-${randomBytes(4).toString('hex')}`;
  const logs = new LogLines();
  let server: TestServer;
  let dev: Developer;
  let db: Kysely<Database>;
  let admin: pg.Client;

  /** Ends every backend the server holds, as a PostgreSQL restart would; resolves to how many it ended. */
  async function killServerConnections(): Promise<number> {
    const result = await admin.query<{ n: string }>(
      'select count(*) as n from (select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()) ended',
      [applicationName],
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  async function serverConnections(): Promise<number> {
    const result = await admin.query<{ n: string }>('select count(*) as n from pg_stat_activity where application_name = $1', [applicationName]);
    return Number(result.rows[0]?.n ?? 0);
  }

  let codeSequence = 0;
  /** A WeChat Pay Malaysia auth code that pays at once (…0000); single use, so the middle digits count up. */
  const successCode = () => `13${String(5_100_000_000 + ++codeSequence).padStart(12, '0')}0000`;
  const quickPay = (orderId: string): Promise<RawResponse> =>
    dev.client.send('POST', '/v3/payment/quickpay', {
      body: {
        authCode: successCode(),
        storeId: dev.merchant.store.id,
        ipAddress: '127.0.0.1',
        order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 },
      },
    });

  before(async () => {
    server = await startTestServer('postgres', { LOG_LEVEL: 'warn' }, { applicationName, logDestination: logs });
    dev = await createDeveloper(server, { companyName: 'Reconnect Co' });
    db = openDatabase(server.database.target).db;
    admin = new pg.Client({ connectionString: testDatabaseUrl });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await db.destroy();
    await server.close();
  });

  test('idle connections ended by PostgreSQL are dropped and reported; the process lives on and the next requests succeed', async () => {
    // Several requests at once leave several idle connections in the pool.
    await Promise.all(Array.from({ length: 6 }, () => dev.client.merchant.get()));
    assert.ok((await serverConnections()) >= 1, 'the server holds connections under its application_name');

    const ended = await killServerConnections();
    assert.ok(ended >= 1, `ended ${ended} of the server's connections`);
    // Before the fix the 'error' event of an idle client had no listener, and Node ended the process with it.
    await waitFor(() => logs.lines.some((line) => line.msg === brokeMessage), 'the broken connection to be logged');
    const reported = logs.lines.find((line) => line.msg === brokeMessage);
    assert.equal(reported?.level, 40, 'reported as a warning');
    assert.match(String(reported?.err?.message), /terminat/i, 'the log names what PostgreSQL said');

    const merchant = await dev.client.merchant.get();
    assert.equal(merchant.item.id, dev.merchant.merchant.id, 'GET /v3/merchant answers from a new connection');
    const health = await rawRequest(server.url, 'GET', '/health', {});
    assert.equal(health.status, 200, health.text);
    assert.equal(health.json?.database, 'ok', 'health reports the database reachable again');
    const created = await dev.client.stores.create(storeInput('After the restart'));
    const stored = await db.selectFrom('stores').select('name').where('id', '=', created.item.id).executeTakeFirst();
    assert.equal(stored?.name, 'After the restart', 'a write after the reconnect is stored');
    assert.ok((await serverConnections()) >= 1, 'the pool opened new connections');
  });

  test('connections ended again and again during a burst of QuickPays: every answer is a payment or a clean 500, no SUCCESS is lost, the books balance', async () => {
    const orderIds = Array.from({ length: 60 }, (_, i) => `reconnect-${i}`);
    let killing = true;
    let endedTotal = 0;
    const killer = (async () => {
      while (killing) {
        endedTotal += await killServerConnections();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const answers = await Promise.all(orderIds.map(async (orderId, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 10));
      return { orderId, res: await quickPay(orderId) };
    }));
    killing = false;
    await killer;
    assert.ok(endedTotal >= 3, `the storm ended ${endedTotal} connections`);

    const statusOf = (res: RawResponse) => (res.status === 200 ? (res.body as { item: { status: string } }).item.status : null);
    const succeeded = answers.filter(({ res }) => statusOf(res) === 'SUCCESS');
    for (const { orderId, res } of answers) {
      if (res.status === 200) {
        // IN_PROCESS: the payment was stored but a later step lost its connection; RM's answer for "query it later".
        assert.ok(['SUCCESS', 'IN_PROCESS'].includes(String(statusOf(res))), `${orderId}: ${res.rawText}`);
      } else {
        // A query cut off mid-flight is the server's failure, answered in RM's envelope and never with a stack.
        assert.equal(res.status, 500, `${orderId}: ${res.rawText}`);
        assert.deepEqual(Object.keys(res.body as object), ['error'], `${orderId}: ${res.rawText}`);
        assert.equal((res.body as { error: { code: string } }).error.code, 'INTERNAL_ERROR', `${orderId}: ${res.rawText}`);
      }
    }
    assert.ok(succeeded.length >= 1, `some payments went through the storm: ${answers.map(({ res }) => statusOf(res) ?? res.status).join(' ')}`);

    // The closed loop settles whatever a cut-off request left IN_PROCESS, as it would after a real outage.
    for (let round = 0; round < 30; round++) {
      const pending = await db.selectFrom('payment_transactions').select('id').where('merchant_id', '=', dev.merchant.merchant.id).where('status', '=', 'IN_PROCESS').execute();
      if (pending.length === 0) break;
      server.clock.advanceMs(60_000);
      await server.running.runClosedLoop();
    }
    const rows = await db
      .selectFrom('payment_transactions')
      .select(['order_id', 'status', sql<number>`count(*) over (partition by order_id)`.as('copies')])
      .where('merchant_id', '=', dev.merchant.merchant.id)
      .where('order_id', 'in', orderIds)
      .execute();
    const statusByOrder = new Map(rows.map((row) => [row.order_id, row.status]));
    for (const row of rows) assert.equal(Number(row.copies), 1, `${row.order_id} is one transaction`);
    for (const { orderId } of succeeded) assert.equal(statusByOrder.get(orderId), 'SUCCESS', `${orderId} was answered SUCCESS and is stored SUCCESS`);
    for (const row of rows) assert.notEqual(row.status, 'IN_PROCESS', `${row.order_id} was settled by the closed loop`);
    assert.deepEqual((await checkLedger(server.running.storage)).violations, [], 'the ledger balances after the storm');

    // And the server still serves: a fresh payment goes through on a new connection.
    const after = await quickPay('reconnect-after');
    assert.equal(after.status, 200, after.rawText);
    assert.equal((after.body as { item: { status: string } }).item.status, 'SUCCESS', after.rawText);
  });

  test('without an application_name in the URL, connections show as "tunai" in pg_stat_activity', async () => {
    const opened = openDatabase({ kind: 'postgres', url: testDatabaseUrl, schema: server.database.target.kind === 'postgres' ? server.database.target.schema : undefined });
    try {
      const result = await sql<{ name: string }>`select current_setting('application_name') as name`.execute(opened.db);
      assert.equal(result.rows[0]?.name, 'tunai', 'the default application_name');
    } finally {
      await opened.db.destroy();
    }
  });
});
