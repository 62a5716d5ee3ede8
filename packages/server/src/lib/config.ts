// Runtime configuration from flags and environment, with defaults and validation in one place.
import { isIP } from 'node:net';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { limits } from '@tunai/client/contract';

export interface Config {
  port: number;
  host: string;
  /** SQLite lives here (tunai.db) unless databaseUrl points at PostgreSQL. */
  dataDir: string;
  databaseUrl: string | null;
  /** PostgreSQL: how long a query waits for a connection before failing (TUNAI_DATABASE_CONNECT_TIMEOUT_MS). */
  databaseConnectTimeoutMs: number;
  /** PostgreSQL: a session idle inside a transaction this long is ended (TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS). */
  databaseIdleInTransactionMs: number;
  /** PostgreSQL: a query unanswered this long closes its connection (TUNAI_DATABASE_QUERY_TIMEOUT_MS). */
  databaseQueryTimeoutMs: number;
  /** PostgreSQL: connections this process keeps at most (TUNAI_DATABASE_POOL_MAX). */
  databasePoolMax: number;
  /** Public base URL(s) clients use to reach tunai; the first is printed and used for links. */
  publicUrls: string[];
  /** False when publicUrls is only the default guess (http://localhost:PORT); links then follow the bound port. */
  publicUrlsConfigured: boolean;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  timestampWindowSeconds: number;
  /** Sandbox mode: debug detail in signature errors. */
  sandbox: boolean;
  /**
   * SHA-256 of TUNAI_SANDBOX_CONTROL_KEY, the key a caller sends as X-Sandbox-Key to move the sandbox clock or run the
   * background work from another machine; null when unset, and then only loopback callers may.
   */
  sandboxControlKeySha256: Buffer | null;
  /**
   * TUNAI_TRUST_PROXY: false (no proxy: the socket's peer is the caller), true (one proxy in front, whatever its
   * address: the last X-Forwarded-For entry is the caller), or the proxies' own addresses and CIDR ranges (only a
   * request from one of them is believed, and the caller is the nearest X-Forwarded-For entry not among them).
   */
  trustProxy: boolean | readonly string[];
  logLevel: string;
  /** How long POST /v3/payment/quickpay waits for a final result before answering IN_PROCESS. */
  quickPayWaitMs: number;
  /** How often the closed loop looks for due payments; 0 turns it off (another process runs it). */
  closedLoopIntervalMs: number;
  /** How often the outbox is swept for due webhooks; 0 turns the sweep off (wake-ups after a commit still deliver). */
  outboxIntervalMs: number;
  /** A webhook attempt that has no answer by then has failed. */
  webhookTimeoutMs: number;
  /**
   * Which guarded ranges outbound calls (notify webhooks) may reach; the shape of domain/outbound-url.ts OutboundPolicy
   * (lib sits below domain, so it is spelled out here). Link-local and metadata: TUNAI_OUTBOUND_ALLOW_LINK_LOCAL,
   * default false. Loopback and private networks: TUNAI_OUTBOUND_ALLOW_PRIVATE, default the sandbox setting (sandbox
   * users run receivers on their own machine; in production a failed delivery's answer would show internal services).
   */
  outbound: { allowLinkLocal: boolean; allowPrivate: boolean };
}

export interface ConfigOverrides {
  port?: string | undefined;
  host?: string | undefined;
  data?: string | undefined;
  databaseUrl?: string | undefined;
  publicUrls?: string[] | undefined;
}

function integerSetting(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

/** proxy-addr's names for ranges, accepted alongside addresses and CIDR ranges. */
const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustProxySetting(raw: string | undefined): boolean | readonly string[] {
  if (raw === undefined || raw === '') return false;
  if (isBooleanWord(raw)) return booleanSetting('TUNAI_TRUST_PROXY', raw, false);
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw new Error(`TUNAI_TRUST_PROXY must be true, false, or the proxies' addresses and CIDR ranges (got "${raw}")`);
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    // A /0 range would trust every peer, which `true` says more plainly (and proxy-addr refuses it).
    const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!proxyRangeNames.has(entry) && (family === 0 || !prefixOk || extra !== undefined)) {
      throw new Error(
        `TUNAI_TRUST_PROXY must be true, false, or the proxies' addresses and CIDR ranges (e.g. "10.0.0.5,10.1.0.0/16", or loopback, linklocal, uniquelocal); "${entry}" is none of them`,
      );
    }
  }
  return entries;
}

const trueWords = ['1', 'true', 'yes', 'on'];
const falseWords = ['0', 'false', 'no', 'off'];

function isBooleanWord(raw: string): boolean {
  return trueWords.includes(raw.toLowerCase()) || falseWords.includes(raw.toLowerCase());
}

function booleanSetting(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (trueWords.includes(raw.toLowerCase())) return true;
  if (falseWords.includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false (got "${raw}")`);
}

/** pino's own levels, and `silent`, which logs nothing. */
const logLevels = [...Object.keys(pino.levels.values), 'silent'];

function logLevelSetting(raw: string | undefined): string {
  if (raw === undefined || raw === '') return 'info';
  if (!logLevels.includes(raw)) throw new Error(`LOG_LEVEL must be one of ${logLevels.join(', ')} (got "${raw}")`);
  return raw;
}

/** The sandbox control key is kept only as its SHA-256; a short one or one with characters a header cannot carry is refused. */
function controlKeySetting(raw: string | undefined): Buffer | null {
  if (raw === undefined || raw === '') return null;
  const { sandboxControlKeyCharsMin: min, sandboxControlKeyCharsMax: max } = limits;
  if (raw.length < min || raw.length > max || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new Error(`TUNAI_SANDBOX_CONTROL_KEY must be ${min} to ${max} visible ASCII characters`);
  }
  return createHash('sha256').update(raw, 'utf8').digest();
}

function urlList(name: string, values: string[]): string[] {
  for (const value of values) {
    if (!/^https?:\/\//.test(value) || !URL.canParse(value)) throw new Error(`${name} must be absolute http(s) URLs (got "${value}")`);
  }
  return values.map((v) => v.replace(/\/+$/, ''));
}

export function loadConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): Config {
  const port = integerSetting('PORT', overrides.port ?? env.PORT, 8080, 0, 65_535);
  const host = overrides.host ?? env.HOST ?? '0.0.0.0';
  const fromEnv = (env.TUNAI_PUBLIC_URL ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const publicUrls = urlList('TUNAI_PUBLIC_URL', overrides.publicUrls?.length ? overrides.publicUrls : fromEnv);
  const sandbox = booleanSetting('TUNAI_SANDBOX', env.TUNAI_SANDBOX, true);
  return {
    port,
    host,
    dataDir: resolve(overrides.data ?? env.TUNAI_DATA_DIR ?? './data'),
    databaseUrl: overrides.databaseUrl ?? env.DATABASE_URL ?? null,
    databaseConnectTimeoutMs: integerSetting(
      'TUNAI_DATABASE_CONNECT_TIMEOUT_MS',
      env.TUNAI_DATABASE_CONNECT_TIMEOUT_MS,
      limits.databaseConnectTimeoutMsDefault,
      1,
      limits.databaseConnectTimeoutMsMax,
    ),
    databaseIdleInTransactionMs: integerSetting(
      'TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS',
      env.TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS,
      limits.databaseIdleInTransactionMsDefault,
      1,
      limits.databaseIdleInTransactionMsMax,
    ),
    databaseQueryTimeoutMs: integerSetting(
      'TUNAI_DATABASE_QUERY_TIMEOUT_MS',
      env.TUNAI_DATABASE_QUERY_TIMEOUT_MS,
      limits.databaseQueryTimeoutMsDefault,
      1,
      limits.databaseQueryTimeoutMsMax,
    ),
    databasePoolMax: integerSetting('TUNAI_DATABASE_POOL_MAX', env.TUNAI_DATABASE_POOL_MAX, limits.databasePoolMaxDefault, 1, limits.databasePoolMaxMax),
    publicUrls: publicUrls.length > 0 ? publicUrls : [`http://localhost:${port}`],
    publicUrlsConfigured: publicUrls.length > 0,
    accessTokenTtlSeconds: integerSetting(
      'TUNAI_ACCESS_TOKEN_TTL_SECONDS',
      env.TUNAI_ACCESS_TOKEN_TTL_SECONDS,
      limits.accessTokenTtlSecondsDefault,
      60,
      limits.tokenTtlSecondsMax,
    ),
    refreshTokenTtlSeconds: integerSetting(
      'TUNAI_REFRESH_TOKEN_TTL_SECONDS',
      env.TUNAI_REFRESH_TOKEN_TTL_SECONDS,
      limits.refreshTokenTtlSecondsDefault,
      60,
      limits.tokenTtlSecondsMax,
    ),
    timestampWindowSeconds: integerSetting(
      'TUNAI_TIMESTAMP_WINDOW_SECONDS',
      env.TUNAI_TIMESTAMP_WINDOW_SECONDS,
      limits.timestampWindowSecondsDefault,
      1,
      86_400,
    ),
    sandbox,
    sandboxControlKeySha256: controlKeySetting(env.TUNAI_SANDBOX_CONTROL_KEY),
    trustProxy: trustProxySetting(env.TUNAI_TRUST_PROXY),
    logLevel: logLevelSetting(env.LOG_LEVEL),
    quickPayWaitMs: integerSetting('TUNAI_QUICKPAY_WAIT_MS', env.TUNAI_QUICKPAY_WAIT_MS, limits.quickPayWaitMsDefault, 0, 120_000),
    closedLoopIntervalMs: integerSetting(
      'TUNAI_CLOSED_LOOP_INTERVAL_MS',
      env.TUNAI_CLOSED_LOOP_INTERVAL_MS,
      limits.closedLoopIntervalMsDefault,
      0,
      3_600_000,
    ),
    outboxIntervalMs: integerSetting('TUNAI_OUTBOX_INTERVAL_MS', env.TUNAI_OUTBOX_INTERVAL_MS, limits.outboxIntervalMsDefault, 0, 3_600_000),
    webhookTimeoutMs: integerSetting(
      'TUNAI_WEBHOOK_TIMEOUT_MS',
      env.TUNAI_WEBHOOK_TIMEOUT_MS,
      limits.webhookTimeoutMsDefault,
      1,
      limits.webhookTimeoutMsMax,
    ),
    outbound: {
      allowLinkLocal: booleanSetting('TUNAI_OUTBOUND_ALLOW_LINK_LOCAL', env.TUNAI_OUTBOUND_ALLOW_LINK_LOCAL, false),
      allowPrivate: booleanSetting('TUNAI_OUTBOUND_ALLOW_PRIVATE', env.TUNAI_OUTBOUND_ALLOW_PRIVATE, sandbox),
    },
  };
}
