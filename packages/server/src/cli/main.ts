// The `tunai` command line: serve, start (demo), init, app create / activate / deactivate, merchant activate /
// deactivate, ledger check, webhooks.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allScopes, limits, type Scope, type WebhookEvent } from '@tunai/client/contract';
import { checkLedger } from '../app/check-ledger.js';
import { getWebhookEvent } from '../app/get-webhook-event.js';
import { listWebhookEvents } from '../app/list-webhook-events.js';
import type { OutboxStatus } from '../app/outbox-ports.js';
import { resendWebhookEvent } from '../app/resend-webhook-event.js';
import { presentWebhookEvent } from '../app/webhook-event-view.js';
import { createClientApp } from '../app/create-client-app.js';
import { setAppActive } from '../app/set-app-active.js';
import { setMerchantActive } from '../app/set-merchant-active.js';
import { onboardDeveloper } from '../app/onboard-developer.js';
import { loadServerKeys } from '../auth/server-keys.js';
import { parseScopeList } from '../domain/scopes.js';
import { CatalogError } from '../lib/catalog-error.js';
import { systemClock } from '../lib/clock.js';
import { loadConfig, type Config } from '../lib/config.js';
import { createIds } from '../lib/ids.js';
import { makeDirectory } from '../lib/private-files.js';
import { generateRsaKeyPairPem } from '../lib/rsa-keys.js';
import { databaseTarget, holdsTunaiDatabase, openStorage, startServer, type OpenedStorage, type RunningServer } from '../main.js';
import { QueryUnansweredError } from '../store/bounded-postgres-client.js';

const usage = `tunai — a self-hostable gateway that speaks the Revenue Monster Open API

Usage:
  tunai start [--port 8080] [--data ./data | --database-url URL]
                                   serve the embedded default; on first run create a demo merchant and print its credentials
  tunai serve [--port 8080] [--host 0.0.0.0] [--data ./data | --database-url URL] [--public-url URL]...
  tunai init  [--data DIR | --database-url URL] [--base-url URL] [--company NAME] [--json]
  tunai app create --merchant ID --public-key FILE [--name NAME] [--scopes a,b] [--redirect-uri URL]... [--require-signature] [--json]
                   [--data DIR | --database-url URL]
  tunai app activate|deactivate CLIENT_ID [--json] [--data DIR | --database-url URL]
  tunai merchant activate|deactivate MERCHANT_ID [--json] [--data DIR | --database-url URL]
                                   switch an app or a whole merchant off (no tokens, every /v3 call refused) or on again
  tunai ledger check [--data DIR | --database-url URL] [--json]
                                   verify every ledger invariant; exit 1 on any violation
  tunai webhooks list [--status PENDING|DELIVERED|FAILED] [--limit N] [--json] [--data DIR | --database-url URL]
  tunai webhooks show ID [--json] [--data DIR | --database-url URL]
                                   one notify webhook with every delivery attempt
  tunai webhooks resend ID [--json] [--data DIR | --database-url URL]
                                   deliver again (same event id and body) on the running server's next sweep

Environment: PORT, HOST, TUNAI_DATA_DIR, DATABASE_URL, TUNAI_DATABASE_CONNECT_TIMEOUT_MS,
  TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS, TUNAI_DATABASE_QUERY_TIMEOUT_MS, TUNAI_DATABASE_POOL_MAX,
  TUNAI_PUBLIC_URL (comma-separated), LOG_LEVEL,
  TUNAI_ACCESS_TOKEN_TTL_SECONDS, TUNAI_REFRESH_TOKEN_TTL_SECONDS, TUNAI_TIMESTAMP_WINDOW_SECONDS, TUNAI_SANDBOX, TUNAI_TRUST_PROXY,
  TUNAI_QUICKPAY_WAIT_MS, TUNAI_CLOSED_LOOP_INTERVAL_MS, TUNAI_OUTBOX_INTERVAL_MS, TUNAI_WEBHOOK_TIMEOUT_MS,
  TUNAI_OUTBOUND_ALLOW_LINK_LOCAL, TUNAI_OUTBOUND_ALLOW_PRIVATE`;

const storageOptions = {
  data: { type: 'string' },
  'database-url': { type: 'string' },
} as const;

/** Bad input the user can fix: printed as one line (no stack), exit code 2 like any other usage error. */
class UsageError extends Error {}

function configFrom(values: { port?: string; host?: string; data?: string; 'database-url'?: string; 'public-url'?: string[] }): Config {
  if (values.data !== undefined && values['database-url'] !== undefined) {
    throw new UsageError('give --data (SQLite) or --database-url (PostgreSQL), not both');
  }
  // An explicit --data means SQLite in that directory, even when DATABASE_URL is set in the environment.
  const env = values.data !== undefined ? { ...process.env, DATABASE_URL: undefined } : process.env;
  try {
    return loadConfig(env, {
      port: values.port,
      host: values.host,
      data: values.data,
      databaseUrl: values['database-url'],
      publicUrls: values['public-url'],
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Commands that read or change what `tunai init` / `tunai start` made must not create an empty database where none
 * was: a mistyped --data or --database-url would otherwise pass a ledger check on nothing, or leave tunai's tables
 * in a database that was never tunai's.
 */
async function openExistingStorage(values: { data?: string; 'database-url'?: string }): Promise<OpenedStorage> {
  const target = databaseTarget(configFrom(values));
  if (!(await holdsTunaiDatabase(target))) {
    const where = target.kind === 'sqlite' ? `at ${target.filePath}` : 'in the PostgreSQL schema --database-url / DATABASE_URL names';
    throw new UsageError(`no tunai database ${where} (run tunai init or tunai start first, or pass --data DIR or --database-url URL)`);
  }
  return openStorage(target);
}

function waitForShutdown(running: RunningServer): Promise<number> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      running.logger.info({ signal }, 'shutting down');
      running.close().then(
        () => resolve(0),
        (error: unknown) => {
          running.logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'public-url': { type: 'string', multiple: true },
      ...storageOptions,
    },
  });
  const running = await startServer({ config: configFrom(values) });
  running.logger.info({ url: running.url }, 'tunai listening');
  return waitForShutdown(running);
}

/** What `tunai init --json` prints (and `tunai start` saves). */
export interface Credentials {
  merchantId: string;
  storeId: string;
  userId: string;
  clientId: string;
  clientSecret: string;
  privateKey: string;
  publicKey: string;
  serverPublicKey: string;
  baseUrl: string;
}

function describeCredentials(c: Credentials): string {
  return [
    `merchantId       ${c.merchantId}`,
    `storeId          ${c.storeId}`,
    `userId           ${c.userId}`,
    `clientId         ${c.clientId}`,
    `clientSecret     ${c.clientSecret}`,
    `baseUrl          ${c.baseUrl}   (OAuth: ${c.baseUrl}/v1/token, Open API: ${c.baseUrl}/v3/…)`,
    '',
    'Your private key (sign requests with it; tunai keeps only the public half):',
    c.privateKey.trim(),
    '',
    'Your public key (registered with the app):',
    c.publicKey.trim(),
    '',
    'Server public key (verify tunai callbacks with it):',
    c.serverPublicKey.trim(),
  ].join('\n');
}

async function createCredentials(config: Config, baseUrl: string, companyName: string): Promise<Credentials> {
  const opened = await openStorage(databaseTarget(config));
  try {
    const clock = systemClock;
    const deps = { storage: opened.storage, clock, ids: createIds(clock) };
    const serverKeys = await loadServerKeys(opened.storage, clock);
    const keyPair = await generateRsaKeyPairPem();
    const onboarded = await onboardDeveloper(deps, { companyName, publicKeyPem: keyPair.publicKeyPem });
    return {
      ...onboarded,
      privateKey: keyPair.privateKeyPem,
      publicKey: keyPair.publicKeyPem,
      serverPublicKey: serverKeys.publicKeyPem,
      baseUrl,
    };
  } finally {
    await opened.storage.close();
  }
}

async function init(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...storageOptions, 'base-url': { type: 'string' }, company: { type: 'string' }, json: { type: 'boolean' } },
  });
  const config = configFrom(values);
  const givenBaseUrl = values['base-url'];
  if (givenBaseUrl !== undefined && (!/^https?:\/\//.test(givenBaseUrl) || !URL.canParse(givenBaseUrl))) {
    throw new UsageError(`--base-url must be an absolute http(s) URL (got "${givenBaseUrl}")`);
  }
  const baseUrl = (givenBaseUrl ?? config.publicUrls[0] ?? `http://localhost:${config.port}`).replace(/\/+$/, '');
  const credentials = await createCredentials(config, baseUrl, values.company ?? 'Demo Merchant');
  process.stdout.write(values.json ? `${JSON.stringify(credentials)}\n` : `${describeCredentials(credentials)}\n`);
  return 0;
}

async function appCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...storageOptions,
      merchant: { type: 'string' },
      'public-key': { type: 'string' },
      scopes: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'require-signature': { type: 'boolean' },
      name: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!values.merchant || !values['public-key']) {
    process.stderr.write('tunai app create needs --merchant ID and --public-key FILE\n');
    return 2;
  }
  let scopes: Scope[] = [...allScopes];
  if (values.scopes !== undefined) {
    const parsed = parseScopeList(values.scopes);
    if (!parsed) {
      process.stderr.write(`--scopes must be a comma-separated list of: ${allScopes.join(', ')}\n`);
      return 2;
    }
    scopes = parsed;
  }
  const publicKeyPem = await readKeyFile(values['public-key']);
  const opened = await openExistingStorage(values);
  try {
    const deps = { storage: opened.storage, clock: systemClock, ids: createIds(systemClock) };
    const { app, clientSecret } = await createClientApp(deps, {
      merchantId: values.merchant,
      name: values.name,
      publicKeyPem,
      scopes,
      redirectUris: values['redirect-uri'] ?? [],
      requireSignature: values['require-signature'] ?? false,
    });
    const out = { clientId: app.clientId, clientSecret, merchantId: app.merchantId, scopes: app.scopes };
    process.stdout.write(
      values.json ? `${JSON.stringify(out)}\n` : `clientId      ${out.clientId}\nclientSecret  ${out.clientSecret}\nscopes        ${out.scopes.join(',')}\n`,
    );
    return 0;
  } finally {
    await opened.storage.close();
  }
}

/** The public key file's text; an unreadable or empty file is the user's mistake, not an app without a key. */
async function readKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --public-key ${path}: ${describeError(error)}`);
  }
  if (text.trim() === '') throw new UsageError(`--public-key ${path} is empty: give the PEM file of your RSA public key`);
  return text;
}

/** `tunai merchant activate|deactivate ID` and `tunai app activate|deactivate CLIENT_ID`: effective on the next request of every process. */
async function setActive(kind: 'merchant' | 'app', action: 'activate' | 'deactivate', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...storageOptions, json: { type: 'boolean' } } });
  const id = positionals[0];
  if (positionals.length !== 1 || !id) {
    process.stderr.write(`tunai ${kind} ${action} needs one ${kind === 'merchant' ? 'merchant id' : 'clientId'}\n`);
    return 2;
  }
  const opened = await openExistingStorage(values);
  try {
    const deps = { storage: opened.storage, clock: systemClock };
    const isActive = action === 'activate';
    const out =
      kind === 'merchant'
        ? { merchantId: id, isActive: (await setMerchantActive(deps, id, isActive)).isActive }
        : { clientId: id, isActive: (await setAppActive(deps, id, isActive)).isActive };
    process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${kind} ${id} is now ${out.isActive ? 'active' : 'inactive'}\n`);
    return 0;
  } finally {
    await opened.storage.close();
  }
}

/** `npm start`: the embedded default, with a ready-to-use demo merchant on first run. */
async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, ...storageOptions } });
  const config = configFrom(values);
  const credentialsPath = join(config.dataDir, 'demo-credentials.json');
  const probe = await openStorage(databaseTarget(config));
  // Several `tunai start` on a new database at once: each sees no merchant, only the one that claims makes the demo.
  const claimedAtMs = systemClock.nowMs();
  const firstRun =
    (await probe.storage.merchants.count()) === 0 &&
    (await probe.storage.setupClaims.claim('demo-merchant', claimedAtMs, claimedAtMs - limits.setupClaimLapseMs));
  await probe.storage.close();
  // Listen first: with --port 0 only the bound port makes a base URL a client can use (and save).
  const running = await startServer({ config });
  const baseUrl = running.deps.publicBaseUrl;
  if (firstRun) {
    const credentials = await createCredentials(config, baseUrl, 'Demo Merchant');
    makeDirectory(config.dataDir);
    // Kept for the developer's convenience, readable only by them: the secret is not recoverable from the db.
    await writeFile(credentialsPath, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    await chmod(credentialsPath, 0o600);
    process.stdout.write(`\nCreated a demo merchant (also saved to ${credentialsPath}):\n\n${describeCredentials(credentials)}\n`);
  } else if (existsSync(credentialsPath)) {
    process.stdout.write(`\nDemo credentials: ${credentialsPath}\n`);
  }
  process.stdout.write(
    [
      '',
      `tunai is listening on ${baseUrl}`,
      `  health:        curl ${baseUrl}/health`,
      `  access token:  curl -X POST ${baseUrl}/v1/token -H 'Content-Type: application/json' \\`,
      `                   -u <clientId>:<clientSecret> -d '{"grantType":"client_credentials"}'`,
      `  merchant:      curl ${baseUrl}/v3/merchant -H 'Authorization: Bearer <accessToken>'`,
      '',
    ].join('\n'),
  );
  return waitForShutdown(running);
}

async function ledgerCheck(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...storageOptions, json: { type: 'boolean' } } });
  const opened = await openExistingStorage(values);
  try {
    const report = await checkLedger(opened.storage);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ok: report.violations.length === 0, ...report }, null, 2)}\n`);
    } else if (report.violations.length === 0) {
      process.stdout.write(`ledger check: ok (${report.transactionsChecked} transactions, every entry balanced, no account below its floor)\n`);
    } else {
      process.stdout.write(`ledger check: ${report.violations.length} violation(s) in ${report.transactionsChecked} transactions\n`);
      for (const violation of report.violations) process.stdout.write(`  ${violation}\n`);
    }
    return report.violations.length === 0 ? 0 : 1;
  } finally {
    await opened.storage.close();
  }
}

const outboxStatuses: readonly OutboxStatus[] = ['PENDING', 'DELIVERED', 'FAILED'];

function describeWebhook(e: WebhookEvent): string {
  const lines = [
    `id            ${e.id}`,
    `eventType     ${e.eventType}`,
    `subjectId     ${e.subjectId}`,
    `targetUrl     ${e.targetUrl}`,
    `status        ${e.status}`,
    `attempts      ${e.attempts}`,
    `nextAttemptAt ${e.nextAttemptAt}`,
    `createdAt     ${e.createdAt}`,
    `deliveredAt   ${e.deliveredAt}`,
    `lastError     ${e.lastError}`,
  ];
  for (const a of e.attemptLog ?? []) {
    lines.push(`  #${a.attempt} ${a.startedAt} ${a.outcome} http=${a.httpStatus || '-'} ${a.durationMs} ms${a.error ? ` ${a.error}` : ''}`);
  }
  return lines.join('\n');
}

/** `tunai webhooks list|show|resend`: the operator's view of every merchant's notify webhooks, straight from the database. */
async function webhooks(action: 'list' | 'show' | 'resend', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...storageOptions, status: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  });
  const status = values.status?.toUpperCase();
  if (status !== undefined && !outboxStatuses.includes(status as OutboxStatus)) {
    process.stderr.write(`--status must be one of ${outboxStatuses.join(', ')}\n`);
    return 2;
  }
  const limit = values.limit === undefined ? limits.pageSizeMax : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > limits.pageSizeMax) {
    process.stderr.write(`--limit must be a whole number from 1 to ${limits.pageSizeMax}\n`);
    return 2;
  }
  const eventId = positionals[0];
  if (action !== 'list' && (eventId === undefined || positionals.length !== 1)) {
    process.stderr.write(`tunai webhooks ${action} needs one event ID\n`);
    return 2;
  }
  const opened = await openExistingStorage(values);
  try {
    // The operator sees every merchant (merchantId null). A re-send here is picked up by a running server's sweep.
    const deps = { storage: opened.storage, clock: systemClock, ids: createIds(systemClock), wakeOutbox: () => undefined };
    if (action === 'list') {
      const page = await listWebhookEvents(deps, null, { status: (status as OutboxStatus | undefined) ?? null, limit, beforeId: null });
      const views = page.events.map((e) => presentWebhookEvent(e));
      if (values.json) {
        process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
      } else if (views.length === 0) {
        process.stdout.write('no webhook events\n');
      } else {
        for (const v of views) {
          process.stdout.write(`${v.id}  ${v.status.padEnd(9)}  attempts=${v.attempts}  ${v.eventType}  ${v.subjectId}  ${v.targetUrl}\n`);
        }
      }
      return 0;
    }
    const detail =
      action === 'show' ? await getWebhookEvent(deps, null, eventId as string) : await resendWebhookEvent(deps, null, eventId as string);
    const view = presentWebhookEvent(detail.event, detail.attempts);
    process.stdout.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : `${describeWebhook(view)}\n`);
    if (action === 'resend' && !values.json) process.stdout.write('queued: a running tunai server delivers it on its next outbox sweep\n');
    return 0;
  } finally {
    await opened.storage.close();
  }
}

/** One line for an error from the system or a database driver: its message, else its code (an AggregateError's is empty). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = 'code' in error && typeof error.code === 'string' ? error.code : '';
  const inner = error instanceof AggregateError ? error.errors.find((e: unknown) => e instanceof Error && e.message) : undefined;
  const message = error.message || (inner instanceof Error ? inner.message : '') || code || error.name;
  return message.split('\n')[0] ?? message;
}

/**
 * What the user's environment caused (a file, a port, a database that is not there or refuses us): node's system
 * errors, SQLite's and PostgreSQL's errors all carry a string `code`; a failed migration says so. Anything else is a
 * bug and keeps its stack trace.
 */
function isEnvironmentError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  // Node's own ERR_* codes mark misuse of an API (our bug), except the argument parser's, handled before this.
  if ('code' in error && typeof error.code === 'string' && error.code !== '' && !error.code.startsWith('ERR_')) return true;
  // pg's lost connections (a URL naming a port that is not PostgreSQL, a server that went away) carry no code, nor
  // does a query PostgreSQL never answered (TUNAI_DATABASE_QUERY_TIMEOUT_MS).
  if (error instanceof QueryUnansweredError || /^Connection terminated/.test(error.message)) return true;
  return error.message.startsWith('database migration failed');
}

const helpHint = '(tunai --help lists every command and option)';

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Errors name the command as typed ("tunai app create: …"), without its options.
  const commandName = ['app', 'merchant', 'ledger', 'webhooks'].includes(command ?? '') && rest[0] ? `${command} ${rest[0]}` : command;
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'start':
        return await start(rest);
      case 'init':
        return await init(rest);
      case 'app':
        if (rest[0] === 'create') return await appCreate(rest.slice(1));
        if (rest[0] === 'activate' || rest[0] === 'deactivate') return await setActive('app', rest[0], rest.slice(1));
        break;
      case 'merchant':
        if (rest[0] === 'activate' || rest[0] === 'deactivate') return await setActive('merchant', rest[0], rest.slice(1));
        break;
      case 'ledger':
        if (rest[0] === 'check') return await ledgerCheck(rest.slice(1));
        break;
      case 'webhooks':
        if (rest[0] === 'list' || rest[0] === 'show' || rest[0] === 'resend') return await webhooks(rest[0], rest.slice(1));
        break;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${usage}\n`);
        return command === undefined ? 2 : 0;
    }
    process.stderr.write(`tunai: unknown command: ${argv.join(' ')} ${helpHint}\n`);
    return 2;
  } catch (error) {
    if (error instanceof CatalogError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`tunai ${commandName}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`tunai ${commandName}: ${error.message} ${helpHint}\n`);
      return 2;
    }
    if (isEnvironmentError(error)) {
      process.stderr.write(`tunai ${commandName}: ${describeError(error)}\n`);
      return 1;
    }
    throw error;
  }
}
