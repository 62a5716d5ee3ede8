// The `tunai` command line audited as a newcomer meets it: bad input, missing files and databases, busy ports, signals.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { TunaiClient } from '@tunai/client';
import { limits } from '@tunai/client/contract';
import { generateRsaKeyPairPem } from '../src/lib/rsa-keys.js';
import { initialisedDatabase, type InitialisedDatabase } from './child-server.js';
import { forEachDialect, freshDatabase, testDatabaseUrl, testKeyPair } from './harness.js';

const execFileAsync = promisify(execFile);
const bin = new URL('../bin/tunai.js', import.meta.url).pathname;
// Table cells escape the pipe: `tunai app activate\|deactivate`.
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').replaceAll('\\|', '|');
/** Nothing listens on port 1: a PostgreSQL URL that can never connect. */
const refusedDatabaseUrl = 'postgres://postgres@127.0.0.1:1/none';

interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs `tunai` (logging off), with `DATABASE_URL` removed unless `env` sets it, and reports how it ended; a run that
 * has not ended after `timeoutMs` fails the test (it hangs).
 */
async function tunai(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Run> {
  const { DATABASE_URL: _ignored, ...base } = process.env;
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [bin, ...args], {
      env: { ...base, LOG_LEVEL: 'silent', ...env },
      timeout: timeoutMs,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number; killed?: boolean };
    assert.ok(!e.killed, `tunai ${args.join(' ')} did not end within ${timeoutMs / 1000} s: ${e.stderr}`);
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** A refusal as the user should see it: the exit code, one line on stderr matching `pattern`, no stack trace, no stdout. */
function assertRefused(run: Run, code: number, pattern: RegExp, what: string): void {
  assert.equal(run.code, code, `${what}: exit code (stderr: ${run.stderr})`);
  const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${run.stderr}`);
  assert.match(run.stderr, pattern, `${what}: the message says what is wrong`);
  assert.doesNotMatch(run.stderr, /^\s+at /m, `${what}: no stack trace`);
  assert.equal(run.stdout, '', `${what}: nothing on stdout`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function waitUntilHealthy(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    assert.equal(child.exitCode, null, `the server exited early with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never became healthy`);
}

/** Resolves to the exit, or to 'still running' after `ms` (then the child is SIGKILLed). */
async function exitWithin(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
  const outcome = await Promise.race([exitOf(child), timedOut]);
  clearTimeout(timer);
  if (outcome === 'still running') {
    child.kill('SIGKILL');
    await exitOf(child);
  }
  return outcome;
}

test('bad command lines get one line on stderr and exit 2, without a stack trace', async () => {
  const cases: [string[], Record<string, string>, RegExp, string][] = [
    [['bogus'], {}, /unknown command: bogus/, 'unknown command'],
    [['app', 'bogus'], {}, /unknown command: app bogus/, 'unknown subcommand'],
    [['serve', '--bogus'], {}, /Unknown option '--bogus'/, 'unknown flag'],
    [['ledger', 'check', '--data'], {}, /--data <value>' argument missing/, 'missing flag value'],
    [['serve', '--port', 'abc'], {}, /PORT must be a whole number/, 'port that is not a number'],
    [['serve', '--port', '99999'], {}, /PORT must be a whole number/, 'port out of range'],
    [['serve', '--public-url', 'not-a-url'], {}, /must be absolute http\(s\) URLs/, 'bad --public-url'],
    [['serve'], { TUNAI_SANDBOX: 'maybe' }, /TUNAI_SANDBOX must be true or false/, 'bad environment setting'],
    // pino threw its own stack trace for an unknown level, with exit 1.
    [['serve'], { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent \(got "loud"\)/, 'unknown log level'],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => tunai(args, env)));
  runs.forEach((run, i) => assertRefused(run, 2, cases[i]?.[2] ?? /./, cases[i]?.[3] ?? ''));
});

test('init refuses a --base-url that is not a URL, and --data with --database-url, before writing anything', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'tunai-audit-init-'));
  const dataDir = join(parent, 'data');
  try {
    assertRefused(await tunai(['init', '--data', dataDir, '--base-url', 'localhost:8080']), 2, /--base-url must be an absolute http\(s\) URL/, 'bad --base-url');
    assertRefused(
      await tunai(['init', '--data', dataDir, '--database-url', refusedDatabaseUrl]),
      2,
      /--data \(SQLite\) or --database-url \(PostgreSQL\), not both/,
      '--data and --database-url together',
    );
    assert.ok(!existsSync(dataDir), 'no data directory was created for a refused init');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('commands on an existing database refuse a data directory with no database, and create none', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'tunai-audit-missing-'));
  const dataDir = join(parent, 'typo');
  const keyFile = join(parent, 'public.pem');
  writeFileSync(keyFile, (await testKeyPair()).publicKeyPem);
  try {
    const missing = /no tunai database at .*typo\/tunai\.db/;
    const cases: [string[], Record<string, string>, string][] = [
      [['ledger', 'check', '--data', dataDir], {}, 'ledger check'],
      [['ledger', 'check'], { TUNAI_DATA_DIR: dataDir }, 'ledger check with TUNAI_DATA_DIR'],
      [['app', 'create', '--merchant', '1', '--public-key', keyFile, '--data', dataDir], {}, 'app create'],
      [['app', 'deactivate', '1', '--data', dataDir], {}, 'app deactivate'],
      [['merchant', 'deactivate', '1', '--data', dataDir], {}, 'merchant deactivate'],
      [['webhooks', 'list', '--data', dataDir], {}, 'webhooks list'],
    ];
    const runs = await Promise.all(cases.map(([args, env]) => tunai(args, env)));
    runs.forEach((run, i) => assertRefused(run, 2, missing, cases[i]?.[2] ?? ''));
    assert.ok(!existsSync(dataDir), 'no data directory (nor an empty database) was created');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('commands on an existing database refuse a PostgreSQL schema with no tunai tables, and create none there', async () => {
  const empty = await freshDatabase('postgres');
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tunai-audit-pg-empty-')), 'public.pem');
  writeFileSync(keyFile, (await testKeyPair()).publicKeyPem);
  try {
    const missing = /no tunai database in the PostgreSQL schema/;
    const cases: [string[], string][] = [
      [['ledger', 'check'], 'ledger check'],
      [['app', 'create', '--merchant', '1', '--public-key', keyFile], 'app create'],
      [['merchant', 'activate', '1'], 'merchant activate'],
      [['webhooks', 'list'], 'webhooks list'],
    ];
    // One after another: a command that wrongly migrated would make the next one pass.
    for (const [args, what] of cases) assertRefused(await tunai([...args, ...empty.configArgs]), 2, missing, what);
    const schema = (empty.target as { schema: string }).schema;
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect();
    try {
      const tables = await client.query('select table_name from information_schema.tables where table_schema = $1', [schema]);
      assert.deepEqual(tables.rows, [], 'no table was created in the schema');
    } finally {
      await client.end();
    }
  } finally {
    await empty.drop();
    rmSync(dirname(keyFile), { recursive: true, force: true });
  }
});

test('an unreachable or unusable database is one line and exit 1', async () => {
  assertRefused(await tunai(['ledger', 'check', '--database-url', refusedDatabaseUrl]), 1, /ECONNREFUSED/, 'refused --database-url');
  assertRefused(await tunai(['ledger', 'check'], { DATABASE_URL: refusedDatabaseUrl }), 1, /ECONNREFUSED/, 'refused DATABASE_URL');
  assertRefused(await tunai(['init'], { DATABASE_URL: 'postgres://postgres@localhost:1/none' }), 1, /ECONNREFUSED/, 'refused on localhost (IPv4 and IPv6)');
  const noSuchDatabase = new URL(testDatabaseUrl);
  noSuchDatabase.pathname = '/tunai_audit_no_such_db';
  assertRefused(
    await tunai(['ledger', 'check', '--database-url', noSuchDatabase.href]),
    1,
    /database "tunai_audit_no_such_db" does not exist/,
    'PostgreSQL database that does not exist',
  );
  // A port that accepts and hangs up at once (not PostgreSQL): pg's "Connection terminated unexpectedly" has no code.
  const hangsUp: Server = await new Promise((resolve) => {
    const server = createServer((socket) => socket.end());
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
  try {
    const { port } = hangsUp.address() as { port: number };
    for (const command of [['ledger', 'check'], ['init']]) {
      assertRefused(await tunai([...command, '--database-url', `postgres://postgres@127.0.0.1:${port}/x`]), 1, /Connection terminated/, `${command.join(' ')} on a port that hangs up`);
    }
  } finally {
    hangsUp.close();
  }
  // procfs refuses a new entry with ENOENT although its parent exists; Node 20's recursive mkdir looped on that.
  if (existsSync('/proc/self')) {
    assertRefused(await tunai(['serve', '--port', '0', '--data', '/proc/tunai-no-such-dir/data']), 1, /ENOENT/, 'serve on a data dir procfs refuses');
  }
  const parent = mkdtempSync(join(tmpdir(), 'tunai-audit-unwritable-'));
  const notADirectory = join(parent, 'file');
  writeFileSync(notADirectory, 'a file, not a directory');
  try {
    assertRefused(await tunai(['serve', '--port', '0', '--data', join(notADirectory, 'data')]), 1, /ENOTDIR/, 'serve on a data dir that cannot be made');
    assertRefused(await tunai(['init', '--data', join(notADirectory, 'data')]), 1, /ENOTDIR/, 'init on a data dir that cannot be made');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('serve and start on a port already in use exit 1 at once with one line', async () => {
  const holder: Server = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
  });
  const address = holder.address();
  const port = String(typeof address === 'object' && address ? address.port : 0);
  const dataDir = mkdtempSync(join(tmpdir(), 'tunai-audit-busy-'));
  try {
    // Without the fix the process printed a stack trace, or (with the error caught) waited for ever on its workers.
    assertRefused(await tunai(['serve', '--port', port, '--host', '127.0.0.1', '--data', dataDir]), 1, /EADDRINUSE/, 'serve on a busy port');
    assertRefused(await tunai(['start', '--port', port, '--data', dataDir], { HOST: '127.0.0.1' }), 1, /EADDRINUSE/, 'start on a busy port');
    assert.ok(!existsSync(join(dataDir, 'demo-credentials.json')), 'no demo credentials saved when the server never listened');
  } finally {
    await new Promise((resolve) => holder.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('--help after a command prints the usage, which lists every documented command and option', async () => {
  const help = await tunai(['app', 'create', '--help']);
  assert.equal(help.code, 0, help.stderr);
  const usage = (await tunai(['--help'])).stdout;
  assert.equal(help.stdout, usage, 'the same usage text');
  for (const command of ['start', 'serve', 'init', 'app create', 'app activate|deactivate', 'merchant activate|deactivate', 'ledger check', 'webhooks list', 'webhooks show', 'webhooks resend']) {
    assert.ok(usage.includes(`tunai ${command}`), `the usage lists tunai ${command}`);
    assert.ok(readme.includes(`tunai ${command}`) || readme.includes(`\`${command} ID`), `the README documents tunai ${command}`);
  }
  const appCreateRow = /`npx tunai app create ([^`]*)`/.exec(readme)?.[1] ?? '';
  const documentedFlags = appCreateRow.match(/--[a-z-]+/g) ?? [];
  assert.ok(documentedFlags.length >= 6, `the README's app create row names its flags: ${appCreateRow}`);
  for (const flag of documentedFlags) assert.ok(usage.includes(flag), `the usage lists app create's ${flag}, which the README documents`);
  assert.match(usage, /tunai start \[--port 8080\] \[--data \.\/data \| --database-url URL\]/, 'the usage lists the options start accepts');
});

test('an explicit --data means SQLite even when DATABASE_URL is set', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tunai-audit-data-'));
  try {
    const init = await tunai(['init', '--data', dataDir, '--json'], { DATABASE_URL: refusedDatabaseUrl });
    assert.equal(init.code, 0, `init --data with DATABASE_URL set: ${init.stderr}`);
    const merchantId = (JSON.parse(init.stdout) as { merchantId: string }).merchantId;
    const deactivated = await tunai(['merchant', 'deactivate', merchantId, '--data', dataDir, '--json'], { DATABASE_URL: refusedDatabaseUrl });
    assert.equal(deactivated.code, 0, deactivated.stderr);
    assert.deepEqual(JSON.parse(deactivated.stdout), { merchantId, isActive: false });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

forEachDialect('tunai CLI audit', (dialect) => {
  let setup: InitialisedDatabase;
  let keyDir: string;
  let goodKey: string;

  const countApps = async (): Promise<number> => (await setup.db.selectFrom('client_apps').select('client_id').execute()).length;

  before(async () => {
    setup = await initialisedDatabase(dialect);
    keyDir = mkdtempSync(join(tmpdir(), 'tunai-audit-key-'));
    goodKey = join(keyDir, 'public.pem');
    writeFileSync(goodKey, (await testKeyPair()).publicKeyPem);
  });
  after(async () => {
    rmSync(keyDir, { recursive: true, force: true });
    await setup.close();
  });

  test('app create refuses a missing, unreadable, empty or invalid key file, a bad scope and an unknown merchant, writing nothing', async () => {
    const args = (key: string, ...more: string[]) => ['app', 'create', '--merchant', setup.credentials.merchantId, '--public-key', key, ...more, ...setup.database.configArgs];
    const empty = join(keyDir, 'empty.pem');
    writeFileSync(empty, '\n');
    const notAKey = join(keyDir, 'not-a-key.pem');
    writeFileSync(notAKey, 'not a key');
    const privateKey = join(keyDir, 'private.pem');
    writeFileSync(privateKey, setup.credentials.privateKey);
    const directory = join(keyDir, 'a-directory');
    mkdirSync(directory);
    const before = await countApps();
    assertRefused(await tunai(args(join(keyDir, 'missing.pem'))), 2, /cannot read --public-key .*missing\.pem: ENOENT/, 'missing key file');
    assertRefused(await tunai(args(directory)), 2, /cannot read --public-key .*a-directory: EISDIR/, 'key path that is a directory');
    // An empty file used to register an app without a key: every signed call then failed with CLIENT_NOT_SET_PUBLIC_KEY.
    assertRefused(await tunai(args(empty)), 2, /--public-key .*empty\.pem is empty/, 'empty key file');
    assertRefused(await tunai(args(notAKey)), 1, /^INVALID_PUBLIC_KEY: /, 'a file that is no key');
    assertRefused(await tunai(args(privateKey)), 1, /^INVALID_PUBLIC_KEY: /, 'the private key by mistake');
    for (const bits of [limits.rsaModulusBitsMin - 8, limits.rsaModulusBitsMax + 8]) {
      const outOfBounds = join(keyDir, `rsa-${bits}.pem`);
      writeFileSync(outOfBounds, (await generateRsaKeyPairPem(bits)).publicKeyPem);
      assertRefused(await tunai(args(outOfBounds)), 1, new RegExp(`^INVALID_PUBLIC_KEY: .* has ${bits}`), `a ${bits}-bit key`);
    }
    assertRefused(await tunai(args(goodKey, '--scopes', 'manage_payment,everything')), 2, /--scopes must be a comma-separated list/, 'unknown scope');
    assertRefused(await tunai(args(goodKey, '--scopes', ',')), 2, /--scopes must be a comma-separated list/, 'empty scope list');
    assertRefused(await tunai(args(goodKey, '--redirect-uri', 'not a url')), 1, /^VALIDATION_ERROR: /, 'bad redirect URI');
    assertRefused(
      await tunai(['app', 'create', '--merchant', '1', '--public-key', goodKey, ...setup.database.configArgs]),
      1,
      /^MERCHANT_NOT_FOUND: /,
      'unknown merchant',
    );
    assert.equal(await countApps(), before, 'no app was registered by any refused command');
  });

  test('app create prints the secret once and stores only its SHA-256; --name is kept', async () => {
    const created = await tunai([
      'app', 'create', '--merchant', setup.credentials.merchantId, '--public-key', goodKey, '--name', 'POS terminal', '--json', ...setup.database.configArgs,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };
    const row = await setup.db.selectFrom('client_apps').selectAll().where('client_id', '=', app.clientId).executeTakeFirstOrThrow();
    assert.equal(row.client_secret_hash, createHash('sha256').update(app.clientSecret).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(app.clientSecret), 'the plain secret is nowhere in the stored row');
    assert.equal(row.name, 'POS terminal');
    // The printed pair works once the server is up; nothing else ever shows the secret again.
    const listed = await tunai(['webhooks', 'list', '--json', ...setup.database.configArgs]);
    assert.ok(!listed.stdout.includes(app.clientSecret), 'no later command prints the secret');
  });

  test('merchant and app switches refuse unknown ids and missing ids with one line', async () => {
    assertRefused(await tunai(['merchant', 'deactivate', '42', ...setup.database.configArgs]), 1, /^MERCHANT_NOT_FOUND: /, 'unknown merchant');
    assertRefused(await tunai(['app', 'activate', '42', ...setup.database.configArgs]), 1, /^CLIENT_NOT_FOUND: /, 'unknown app');
    assertRefused(await tunai(['merchant', 'activate', ...setup.database.configArgs]), 2, /needs one merchant id/, 'missing merchant id');
    assertRefused(await tunai(['webhooks', 'show', ...setup.database.configArgs]), 2, /needs one event ID/, 'missing event id');
    const check = await tunai(['ledger', 'check', '--json', ...setup.database.configArgs]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal((JSON.parse(check.stdout) as { ok: boolean }).ok, true);
  });

  test('serve exits 0 on SIGINT', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--host', '127.0.0.1', ...setup.database.configArgs], {
      env: { ...process.env, LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    await waitUntilHealthy(`http://127.0.0.1:${port}`, child);
    child.kill('SIGINT');
    assert.deepEqual(await exitWithin(child, 15_000), { code: 0, signal: null });
  });

  test(
    'SIGTERM during a request answers it and exits 0 promptly, also on a keep-alive connection',
    async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--host', '127.0.0.1', ...setup.database.configArgs], {
        env: { ...process.env, LOG_LEVEL: 'silent', TUNAI_QUICKPAY_WAIT_MS: '1500' },
        stdio: 'ignore',
      });
      try {
        await waitUntilHealthy(url, child);
        const { credentials } = setup;
        const client = new TunaiClient({
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          privateKeyPem: credentials.privateKey,
          oauthBaseUrl: url,
          openApiBaseUrl: url,
        });
        await client.merchant.get();
        // Suffix 1002: the wallet never answers, so the QuickPay waits TUNAI_QUICKPAY_WAIT_MS, then answers IN_PROCESS.
        const paying = client.payment.quickPay({
          authCode: `134850717${String(Date.now()).slice(-5)}1002`,
          storeId: credentials.storeId,
          order: { id: `audit-${Date.now()}`, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 },
          ipAddress: '127.0.0.1',
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        child.kill('SIGTERM');
        assert.equal((await paying).item.status, 'IN_PROCESS', 'the in-flight request was answered');
        assert.deepEqual(await exitWithin(child, 5_000), { code: 0, signal: null }, 'exit 0 within 5 s of the answer');
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exitOf(child);
        }
      }
    },
  );
});

test('several processes started together on a new SQLite data directory all migrate it and start', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tunai-cli-together-'));
  try {
    // Six `tunai init` at once: each migrates the new database, then onboards its own developer. Six processes loading
    // at once on two busy cores may take a while; only a hang fails.
    const runs = await Promise.all([0, 1, 2, 3, 4, 5].map(() => tunai(['init', '--data', dataDir, '--json'], {}, 120_000)));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 0, `process ${i} exited 0 (stderr: ${run.stderr})`);
    }
    const merchantIds = runs.map((run) => (JSON.parse(run.stdout) as { merchantId: string }).merchantId);
    assert.equal(new Set(merchantIds).size, 6, 'each process onboarded its own merchant');
    const check = await tunai(['ledger', 'check', '--data', dataDir, '--json']);
    assert.equal(check.code, 0, `the database the six made is whole (stderr: ${check.stderr})`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
