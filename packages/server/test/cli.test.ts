// The `tunai` command line as a newcomer runs it: init, serve, app create, start; on both databases.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RmApiError, TunaiClient } from '@tunai/client';
import type { Credentials } from '../src/cli/main.js';
import { forEachDialect, freshDatabase, testKeyPair, type FreshDatabase } from './harness.js';

const execFileAsync = promisify(execFile);
const bin = new URL('../bin/tunai.js', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function tunai(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function waitUntilHealthy(url: string): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became healthy`);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

type InitOutput = Credentials;

forEachDialect('tunai CLI', (dialect) => {
  let database: FreshDatabase;
  let server: ChildProcess;
  let baseUrl: string;
  let credentials: InitOutput;

  before(async () => {
    database = await freshDatabase(dialect);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const init = await tunai(['init', ...database.configArgs, '--base-url', baseUrl, '--json']);
    assert.equal(init.code, 0, init.stderr);
    credentials = JSON.parse(init.stdout) as InitOutput;
    server = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--host', '127.0.0.1', ...database.configArgs], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    await waitUntilHealthy(baseUrl);
  });
  after(async () => {
    if (server.exitCode === null) {
      server.kill('SIGKILL');
      await exitOf(server);
    }
    await database.drop();
  });

  test('init --json prints one object with every credential field', () => {
    for (const field of ['merchantId', 'storeId', 'userId', 'clientId'] as const) assert.match(credentials[field], /^[0-9]{19}$/);
    assert.match(credentials.clientSecret, /^[A-Za-z0-9]{32}$/);
    assert.match(credentials.privateKey, /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.match(credentials.publicKey, /^-----BEGIN PUBLIC KEY-----/);
    assert.match(credentials.serverPublicKey, /^-----BEGIN PUBLIC KEY-----/);
    assert.notEqual(credentials.publicKey, credentials.serverPublicKey);
    assert.equal(credentials.baseUrl, baseUrl);
  });

  test('the printed credentials work against `tunai serve`, signed with millisecond timestamps', async () => {
    const client = new TunaiClient({
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      privateKeyPem: credentials.privateKey,
      oauthBaseUrl: baseUrl,
      openApiBaseUrl: baseUrl,
      timestampUnit: 'milliseconds',
    });
    const merchant = await client.merchant.get();
    assert.equal(merchant.item.id, credentials.merchantId);
    const stores = await client.stores.list();
    assert.deepEqual(stores.items.map((s) => s.id), [credentials.storeId]);
    const user = await client.user.get();
    assert.equal(user.item.id, credentials.userId);
  });

  test('app create registers an app limited to the given scopes', async () => {
    const keys = await testKeyPair();
    const keyDir = mkdtempSync(join(tmpdir(), 'tunai-key-'));
    const keyFile = join(keyDir, 'public.pem');
    writeFileSync(keyFile, keys.publicKeyPem);
    const created = await tunai([
      'app', 'create', '--merchant', credentials.merchantId, '--public-key', keyFile, '--scopes', 'get_user_profile', '--json', ...database.configArgs,
    ]);
    rmSync(keyDir, { recursive: true, force: true });
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout) as { clientId: string; clientSecret: string; scopes: string[] };
    assert.deepEqual(app.scopes, ['get_user_profile']);
    const client = new TunaiClient({
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      privateKeyPem: keys.privateKeyPem,
      oauthBaseUrl: baseUrl,
      openApiBaseUrl: baseUrl,
    });
    assert.equal((await client.user.get()).item.id, credentials.userId);
    await assert.rejects(client.merchant.get(), (e: unknown) => e instanceof RmApiError && e.httpStatus === 403);
  });

  test('app create refuses an unknown merchant, a bad key file and unknown scopes', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'tunai-key-'));
    const badKey = join(keyDir, 'bad.pem');
    writeFileSync(badKey, 'not a key');
    const goodKey = join(keyDir, 'good.pem');
    writeFileSync(goodKey, (await testKeyPair()).publicKeyPem);
    const unknownMerchant = await tunai(['app', 'create', '--merchant', '1', '--public-key', goodKey, ...database.configArgs]);
    assert.equal(unknownMerchant.code, 1);
    assert.match(unknownMerchant.stderr, /MERCHANT_NOT_FOUND/);
    const invalidKey = await tunai(['app', 'create', '--merchant', credentials.merchantId, '--public-key', badKey, ...database.configArgs]);
    assert.equal(invalidKey.code, 1);
    assert.match(invalidKey.stderr, /INVALID_PUBLIC_KEY/);
    const badScopes = await tunai(['app', 'create', '--merchant', credentials.merchantId, '--public-key', goodKey, '--scopes', 'everything', ...database.configArgs]);
    assert.equal(badScopes.code, 2);
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('serve shuts down gracefully on SIGTERM', async () => {
    const exited = exitOf(server);
    server.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

async function waitForOutput(output: () => string, pattern: RegExp): Promise<RegExpMatchArray> {
  for (let polls = 0; polls < 300; polls++) {
    const match = pattern.exec(output());
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never printed ${pattern}: ${output()}`);
}

test('tunai start with PORT=0 prints and saves the port it really bound, and that URL works', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tunai-start-any-'));
  const child = spawn(process.execPath, [bin, 'start', '--data', dataDir], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', TUNAI_PUBLIC_URL: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const [, baseUrl, port] = (await waitForOutput(() => output, /tunai is listening on (http:\/\/127\.0\.0\.1:(\d+))/)) as RegExpMatchArray;
    assert.notEqual(Number(port), 0);
    const saved = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as InitOutput;
    assert.equal(saved.baseUrl, baseUrl);
    // The saved credentials work against the saved URL as they are.
    const client = new TunaiClient({
      clientId: saved.clientId,
      clientSecret: saved.clientSecret,
      privateKeyPem: saved.privateKey,
      oauthBaseUrl: saved.baseUrl,
      openApiBaseUrl: saved.baseUrl,
    });
    assert.equal((await client.merchant.get()).item.companyName, 'Demo Merchant');
  } finally {
    const exited = exitOf(child);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('tunai start creates the demo merchant once and prints credentials and URLs', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tunai-start-'));
  const port = await freePort();
  const run = async (): Promise<string> => {
    const child = spawn(process.execPath, [bin, 'start', '--data', dataDir], {
      env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', TUNAI_PUBLIC_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitUntilHealthy(`http://127.0.0.1:${port}`);
    // The server listens before the demo merchant is made (its base URL needs the bound port): wait for the banner.
    await waitForOutput(() => output, /tunai is listening on/);
    const exited = exitOf(child);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    return output;
  };
  try {
    const first = await run();
    assert.match(first, /Created a demo merchant/);
    assert.match(first, /clientSecret\s+[A-Za-z0-9]{32}/);
    assert.match(first, new RegExp(`tunai is listening on http://localhost:${port}`));
    const saved = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as InitOutput;
    assert.equal(statSync(join(dataDir, 'demo-credentials.json')).mode & 0o777, 0o600);
    assert.ok(first.includes(saved.clientId));
    const second = await run();
    assert.doesNotMatch(second, /Created a demo merchant/);
    assert.match(second, /demo-credentials\.json/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
