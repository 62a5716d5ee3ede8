// Composition root: config → storage → auth → HTTP and pages → background jobs; start and stop.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sql } from 'kysely';
import type { AppDeps } from './app/deps.js';
import type { Storage } from './app/ports.js';
import { loadServerKeys, type ServerKeys } from './auth/server-keys.js';
import { createAuthServices } from './auth/services.js';
import { buildHttpServer } from './http/app.js';
import { systemClock, type Clock } from './lib/clock.js';
import type { Config } from './lib/config.js';
import { createIds, type Ids } from './lib/ids.js';
import { createLogger } from './lib/logger.js';
import { limits } from '@tunai/client/contract';
import { migrateToLatest, openDatabase, type DatabaseTarget } from './store/database.js';
import { SqliteNonceBatcher } from './store/nonce-batcher.js';
import { createStorage } from './store/storage.js';
import { registerConsentPages } from './web/consent-page.js';

export interface OpenedStorage {
  storage: Storage;
  ping: () => Promise<void>;
}

export function databaseTarget(config: Pick<Config, 'dataDir' | 'databaseUrl'>): DatabaseTarget {
  return config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl }
    : { kind: 'sqlite', filePath: join(config.dataDir, 'tunai.db') };
}

/** Opens the database and brings its schema up to date (migrations run on every start). */
export async function openStorage(target: DatabaseTarget): Promise<OpenedStorage> {
  const { db, dialect, sqlite } = openDatabase(target);
  try {
    await migrateToLatest(db, dialect);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const storage = createStorage(db, dialect, () => db.destroy(), sqlite ? new SqliteNonceBatcher(db, sqlite) : undefined);
  return { storage, ping: async () => void (await sql`select 1`.execute(db)) };
}

export interface RunningServer {
  url: string;
  port: number;
  storage: Storage;
  serverKeys: ServerKeys;
  deps: AppDeps;
  logger: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  clock?: Clock;
  ids?: Ids;
  logger?: Logger;
  /** An already-open storage (tests share one with their fixtures); otherwise opened from config. */
  opened?: OpenedStorage;
}

/** How often expired nonces are swept; they are harmless meanwhile (the claim ignores expired rows). */
const noncePurgeIntervalMs = 60_000;

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? createIds(clock);
  const logger = options.logger ?? createLogger(config.logLevel);
  const opened = options.opened ?? (await openStorage(databaseTarget(config)));
  const { storage } = opened;
  const serverKeys = await loadServerKeys(storage, clock);
  const { guard, oauth } = createAuthServices(storage, clock, ids, serverKeys, {
    issuer: config.publicUrls[0] ?? 'tunai',
    lifetimes: { accessTokenTtlSeconds: config.accessTokenTtlSeconds, refreshTokenTtlSeconds: config.refreshTokenTtlSeconds },
    timestampWindowSeconds: config.timestampWindowSeconds,
    sandbox: config.sandbox,
  });
  const deps: AppDeps = { storage, clock, ids };
  const { server, routes } = buildHttpServer({
    app: deps,
    guard,
    oauth,
    logger,
    pingDatabase: opened.ping,
    config: {
      publicUrls: config.publicUrls,
      bodyLimitBytes: limits.requestBodyBytesMax,
      trustProxy: config.trustProxy,
      requestTimeoutMs: 60_000,
    },
  });
  registerConsentPages(server, oauth);
  routes.add('GET', '/authorize');
  routes.add('POST', '/authorize');

  await server.listen({ port: config.port, host: config.host });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  const purge = setInterval(() => {
    storage.nonces.purgeExpired(clock.nowMs()).catch((error: unknown) => {
      logger.warn({ err: error }, 'nonce purge failed');
    });
  }, noncePurgeIntervalMs);
  purge.unref();

  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    storage,
    serverKeys,
    deps,
    logger,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      // Fastify stops accepting, lets in-flight requests finish, then the database closes.
      await server.close();
      await storage.close();
    },
  };
}
