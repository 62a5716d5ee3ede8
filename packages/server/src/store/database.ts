// Opens the database (embedded SQLite file or PostgreSQL), tunes it, and runs migrations.
import BetterSqlite3 from 'better-sqlite3';
import {
  sql,
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type QueryResult,
  type DatabaseIntrospector,
  type DialectAdapter,
  type SqliteDatabase,
  type Driver,
} from 'kysely';
import pg from 'pg';
import { limits } from '@tunai/client/contract';
import { preparePrivateDatabaseFile } from '../lib/private-files.js';
import { boundedClientClass, type QueryBound } from './bounded-postgres-client.js';
import { CurrentSchemaIntrospector } from './current-schema-introspector.js';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

// BIGINT columns hold epoch milliseconds and minor units, all far below 2^53: read them as numbers.
pg.types.setTypeParser(20, (value: string) => Number(value));

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** The longest pause between tries of a statement refused with SQLITE_BUSY. */
const busyPauseMsMax = 50;
const isBusy = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'SQLITE_BUSY';

/**
 * better-sqlite3 runs on the event loop, so SQLite's own busy handler (busy_timeout) sleeps there: while another
 * process held the write lock (a long transaction, or a process frozen mid-write), every write here stopped the whole
 * process, health checks and timers included, for up to five seconds at a time. The main connection therefore runs
 * with busy_timeout 0, and a statement refused with SQLITE_BUSY (it did nothing) is tried again after an
 * asynchronous pause, doubling from 1 ms to 50 ms, until limits.sqliteBusyWaitMs has passed. Then the error stands
 * and the request fails as before. Only a process's own queries wait meanwhile (one connection per process).
 */
class BusyRetryingConnection implements DatabaseConnection {
  constructor(
    private readonly inner: DatabaseConnection,
    private readonly waitMs: number,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const giveUpAtMs = performance.now() + this.waitMs;
    for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, busyPauseMsMax)) {
      try {
        return await this.inner.executeQuery<R>(query);
      } catch (error) {
        if (!isBusy(error) || performance.now() >= giveUpAtMs) throw error;
        await sleepMs(pauseMs);
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * SQLite's default deferred BEGIN can fail with SQLITE_BUSY when two processes upgrade a read
 * transaction to a write at once; BEGIN IMMEDIATE takes the write lock up front and then waits
 * politely (BusyRetryingConnection) instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  private retrying: BusyRetryingConnection | null = null;

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    this.retrying ??= new BusyRetryingConnection(connection, limits.sqliteBusyWaitMs);
    return this.retrying;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/**
 * SQLite runs DDL inside transactions, but Kysely's adapter says it does not, so its migrator would run migrations
 * with no lock at all: two processes started together on a new data directory then both applied the same
 * migration, and one died ("duplicate column name"). Saying it does makes the migrator read what has been applied
 * and apply the rest in one BEGIN IMMEDIATE transaction: the second process waits for the first (busy_timeout),
 * then finds nothing left to do.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  private readonly sqliteConfig: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.sqliteConfig = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.sqliteConfig);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** PostgreSQL with introspection of the current schema only (see CurrentSchemaIntrospector). */
class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}

/** Kysely prepares every query anew; SQL text repeats, so reuse statements (the driver runs one query at a time). */
const cachedStatementsMax = 500;

function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let statement = statements.get(sqlText);
      if (!statement) {
        statement = sqlite.prepare(sqlText);
        if (statements.size >= cachedStatementsMax) statements.clear();
        statements.set(sqlText, statement);
      }
      return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}

export type DatabaseTarget =
  | { kind: 'sqlite'; filePath: string }
  | {
      kind: 'postgres';
      url: string;
      schema?: string;
      /** How long a query waits for a connection, free in the pool or new (default limits.databaseConnectTimeoutMsDefault). */
      connectTimeoutMs?: number;
      /** How long PostgreSQL lets a session idle inside a transaction (default limits.databaseIdleInTransactionMsDefault). */
      idleInTransactionMs?: number;
      /** How long a query may go unanswered before its connection is closed (default limits.databaseQueryTimeoutMsDefault). */
      queryTimeoutMs?: number;
      /** Connections this process keeps open at most (default limits.databasePoolMaxDefault). */
      poolMax?: number;
    };

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** The raw handle, for the few writes that batch below Kysely (SQLite only). */
  sqlite?: BetterSqlite3.Database;
  /**
   * Sets where a broken PostgreSQL connection is reported (a restart, a failover, an administrator's
   * pg_terminate_backend). The process carries on either way: the pool drops the connection and the next query
   * opens a new one. SQLite has no connections to lose, so it never reports.
   */
  onConnectionError(listener: (error: Error) => void): void;
  /** Runs work with no bound on how long a query may take (migrations); the bound applies again afterwards. */
  unbounded<T>(work: () => Promise<T>): Promise<T>;
}

/** What PostgreSQL shows in pg_stat_activity for tunai's connections unless the URL names its own application_name. */
const defaultApplicationName = 'tunai';

function namesApplication(url: string): boolean {
  try {
    return new URL(url).searchParams.has('application_name');
  } catch {
    return false;
  }
}

export function openDatabase(target: DatabaseTarget): OpenedDatabase {
  if (target.kind === 'sqlite') {
    if (target.filePath !== ':memory:') preparePrivateDatabaseFile(target.filePath);
    const sqlite = new BetterSqlite3(target.filePath);
    // Opening (switching a new file to WAL may need its lock) waits in SQLite's own busy handler, as nothing else
    // is served yet; queries then wait asynchronously instead (BusyRetryingConnection).
    sqlite.pragma(`busy_timeout = ${limits.sqliteBusyWaitMs}`);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across process crashes (only an OS crash can lose the last commits).
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 0');
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
    // better-sqlite3 runs in this process: a query cannot be left without an answer, so there is nothing to bound.
    return { db, dialect: 'sqlite', sqlite, onConnectionError: () => {}, unbounded: (work) => work() };
  }
  const queryBound: QueryBound = { ms: target.queryTimeoutMs ?? limits.databaseQueryTimeoutMsDefault };
  const pool = new pg.Pool({
    Client: boundedClientClass(queryBound) as unknown as pg.PoolConfig['Client'],
    connectionString: target.url,
    max: target.poolMax ?? limits.databasePoolMaxDefault,
    connectionTimeoutMillis: target.connectTimeoutMs ?? limits.databaseConnectTimeoutMsDefault,
    idle_in_transaction_session_timeout: target.idleInTransactionMs ?? limits.databaseIdleInTransactionMsDefault,
    ...(namesApplication(target.url) ? {} : { application_name: defaultApplicationName }),
    ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
  });
  let reportConnectionError: (error: Error) => void = () => {};
  // A connection that breaks emits 'error' on its client, and an idle one on the pool too. Node throws an
  // 'error' event nobody listens to, so without these listeners a PostgreSQL restart killed every tunai process.
  // A connection that breaks while checked out fails its next query, and the pool drops it when it comes back.
  pool.on('connect', (client) => client.on('error', (error) => reportConnectionError(error)));
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new CurrentSchemaPostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    onConnectionError: (listener) => {
      reportConnectionError = listener;
    },
    unbounded: async (work) => {
      const boundMs = queryBound.ms;
      queryBound.ms = 0;
      try {
        return await work();
      } finally {
        queryBound.ms = boundMs;
      }
    },
  };
}

export async function migrateToLatest(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one; with several tunai
  // schemas in one PostgreSQL database it would find another's, so name the current schema explicitly.
  let migrationTableSchema: string | undefined;
  if (dialect === 'postgres') {
    const result = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = result.rows[0]?.schema;
  }
  const migrator = new Migrator({ db, provider: migrationProvider(dialect), ...(migrationTableSchema ? { migrationTableSchema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`);
  }
}
