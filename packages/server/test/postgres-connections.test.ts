// PostgreSQL connections that break under a running server (a restart, a failover, an administrator's
// pg_terminate_backend): the process lives on, reconnects, and loses no acknowledged payment. SQLite has no
// connections to lose, so this suite runs on PostgreSQL only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { RawResponse } from '@tunai/client';
import { checkLedger } from '../src/app/check-ledger.js';
import { openDatabase, type DatabaseTarget } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { waitFor } from './api-checks.js';
import { advanceClock, clientFor, initialisedDatabase, killHard, startClockedServe, tunai, waitFor as pollUntil, type InitialisedDatabase } from './child-server.js';
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
    server = await startTestServer('postgres', { LOG_LEVEL: 'warn' }, {
      logDestination: logs,
      reshapeTarget: (target) => (target.kind === 'postgres' ? { ...target, url: `${target.url}${target.url.includes('?') ? '&' : '?'}application_name=${applicationName}` } : target),
    });
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
    const orderIds: string[] = [];
    let killing = true;
    let endedTotal = 0;
    const killer = (async () => {
      while (killing) {
        endedTotal += await killServerConnections();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    // Waves of 20 payments, 10 ms apart, until the storm has ended connections under some of them and some got through.
    // How many get through depends on how fast the host runs a payment against the 100 ms between kills, so the test
    // sends more waves on a slow host instead of expecting a share (a fixed 60 were sometimes all cut off).
    const answers: { orderId: string; res: RawResponse }[] = [];
    const succeededSoFar = () => answers.filter(({ res }) => res.status === 200 && (res.body as { item: { status: string } }).item.status === 'SUCCESS').length;
    for (let wave = 0; wave < 15 && (answers.length < 60 || succeededSoFar() < 3 || endedTotal < 3); wave++) {
      const ids = Array.from({ length: 20 }, (_, i) => `reconnect-${wave * 20 + i}`);
      orderIds.push(...ids);
      answers.push(...(await Promise.all(ids.map(async (orderId, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 10));
        return { orderId, res: await quickPay(orderId) };
      }))));
    }
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

/**
 * A TCP hop in front of PostgreSQL. `forward` relays both ways; `blackhole` accepts connections and never answers,
 * as a database host behind a firewall that drops packets, or one that hangs, looks to its clients.
 */
class DatabaseHop {
  /**
   * forward: bytes pass both ways. blackhole: new connections are accepted and ignored. silent: as blackhole, and the
   * connections already open stop passing bytes either way (what is sent meanwhile is lost), as when a network path
   * starts dropping packets under an established session.
   */
  mode: 'forward' | 'blackhole' | 'silent' = 'forward';
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  port = 0;

  async start(): Promise<this> {
    const upstream = new URL(testDatabaseUrl);
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.mode !== 'forward') return;
      const database = createConnection({ host: upstream.hostname, port: Number(upstream.port || 5432) });
      this.sockets.add(database);
      database.on('close', () => {
        this.sockets.delete(database);
        client.destroy();
      });
      database.on('error', () => database.destroy());
      client.on('close', () => database.destroy());
      client.on('data', (chunk: Buffer) => {
        if (this.mode !== 'silent') database.write(chunk);
      });
      database.on('data', (chunk: Buffer) => {
        if (this.mode !== 'silent') client.write(chunk);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** A harness reshapeTarget that sends the server's PostgreSQL connections through this hop, with extra settings. */
  route(settings: { connectTimeoutMs?: number; queryTimeoutMs?: number }): (target: DatabaseTarget) => DatabaseTarget {
    return (target) => {
      assert.equal(target.kind, 'postgres');
      const url = new URL(target.kind === 'postgres' ? target.url : '');
      url.host = `127.0.0.1:${this.port}`;
      return { ...target, url: url.href, ...settings } as DatabaseTarget;
    };
  }

  /** Cuts every connection through the hop, as a failover or a restart does. */
  cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The request's answer, or 'no answer' once `limitMs` passes (so a hang fails the test instead of stalling it). */
function answerWithin<T>(request: Promise<T>, limitMs: number): Promise<T | 'no answer'> {
  return Promise.race([request, new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), limitMs).unref())]);
}

/** A test server whose PostgreSQL connections pass through a hop, a developer on it, and a direct handle on its database. */
interface HopWorld {
  hop: DatabaseHop;
  server: TestServer;
  dev: Developer;
  db: Kysely<Database>;
}

/** Registers the hooks that open a HopWorld before the suite's tests and close it after; fields are set once `before` ran. */
function hopWorld(options: { companyName: string; route: Parameters<DatabaseHop['route']>[0]; env?: Record<string, string>; logs?: LogLines }): HopWorld {
  const world = { hop: new DatabaseHop() } as HopWorld;
  before(async () => {
    await world.hop.start();
    world.server = await startTestServer('postgres', options.env ?? {}, {
      ...(options.logs ? { logDestination: options.logs } : {}),
      reshapeTarget: world.hop.route(options.route),
    });
    world.dev = await createDeveloper(world.server, { companyName: options.companyName });
    world.db = openDatabase(world.server.database.target).db;
  });
  after(async () => {
    await world.db.destroy();
    await world.server.close();
    await world.hop.stop();
  });
  return world;
}

describe('a PostgreSQL that accepts connections but never answers [postgres]', () => {
  const connectTimeoutMs = 1_500;
  const world = hopWorld({ companyName: 'Blackhole Co', route: { connectTimeoutMs } });

  test('requests fail with 500 after the connect timeout instead of hanging, write nothing, and succeed once the database answers again', async () => {
    const { hop, server, dev, db } = world;
    assert.equal((await dev.client.merchant.get()).item.id, dev.merchant.merchant.id, 'served through the hop');
    const storesBefore = (await db.selectFrom('stores').select('id').where('merchant_id', '=', dev.merchant.merchant.id).execute()).length;

    hop.mode = 'blackhole';
    hop.cutAll();
    // Let the pool see its connections close (a request handed one first gets an immediate 500, tested above).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    const stalled = await answerWithin(dev.client.send('POST', '/v3/store', { body: storeInput('During the outage') }), 20_000);
    const waitedMs = performance.now() - started;
    assert.notEqual(stalled, 'no answer', 'the request was answered, not left hanging');
    const res = stalled as RawResponse;
    assert.equal(res.status, 500, res.rawText);
    assert.equal((res.body as { error: { code: string } }).error.code, 'INTERNAL_ERROR', res.rawText);
    assert.ok(waitedMs >= connectTimeoutMs * 0.9, `it waited for a connection first (${Math.round(waitedMs)} ms)`);
    const health = await answerWithin(rawRequest(server.url, 'GET', '/health', {}), 20_000);
    assert.ok(health !== 'no answer', 'health answers too');
    assert.equal(health.status, 503);
    assert.equal(health.json?.database, 'unreachable');

    hop.mode = 'forward';
    const created = await dev.client.stores.create(storeInput('After the outage'));
    assert.equal(created.item.name, 'After the outage', 'served again once the database answers');
    const names = (await db.selectFrom('stores').select('name').where('merchant_id', '=', dev.merchant.merchant.id).execute()).map((r) => r.name);
    assert.equal(names.length, storesBefore + 1, 'only the store created after the outage was added');
    assert.ok(!names.includes('During the outage'), 'the refused request wrote nothing');
  });
});

describe('a PostgreSQL connection that goes silent mid-query [postgres]', () => {
  const queryTimeoutMs = 1_500;
  const connectTimeoutMs = 1_500;
  const logs = new LogLines();
  const world = hopWorld({ companyName: 'Silent Co', route: { connectTimeoutMs, queryTimeoutMs }, env: { LOG_LEVEL: 'warn' }, logs });

  test('requests on connections that stopped answering fail with 500 after TUNAI_DATABASE_QUERY_TIMEOUT_MS, free the pool, write nothing, and later requests succeed', async () => {
    const { hop, dev, db } = world;
    // Fill the pool: with all ten connections open, the requests below are sent on connections that then go silent.
    await Promise.all(Array.from({ length: 12 }, () => dev.client.merchant.get()));
    const storesBefore = (await db.selectFrom('stores').select('id').where('merchant_id', '=', dev.merchant.merchant.id).execute()).length;

    hop.mode = 'silent';
    // More requests than the pool has connections: before the bound, the first ten held their connections forever
    // and the rest queued behind them, so the whole process stopped answering anything that needs the database.
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 14 }, (_, i) => answerWithin(dev.client.send('POST', '/v3/store', { body: storeInput(`Unanswered ${i}`) }), 20_000)),
    );
    const waitedMs = performance.now() - started;
    for (const answer of answers) {
      assert.notEqual(answer, 'no answer', 'every request was answered, none left hanging');
      const res = answer as RawResponse;
      assert.equal(res.status, 500, res.rawText);
      assert.equal((res.body as { error: { code: string } }).error.code, 'INTERNAL_ERROR', res.rawText);
      assert.doesNotMatch(res.rawText, /PostgreSQL|connection|ms/, 'the answer keeps the cause to the log');
    }
    assert.ok(waitedMs >= queryTimeoutMs * 0.9, `the requests waited for the bound first (${Math.round(waitedMs)} ms)`);
    const closed = logs.lines.filter((line) => line.msg === brokeMessage && /sent no answer to a query within 1500 ms/.test(String(line.err?.message)));
    assert.ok(closed.length >= 1, `the closed connections are logged with the reason (${closed.length} lines)`);

    hop.mode = 'forward';
    const merchant = await dev.client.merchant.get();
    assert.equal(merchant.item.id, dev.merchant.merchant.id, 'served again once the path carries bytes');
    const created = await dev.client.stores.create(storeInput('After the silence'));
    assert.equal(created.item.name, 'After the silence');
    const names = (await db.selectFrom('stores').select('name').where('merchant_id', '=', dev.merchant.merchant.id).execute()).map((r) => r.name);
    assert.equal(names.length, storesBefore + 1, 'only the store created after the silence was added');
    assert.ok(!names.some((name) => name.startsWith('Unanswered ')), `the failed requests wrote nothing: ${names.join(', ')}`);
  });

  test('the bound ends a slow query too, and is lifted only inside unbounded() (migrations), then applies again', async () => {
    const { server } = world;
    const opened = openDatabase({ ...server.database.target, queryTimeoutMs: 300 } as typeof server.database.target);
    try {
      const sleep = () => sql<{ slept: string }>`select pg_sleep(0.8)::text as slept`.execute(opened.db);
      await assert.rejects(sleep(), (error: Error) => error.name === 'QueryUnansweredError' && /within 300 ms/.test(error.message), 'a query past the bound fails');
      const lifted = await opened.unbounded(sleep);
      assert.equal(lifted.rows.length, 1, 'inside unbounded() the same query runs to its end');
      await assert.rejects(sleep(), /within 300 ms/, 'after unbounded() the bound applies again');
      const quick = await sql<{ one: number }>`select 1 as one`.execute(opened.db);
      assert.equal(quick.rows[0]?.one, 1, 'a query within the bound answers on a fresh connection');
    } finally {
      await opened.db.destroy();
    }
  });
});

describe('background jobs during a PostgreSQL outage [postgres]', () => {
  const logs = new LogLines();
  const world = hopWorld({
    companyName: 'Outage Co',
    // Long enough that a connection made while the machine is busy (PostgreSQL forks a backend) is not a failure.
    route: { connectTimeoutMs: 800 },
    env: { LOG_LEVEL: 'info', TUNAI_CLOSED_LOOP_INTERVAL_MS: '50', TUNAI_OUTBOX_INTERVAL_MS: '50' },
    logs,
  });

  test('the closed loop and the outbox sweep log an outage once when it starts and once when it ends, not once per run', async () => {
    const { hop } = world;
    const linesAbout = (msg: string) => logs.lines.filter((line) => line.msg === msg);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(linesAbout('closed-loop tick failed'), [], 'no failure while the database answers');

    hop.mode = 'blackhole';
    hop.cutAll();
    // Each run now fails after the 800 ms connect timeout; with a run due every 50 ms both jobs fail again and again.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    hop.mode = 'forward';
    await waitFor(() => linesAbout('closed-loop tick recovered').length > 0 && linesAbout('outbox sweep recovered').length > 0, 'both jobs to recover');

    const story = logs.lines.filter((line) => /closed-loop|outbox/.test(line.msg)).map((line) => line.msg).join(' | ');
    for (const what of ['closed-loop tick', 'outbox sweep']) {
      const failed = linesAbout(`${what} failed`);
      assert.equal(failed.length, 1, `${what}: one line when the outage starts: ${story}`);
      assert.equal(failed[0]?.level, 50, `${what}: logged as an error`);
      // The cause depends on where the outage caught the run (a connect timeout, a reset, a terminated connection).
      assert.ok((failed[0]?.err?.message ?? '').length > 0, `${what}: the line carries the cause: ${JSON.stringify(failed[0]?.err)}`);
      assert.deepEqual(linesAbout(`${what} still failing`), [], `${what}: no reminder within the first minute`);
      const recovered = linesAbout(`${what} recovered`) as unknown as { level: number; failures: number; failingForMs: number }[];
      assert.equal(recovered.length, 1, `${what}: one line when it ends: ${story}`);
      assert.equal(recovered[0]?.level, 30, `${what}: recovery is info`);
      assert.ok((recovered[0]?.failures ?? 0) >= 3, `${what}: the recovery line counts the failed runs (${recovered[0]?.failures})`);
      // Each failed run took the 800 ms connect timeout, so 5 s hold a handful; calls that joined a run are not runs.
      assert.ok((recovered[0]?.failures ?? 0) <= 12, `${what}: it counts runs, not the interval calls that joined one (${recovered[0]?.failures})`);
      assert.ok((recovered[0]?.failingForMs ?? 0) >= 1_000, `${what}: and how long they went on (${recovered[0]?.failingForMs} ms)`);
    }
  });
});

describe('the PostgreSQL pool size [postgres]', () => {
  test('TUNAI_DATABASE_POOL_MAX bounds the connections one process opens; queries beyond it wait their turn and succeed', async () => {
    const applicationName = `tunai-pool-${randomBytes(4).toString('hex')}`;
    const opened = openDatabase({ kind: 'postgres', url: `${testDatabaseUrl}?application_name=${applicationName}`, poolMax: 3 });
    const admin = new pg.Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    try {
      let most = 0;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const result = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
          most = Math.max(most, result.rows[0]?.n ?? 0);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => sql<{ i: number }>`select ${i}::int as i, pg_sleep(0.05)`.execute(opened.db)));
      watching = false;
      await watcher;
      assert.deepEqual(answers.map((answer) => answer.rows[0]?.i), Array.from({ length: 12 }, (_, i) => i), 'all twelve answered');
      assert.equal(most, 3, `at most three connections at once, and all three used (${most})`);
    } finally {
      await admin.end();
      await opened.db.destroy();
    }
  });
});

describe('a tunai process frozen inside a transaction [postgres]', () => {
  const idleInTransactionMs = 1_500;
  let world: InitialisedDatabase;
  let locks: pg.Client;

  before(async () => {
    world = await initialisedDatabase('postgres');
    locks = new pg.Client({ connectionString: testDatabaseUrl, options: `-c search_path=${world.database.target.kind === 'postgres' ? world.database.target.schema : ''}` });
    await locks.connect();
  });
  after(async () => {
    await locks.end().catch(() => undefined);
    await world.close();
  });

  test('PostgreSQL ends its transaction after TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS: another process is not held behind it, and the payment ends reversed', async () => {
    const env = { TUNAI_QUICKPAY_WAIT_MS: '0', TUNAI_CLOSED_LOOP_INTERVAL_MS: '0', TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS: String(idleInTransactionMs) };
    const frozen = await startClockedServe(world.database, env);
    const other = await startClockedServe(world.database, env);
    try {
      const orderId = 'frozen-0000';
      const body = {
        authCode: `13${String(5_500_000_001).padStart(12, '0')}0000`,
        order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 650 },
        ipAddress: '127.0.0.1',
        storeId: world.credentials.storeId,
      };
      // The frozen process records SUCCESS (locking the payment's row), then waits on the ledger, which we hold.
      await locks.query('begin');
      await locks.query('lock table ledger_entries in exclusive mode');
      const paying = clientFor(world.credentials, frozen).send('POST', '/v3/payment/quickpay', { body }).catch((error: unknown) => `lost: ${String(error)}`);
      await pollUntil('the outcome to wait on the ledger', async () => {
        const result = await locks.query<{ n: number }>("select count(*)::int as n from pg_locks where not granted and relation = 'ledger_entries'::regclass");
        return (result.rows[0]?.n ?? 0) > 0 ? true : undefined;
      });
      // Frozen mid-transaction: it cannot send its next statement or its commit. Then the ledger is free again.
      frozen.child.kill('SIGSTOP');
      await locks.query('rollback');

      // Marking the reverse wanted writes the payment's row, which the frozen transaction holds. Before, that waited
      // for as long as the process stayed frozen. Now PostgreSQL ends the idle transaction and the write goes on;
      // the payment's step lease (kept by the frozen process) still stands, so the reverse is answered as pending.
      const started = performance.now();
      const reversed = await answerWithin(clientFor(world.credentials, other).send('POST', '/v3/payment/reverse', { body: { orderId } }), 45_000);
      const waitedMs = performance.now() - started;
      assert.notEqual(reversed, 'no answer', 'the other process was not held behind the frozen one');
      const res = reversed as RawResponse;
      assert.equal(res.status, 400, res.rawText);
      assert.equal((res.body as { error: { code: string } }).error.code, 'FAILED_TO_REVERSE_ORDER', res.rawText);
      const held = await world.db.selectFrom('payment_transactions').select(['id', 'status', 'reverse_requested']).where('order_id', '=', orderId).executeTakeFirstOrThrow();
      assert.equal(Number(held.reverse_requested), 1, `the reverse request is stored (answered after ${Math.round(waitedMs)} ms)`);
      assert.equal(held.status, 'IN_PROCESS', 'the frozen SUCCESS was rolled back with its transaction');
      assert.deepEqual(await world.db.selectFrom('ledger_entries').select('kind').where('transaction_id', '=', held.id).execute(), [], 'and its PAYMENT entry with it');

      frozen.child.kill('SIGCONT');
      // Thawed, it finds its session ended: whatever it answers, it is not the SUCCESS it could not commit.
      const late = await answerWithin(paying, 20_000);
      if (typeof late !== 'string' && late.status === 200) {
        assert.notEqual((late.body as { item: { status: string } }).item.status, 'SUCCESS', late.rawText);
      }
      await killHard(frozen);

      // Once the frozen process's lease lapses, the other process's closed loop carries out the reverse.
      await advanceClock(other, 120);
      await pollUntil('the closed loop to reverse the payment', async () => {
        const response = await fetch(`${other.url}/sandbox/closed-loop/run`, { method: 'POST' });
        assert.equal(response.status, 200, await response.text());
        const row = await world.db.selectFrom('payment_transactions').select('status').where('id', '=', held.id).executeTakeFirstOrThrow();
        return row.status === 'REVERSED' ? true : undefined;
      });
      const wallet = await world.db.selectFrom('sim_wallet_orders').select('status').where('upstream_order_id', '=', held.id).executeTakeFirstOrThrow();
      assert.notEqual(wallet.status, 'SUCCESS', 'the wallet gave the money back');
      const check = await tunai(['ledger', 'check', '--json', ...world.database.configArgs]);
      assert.equal(check.code, 0, `ledger check: ${check.stdout}${check.stderr}`);
    } finally {
      frozen.child.kill('SIGCONT');
      await killHard(frozen);
      await killHard(other);
    }
  });
});
