// Test harness: a real tunai server on an ephemeral port over a fresh SQLite file or PostgreSQL schema.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import pg from 'pg';
import type { Kysely } from 'kysely';
import type { DestinationStream } from 'pino';
import { TunaiClient, type TunaiClientOptions } from '@tunai/client';
import { allScopes, type CreateQrCodeRequest, type CreateStoreRequest, type Scope } from '@tunai/client/contract';
import { createClientApp } from '../src/app/create-client-app.js';
import { createMerchant, type CreatedMerchant } from '../src/app/create-merchant.js';
import { ManualClock } from '../src/lib/clock.js';
import { loadConfig, type Config } from '../src/lib/config.js';
import { createIds, type Ids } from '../src/lib/ids.js';
import { createLogger } from '../src/lib/logger.js';
import { generateRsaKeyPairPem, type RsaKeyPairPem } from '../src/lib/rsa-keys.js';
import { openStorage, startServer, type RunningServer } from '../src/main.js';
import { openDatabase, type DatabaseTarget } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';

export type Dialect = 'sqlite' | 'postgres';
export const dialects: readonly Dialect[] = ['sqlite', 'postgres'];

/** PostgreSQL for tests; CI starts the local cluster (see .ci/run). */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs the suite once per storage dialect, so every storage-touching test covers both. */
export function forEachDialect(name: string, suite: (dialect: Dialect) => void): void {
  for (const dialect of dialects) describe(`${name} [${dialect}]`, () => suite(dialect));
}

export interface FreshDatabase {
  target: DatabaseTarget;
  /** The same database as a config would name it (for CLI tests). */
  configArgs: string[];
  drop(): Promise<void>;
}

export async function freshDatabase(dialect: Dialect): Promise<FreshDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tunai-test-'));
    return {
      target: { kind: 'sqlite', filePath: join(dir, 'tunai.db') },
      configArgs: ['--data', dir],
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  // pg reads `options` with decodeURIComponent, so the space must be %20 (not URLSearchParams' '+').
  const separator = testDatabaseUrl.includes('?') ? '&' : '?';
  const url = `${testDatabaseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    target: { kind: 'postgres', url: testDatabaseUrl, schema },
    configArgs: ['--database-url', url],
    drop: async () => {
      const client = new pg.Client({ connectionString: testDatabaseUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

/** Key generation costs ~100 ms; a small pool per test process keeps suites fast while keys stay distinct. */
const keyPool: Promise<RsaKeyPairPem>[] = [];
let nextKey = 0;
export function testKeyPair(): Promise<RsaKeyPairPem> {
  const index = nextKey++ % 6;
  keyPool[index] ??= generateRsaKeyPairPem();
  return keyPool[index] as Promise<RsaKeyPairPem>;
}

export interface TestServer {
  url: string;
  clock: ManualClock;
  running: RunningServer;
  config: Config;
  database: FreshDatabase;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** The server's id source, made from its clock (default: the production generator). */
  ids?: (clock: ManualClock) => Ids;
  /** Where the server logs, at the config's LOG_LEVEL (default: standard output). */
  logDestination?: DestinationStream;
  /** Changes the fresh database's target before the server opens it (e.g. to connect through a proxy). */
  reshapeTarget?: (target: DatabaseTarget) => DatabaseTarget;
}

export async function startTestServer(dialect: Dialect, env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const database = await freshDatabase(dialect);
  const clock = new ManualClock(Date.now());
  // Payments answer at once and the closed loop and outbox sweep run only when a test says so (after moving the clock).
  const config = loadConfig(
    {
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      TUNAI_QUICKPAY_WAIT_MS: '0',
      TUNAI_CLOSED_LOOP_INTERVAL_MS: '0',
      // Webhooks go out when a commit wakes the outbox or a test runs a sweep, never on a timer.
      TUNAI_OUTBOX_INTERVAL_MS: '0',
      ...env,
    },
    { port: '0', host: '127.0.0.1' },
  );
  const opened = await openStorage(options.reshapeTarget ? options.reshapeTarget(database.target) : database.target);
  const running = await startServer({ config, clock, ids: (options.ids ?? createIds)(clock), logger: createLogger(config.logLevel, options.logDestination), opened });
  return {
    url: running.url,
    clock,
    running,
    config,
    database,
    async close() {
      await running.close();
      await database.drop();
    },
  };
}

export interface Developer {
  merchant: CreatedMerchant;
  clientId: string;
  clientSecret: string;
  privateKeyPem: string;
  publicKeyPem: string;
  /** A client signing every /v3 call in RM's Go form with the test clock. */
  client: TunaiClient;
  /** Builds another client for the same app with different options (unsigned, ms timestamps …). */
  clientWith(options: Partial<TunaiClientOptions>): TunaiClient;
}

export interface DeveloperOptions {
  companyName?: string;
  scopes?: readonly Scope[];
  requireSignature?: boolean;
  redirectUris?: string[];
  withPublicKey?: boolean;
}

/** Onboards a merchant and an app through the same use cases as `tunai init`. */
export async function createDeveloper(server: TestServer, options: DeveloperOptions = {}): Promise<Developer> {
  const deps = server.running.deps;
  const keys = await testKeyPair();
  const merchant = await createMerchant(deps, { companyName: options.companyName ?? 'Test Merchant' });
  const { app, clientSecret } = await createClientApp(deps, {
    merchantId: merchant.merchant.id,
    publicKeyPem: options.withPublicKey === false ? null : keys.publicKeyPem,
    scopes: options.scopes ?? allScopes,
    requireSignature: options.requireSignature ?? false,
    redirectUris: options.redirectUris ?? [],
  });
  const base: TunaiClientOptions = {
    clientId: app.clientId,
    clientSecret,
    privateKeyPem: keys.privateKeyPem,
    oauthBaseUrl: server.url,
    openApiBaseUrl: server.url,
    nowMs: () => server.clock.nowMs(),
  };
  const clientWith = (overrides: Partial<TunaiClientOptions>) => new TunaiClient({ ...base, ...overrides });
  return {
    merchant,
    clientId: app.clientId,
    clientSecret,
    privateKeyPem: keys.privateKeyPem,
    publicKeyPem: keys.publicKeyPem,
    client: clientWith({}),
    clientWith,
  };
}

/** A suite's test server and a direct handle on its database; the fields are set once `before` ran. */
export interface ServerSuite {
  server: TestServer;
  db: Kysely<Database>;
}

/** Registers the hooks that start a test server (and open its database) before the suite's tests and close both after. */
export function serverSuite(dialect: Dialect): ServerSuite {
  const suite = {} as ServerSuite;
  before(async () => {
    suite.server = await startTestServer(dialect);
    suite.db = openDatabase(suite.server.database.target).db;
  });
  after(async () => {
    await suite.db.destroy();
    await suite.server.close();
  });
  return suite;
}

/** A suite's world: a test server, a direct handle on its database, and two merchants (the second proves isolation). */
export interface TwoMerchantSuite {
  server: TestServer;
  db: Kysely<Database>;
  dev: Developer;
  other: Developer;
}

/** Registers the hooks that open the suite's world before its tests and close it after; its fields are set once `before` ran. */
export function twoMerchantSuite(dialect: Dialect, companyNames: { dev: string; other: string }): TwoMerchantSuite {
  const suite = {} as TwoMerchantSuite;
  before(async () => {
    suite.server = await startTestServer(dialect);
    suite.db = openDatabase(suite.server.database.target).db;
    suite.dev = await createDeveloper(suite.server, { companyName: companyNames.dev });
    suite.other = await createDeveloper(suite.server, { companyName: companyNames.other });
  });
  after(async () => {
    await suite.db.destroy();
    await suite.server.close();
  });
  return suite;
}

/** A response read by rawRequest: status, headers, text and the parsed JSON when it parses. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/** node:http with an explicit content-length, so GET and DELETE can carry bodies (fetch cannot) and nothing is added. */
export function rawRequest(baseUrl: string, method: string, target: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const allHeaders: Record<string, string> = {
    ...(payload === undefined ? {} : { 'content-length': String(payload.length) }),
    ...headers,
  };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path: target, headers: allHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A valid store create body (every required field), named as the test needs. */
export function storeInput(name: string): CreateStoreRequest {
  return {
    name,
    addressLine1: 'No 1, Jalan Test',
    postCode: '50000',
    city: 'Kuala Lumpur',
    state: 'Wilayah Persekutuan',
    country: 'Malaysia',
    countryCode: '60',
    phoneNumber: '123456789',
  };
}

/** The keys of RM's Transaction object, sorted: every one present on every payment response. */
export const transactionKeys = [
  'balanceAmount',
  'createdAt',
  'currencyType',
  'error',
  'method',
  'order',
  'payee',
  'platform',
  'referenceId',
  'region',
  'status',
  'store',
  'terminalId',
  'transactionAt',
  'transactionId',
  'type',
  'updatedAt',
];

/** A valid Transaction QR create body: a permanent DYNAMIC QR for RM 5.00, every wallet. */
export function qrCodeInput(storeId: string, type: 'DYNAMIC' | 'STATIC' = 'DYNAMIC'): CreateQrCodeRequest {
  return {
    amount: 500,
    currencyType: 'MYR',
    expiry: { type: 'PERMANENT' },
    isPreFillAmount: true,
    method: [],
    order: { title: 'Vending', detail: 'slot B2' },
    redirectUrl: 'https://shop.example/qr',
    storeId,
    type,
  };
}

/** A seeded 32-bit PRNG (mulberry32): a fuzz loop driven by it is reproduced by its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A time as RM writes it on the wire (Go's RFC3339Nano: trailing zeros of the fraction dropped, and the dot with
 * them), written here independently of the server's formatter so the tests check it.
 */
export function rmTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d*?)0*Z$/, (_match, fraction: string) => (fraction ? `.${fraction}Z` : 'Z'));
}
