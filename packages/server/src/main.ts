// Composition root: config → storage → auth → HTTP and pages → background jobs; start and stop.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sql } from 'kysely';
import type { PaymentDeps } from './app/payment-deps.js';
import { runDuePayments } from './app/run-due-payments.js';
import type { Storage } from './app/ports.js';
import { loadServerKeys, type ServerKeys } from './auth/server-keys.js';
import { createAuthServices } from './auth/services.js';
import { startRsaWorker } from './auth/rsa-work.js';
import { buildHttpServer } from './http/app.js';
import { aheadOfWallClockMs, isMovable, monotonicMs, OffsetClock, sleepMs, systemClock, type Clock } from './lib/clock.js';
import type { Config } from './lib/config.js';
import { createIds, type Ids } from './lib/ids.js';
import { failureStreak } from './lib/failure-streak.js';
import { createLogger } from './lib/logger.js';
import { MissLimiter } from './lib/miss-limiter.js';
import { limits } from '@tunai/client/contract';
import { migrateToLatest, openDatabase, type DatabaseTarget } from './store/database.js';
import { createStorage } from './store/storage.js';
import { postgresRecordVersion, RecordCache, sqliteRecordVersion } from './store/record-cache.js';
import { nonceFilePath, startNonceWorker } from './store/nonce-claims.js';
import { postgresNonceClaims } from './store/postgres-nonce-claims.js';
import { createConnectorRegistry } from './providers/registry.js';
import { payerCancelScenario, payerOutcomes, WalletSimulator } from './providers/wallet-simulator.js';
import { registerConsentPages } from './web/consent-page.js';
import { registerPayerPages } from './web/payer-pages.js';
import { registerSandboxWalletPage } from './web/sandbox-wallet-page.js';
import { payerLookupGuard } from './web/payer-lookup-guard.js';
import { startDueAttempts } from './webhooks/deliver.js';
import { createOutboxWorker } from './webhooks/outbox-worker.js';
import { ReceiverSlots } from './webhooks/receiver-slots.js';
import { randomString } from './lib/ids.js';
import { randomFraction } from './lib/random.js';

export interface OpenedStorage {
  storage: Storage;
  ping: () => Promise<void>;
  /** Sets where a broken database connection is reported (see OpenedDatabase). */
  onConnectionError: (listener: (error: Error) => void) => void;
}

export function databaseTarget(
  config: Pick<Config, 'dataDir' | 'databaseUrl' | 'databaseConnectTimeoutMs' | 'databaseIdleInTransactionMs' | 'databaseQueryTimeoutMs' | 'databasePoolMax'>,
): DatabaseTarget {
  return config.databaseUrl
    ? {
        kind: 'postgres',
        url: config.databaseUrl,
        connectTimeoutMs: config.databaseConnectTimeoutMs,
        idleInTransactionMs: config.databaseIdleInTransactionMs,
        queryTimeoutMs: config.databaseQueryTimeoutMs,
        poolMax: config.databasePoolMax,
      }
    : { kind: 'sqlite', filePath: join(config.dataDir, 'tunai.db') };
}

/**
 * Whether the target already holds a tunai database: the SQLite file exists, or PostgreSQL's current schema has
 * tunai's migration table. Opening storage would create one (it migrates), which commands meant for an existing
 * database must not do.
 */
export async function holdsTunaiDatabase(target: DatabaseTarget): Promise<boolean> {
  if (target.kind === 'sqlite') return existsSync(target.filePath);
  const { db } = openDatabase(target);
  try {
    const result = await sql<{ present: boolean }>`
      select exists (select 1 from information_schema.tables where table_schema = current_schema() and table_name = 'kysely_migration') as present`.execute(db);
    return result.rows[0]?.present === true;
  } finally {
    await db.destroy();
  }
}

/** Opens the database and brings its schema up to date (migrations run on every start). */
export async function openStorage(target: DatabaseTarget): Promise<OpenedStorage> {
  const { db, dialect, sqlite, onConnectionError, unbounded } = openDatabase(target);
  try {
    await unbounded(() => migrateToLatest(db, dialect));
  } catch (error) {
    await db.destroy();
    throw error;
  }
  // Nonces: SQLite spends them on a worker thread in a file of their own, PostgreSQL in per-turn statements.
  const nonceClaims = target.kind === 'sqlite' ? startNonceWorker(nonceFilePath(target.filePath)) : postgresNonceClaims(db);
  const storage = createStorage(
    db,
    dialect,
    async () => {
      await nonceClaims.close();
      await db.destroy();
    },
    {
      nonceClaims,
      recordCache: new RecordCache(sqlite ? sqliteRecordVersion(sqlite) : postgresRecordVersion(db), monotonicMs),
    },
  );
  return { storage, ping: async () => void (await sql`select 1`.execute(db)), onConnectionError };
}

export interface RunningServer {
  url: string;
  port: number;
  storage: Storage;
  serverKeys: ServerKeys;
  deps: PaymentDeps;
  logger: Logger;
  /** One closed-loop tick now (tests call it after moving the clock). */
  runClosedLoop(): Promise<number>;
  /** One webhook delivery sweep that starts after this call; resolves to the attempts it made. */
  runOutbox(): Promise<number>;
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
const expiredRowsPurgeIntervalMs = 60_000;

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config } = options;
  // The sandbox's clock can be moved forward (POST /sandbox/clock) to reach payment deadlines without waiting.
  // Its offset is shared through the database (see syncClock), unless a test brings its own clock.
  const sharedClock = options.clock === undefined && config.sandbox ? new OffsetClock() : null;
  const clock: Clock = options.clock ?? sharedClock ?? systemClock;
  const ids = options.ids ?? createIds(clock);
  const logger = options.logger ?? createLogger(config.logLevel);
  const opened = options.opened ?? (await openStorage(databaseTarget(config)));
  const { storage } = opened;
  opened.onConnectionError((error) =>
    logger.warn({ err: error }, 'a database connection broke; the pool dropped it and the next query opens a new one'),
  );
  // A restarted process, and every other one on the database, runs at the sandbox time already reached.
  // Each call is answered by a read that starts no earlier than the call, so it sees every move committed before it;
  // calls made while a read is under way share the one queued behind it (a burst makes two reads, not one each).
  let clockRead: Promise<void> | null = null;
  let queuedClockRead: Promise<void> | null = null;
  const readClock = (shared: OffsetClock): Promise<void> => {
    const read = storage.sandboxClock
      .offsetMs()
      .then((offsetMs) => shared.adoptOffsetMs(offsetMs))
      .finally(() => {
        if (clockRead === read) clockRead = null;
      });
    clockRead = read;
    return read;
  };
  const syncClock = (): Promise<void> => {
    if (!sharedClock) return Promise.resolve();
    if (queuedClockRead) return queuedClockRead;
    if (!clockRead) return readClock(sharedClock);
    queuedClockRead = clockRead
      .catch(() => undefined)
      .then(() => {
        queuedClockRead = null;
        return readClock(sharedClock);
      });
    return queuedClockRead;
  };
  await syncClock();
  const advanceClock = async (deltaMs: number): Promise<'moved' | 'fixed' | 'too-far'> => {
    const offsetMaxMs = limits.sandboxClockOffsetSecondsMax * 1000;
    if (sharedClock) {
      const offsetMs = await storage.sandboxClock.advance(deltaMs, offsetMaxMs);
      if (offsetMs === null) return 'too-far';
      sharedClock.adoptOffsetMs(offsetMs);
      return 'moved';
    }
    if (!isMovable(clock)) return 'fixed';
    if (aheadOfWallClockMs(clock) + deltaMs > offsetMaxMs) return 'too-far';
    clock.advanceMs(deltaMs);
    return 'moved';
  };
  const serverKeys = await loadServerKeys(storage, clock);
  const rsa = startRsaWorker((error) =>
    logger.warn({ err: error }, 'RSA worker stopped; opening signatures and signing tokens on the event loop from now on'),
  );
  const { guard, oauth } = createAuthServices(storage, clock, ids, serverKeys, {
    rsa,
    issuer: config.publicUrls[0] ?? 'tunai',
    lifetimes: { accessTokenTtlSeconds: config.accessTokenTtlSeconds, refreshTokenTtlSeconds: config.refreshTokenTtlSeconds },
    timestampWindowSeconds: config.timestampWindowSeconds,
    sandbox: config.sandbox,
    ...(sharedClock ? { catchUpClock: syncClock } : {}),
  });
  const simulator = new WalletSimulator(storage.walletSimulator, clock, { payerScreen: config.sandbox });
  const connectors = createConnectorRegistry([simulator]);
  // Notify webhooks leave from the outbox: swept on an interval, woken after commits, run on demand (sandbox, tests).
  // Sweeps only claim; attempts run on their own, at most webhookInFlightMax at once in this process.
  const receiverSlots = new ReceiverSlots(limits.webhookInFlightPerReceiverMax);
  const outbox = createOutboxWorker({
    startDue: (slots) =>
      startDueAttempts(
        {
          storage,
          clock,
          ids,
          logger,
          privateKey: serverKeys.privateKey,
          timeoutMs: config.webhookTimeoutMs,
          outboundPolicy: config.outbound,
          random: randomFraction,
          nonce: () => randomString(32),
          receiverSlots,
        },
        slots,
      ),
    inFlightMax: limits.webhookInFlightMax,
    intervalMs: config.outboxIntervalMs,
    logger,
  });
  const deps: PaymentDeps = {
    storage,
    clock,
    ids,
    connectors,
    payments: {
      quickPayWaitMs: config.quickPayWaitMs,
      leaseMs: limits.paymentStepLeaseMs,
      reverseWindowMs: limits.reverseWindowMs,
      reverseWaitMs: limits.reverseWaitMsMax,
      refundRetryMs: limits.refundRetryMs,
      sleep: sleepMs,
    },
    publicBaseUrl: config.publicUrls[0] ?? `http://localhost:${config.port}`,
    outboundPolicy: config.outbound,
    wakeOutbox: () => outbox.wake(),
  };
  // One tick at a time per process: a slow tick is not overlapped by the next.
  let tickInFlight: Promise<number> | null = null;
  const runClosedLoop = (): Promise<number> => {
    tickInFlight ??= runDuePayments(deps).finally(() => {
      tickInFlight = null;
    });
    return tickInFlight;
  };
  const { server, routes, dropArrivingRequests } = buildHttpServer({
    app: deps,
    guard,
    oauth,
    logger,
    pingDatabase: opened.ping,
    newRequestId: () => randomString(24),
    signSha256: (data, privateKey) => rsa.signSha256(data, privateKey),
    sandbox: config.sandbox
      ? { advanceClock, syncClock, runClosedLoop, runOutbox: () => outbox.runOnce(), controlKeySha256: config.sandboxControlKeySha256, behindProxy: config.trustProxy !== false }
      : null,
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
  const payerLookups = payerLookupGuard(
    new MissLimiter({
      missesMax: limits.payerLookupMissesMax,
      windowMs: limits.payerLookupMissWindowMs,
      callersMax: limits.payerLookupCallersMax,
      busyRetryMs: limits.payerLookupBusyRetryMs,
      nowMs: monotonicMs,
    }),
  );
  registerPayerPages(server, routes, deps, payerLookups);
  // The simulated wallet screen exists only in the sandbox: a production gateway's payers confirm in real wallets.
  if (config.sandbox) registerSandboxWalletPage(server, routes, deps, simulator, payerOutcomes, payerCancelScenario, payerLookups);

  await server.listen({ port: config.port, host: config.host });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // Without a configured public URL, links in pages and API answers point at the port actually bound.
  if (!config.publicUrlsConfigured) {
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
    deps.publicBaseUrl = `http://${host}:${port}`;
  }

  // By the shared sandbox clock, only as of a move every process has read: a process still at the old time would
  // otherwise accept a replay whose nonce (or Idempotency-Key) this one had just purged by the moved time.
  const purgeNowMs = (): number => (sharedClock ? sharedClock.settledNowMs(limits.sandboxClockSettleMs) : clock.nowMs());
  const purge = setInterval(() => {
    storage.nonces.purgeExpired(purgeNowMs()).catch((error: unknown) => {
      logger.warn({ err: error }, 'nonce purge failed');
    });
    storage.idempotency.purgeExpired(purgeNowMs()).catch((error: unknown) => {
      logger.warn({ err: error }, 'idempotency key purge failed');
    });
  }, expiredRowsPurgeIntervalMs);
  purge.unref();
  // The closed loop resumes whatever a previous process left IN_PROCESS: state lives in the database.
  const closedLoopFailures = failureStreak({ logger, what: 'closed-loop tick', nowMs: monotonicMs, repeatEveryMs: limits.backgroundFailureLogRepeatMs });
  const loop = config.closedLoopIntervalMs > 0 ? setInterval(() => closedLoopFailures.watch(runClosedLoop()), config.closedLoopIntervalMs) : null;
  loop?.unref();
  outbox.start();
  // Another process may move the sandbox clock: its new time reaches this process's loops within one refresh.
  const clockFailures = failureStreak({ logger, what: 'sandbox clock read', nowMs: monotonicMs, repeatEveryMs: limits.backgroundFailureLogRepeatMs });
  const clockRefresh = sharedClock ? setInterval(() => clockFailures.watch(syncClock()), limits.sandboxClockRefreshMs) : null;
  clockRefresh?.unref();

  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    storage,
    serverKeys,
    deps,
    logger,
    runClosedLoop,
    runOutbox: () => outbox.runOnce(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      if (loop) clearInterval(loop);
      if (clockRefresh) clearInterval(clockRefresh);
      // A delivery in flight finishes (bounded by the webhook timeout) so its attempt is recorded, not left to a lease.
      await outbox.close();
      await tickInFlight?.catch(() => 0);
      // Fastify stops accepting and lets in-flight requests finish, then the database closes. Node closes the sockets
      // that are idle when closing starts; a request still in flight keeps its keep-alive socket open after its answer
      // (which says Connection: close, see app.ts) until the client's idle timeout, so idle sockets are dropped as they
      // appear, and closing ends as soon as the last answer is out.
      // A request still arriving after a grace period (an upload that stalled) is dropped: it could never be answered.
      const closing = server.close();
      const closingStartedMs = monotonicMs();
      const reaper = setInterval(() => {
        server.server.closeIdleConnections();
        if (monotonicMs() - closingStartedMs >= limits.shutdownArrivalGraceMs) dropArrivingRequests();
      }, limits.shutdownIdleSweepMs);
      try {
        await closing;
      } finally {
        clearInterval(reaper);
      }
      await rsa.close();
      await storage.close();
    },
  };
}
