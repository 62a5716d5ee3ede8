// `tunai start` (npm start) run several times at once on a new database: one demo merchant, made by one process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStorage } from '../src/main.js';
import { openDatabase } from '../src/store/database.js';
import { forEachDialect, freshDatabase } from './harness.js';

const bin = new URL('../bin/tunai.js', import.meta.url).pathname;

/** Runs `tunai start` until it prints where it listens; resolves to everything it printed by then. */
function startUntilListening(args: string[], cwd: string, started: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, [bin, 'start', '--port', '0', ...args], { cwd, env: { ...process.env, LOG_LEVEL: 'silent', HOST: '127.0.0.1' } });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tunai start did not come up in 30 s:\n${stdout}${stderr}`)), 30_000);
    child.stdout?.on('data', () => {
      if (!stdout.includes('tunai is listening on')) return;
      clearTimeout(timer);
      resolve(stdout);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tunai start exited ${code}:\n${stdout}${stderr}`));
    });
  });
}

forEachDialect('tunai start on a new database', (dialect) => {
  test('a setup claim goes to one caller, and is taken over only once it has lapsed', async () => {
    const database = await freshDatabase(dialect);
    try {
      const { storage } = await openStorage(database.target);
      try {
        const claims = await Promise.all([0, 1, 2, 3].map(() => storage.setupClaims.claim('demo-merchant', 1_000_000, 940_000)));
        assert.deepEqual(claims.filter(Boolean).length, 1, 'one of four concurrent claims wins');
        assert.equal(await storage.setupClaims.claim('demo-merchant', 1_030_000, 970_000), false, 'a 30 s old claim stands');
        assert.equal(await storage.setupClaims.claim('demo-merchant', 1_070_000, 1_010_000), true, 'a 70 s old claim is taken over');
        assert.equal(await storage.setupClaims.claim('demo-merchant', 1_071_000, 1_011_000), false, 'and stands again');
        assert.equal(await storage.setupClaims.claim('another-step', 1_071_000, 1_011_000), true, 'claims are per name');
      } finally {
        await storage.close();
      }
    } finally {
      await database.drop();
    }
  });

  test('four at once: one demo merchant, announced by exactly one of them; all four serve', async () => {
    const database = await freshDatabase(dialect);
    // start writes demo-credentials.json under its data directory (./data by default): keep it out of the repository.
    const workDir = mkdtempSync(join(tmpdir(), 'tunai-start-together-'));
    const started: ChildProcess[] = [];
    try {
      const args = dialect === 'sqlite' ? ['--data', join(workDir, 'data')] : database.configArgs;
      const outputs = await Promise.all([0, 1, 2, 3].map(() => startUntilListening(args, workDir, started)));
      const announcing = outputs.filter((out) => out.includes('Created a demo merchant'));
      assert.equal(announcing.length, 1, `exactly one process created the demo:\n${outputs.join('\n---\n')}`);
      const target = dialect === 'sqlite' ? { kind: 'sqlite' as const, filePath: join(workDir, 'data', 'tunai.db') } : database.target;
      const { db } = openDatabase(target);
      try {
        const merchants = await db.selectFrom('merchants').select(['id', 'company_name']).execute();
        assert.deepEqual(merchants.map((m) => m.company_name), ['Demo Merchant'], 'one merchant in the database');
        const apps = await db.selectFrom('client_apps').select('merchant_id').execute();
        assert.deepEqual(apps.map((a) => a.merchant_id), [merchants[0]?.id], 'with one app');
      } finally {
        await db.destroy();
      }
    } finally {
      for (const child of started) child.kill('SIGKILL');
      await Promise.all(started.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
      rmSync(workDir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
