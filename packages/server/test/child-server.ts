// Test helper: `tunai` as a child process — CLI runs, and `tunai serve` spawned on a free port, SIGKILLed and cleaned up — for the crash tests.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { TunaiClient } from '@tunai/client';
import type { Credentials } from '../src/cli/main.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { freshDatabase, type Dialect, type FreshDatabase } from './harness.js';

const execFileAsync = promisify(execFile);
const bin = new URL('../bin/tunai.js', import.meta.url).pathname;

/** Real-time bounds for waiting on another process (not a timed test: the clock is moved, never waited out). */
const pollEveryMs = 50;
const pollForMs = 20_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value (not undefined), or fails with `what` after the real-time bound. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const giveUpAt = Date.now() + pollForMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting ${pollForMs} ms for ${what}`);
    await pause(pollEveryMs);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Runs the `tunai` command line (logging off) and reports how it ended instead of throwing. */
export async function tunai(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [bin, ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** One `tunai serve` child process. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stderr: string;
}

export interface ServeOptions {
  /** Added to the child's environment (sandbox on, logging off), e.g. the closed-loop and outbox intervals. */
  env?: Record<string, string>;
}

/** Every child still running, for `killChildren`. */
const children = new Set<ChildProcess>();

/** Starts `tunai serve` on a free port over `database` and waits until it answers /health. */
export async function startServe(database: FreshDatabase, options: ServeOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--host', '127.0.0.1', ...database.configArgs], {
    env: { ...process.env, LOG_LEVEL: 'silent', TUNAI_SANDBOX: 'true', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const server: ServerProcess = { child, url: `http://127.0.0.1:${port}`, stderr: '' };
  child.stderr?.on('data', (chunk: Buffer) => (server.stderr += chunk.toString()));
  const giveUpAt = Date.now() + pollForMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tunai serve exited with ${child.exitCode}: ${server.stderr}`);
    try {
      if ((await fetch(`${server.url}/health`)).ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > giveUpAt) throw new Error(`tunai serve never became healthy: ${server.stderr}`);
    await pause(pollEveryMs);
  }
}

/** SIGKILLs the server (no shutdown of any kind) and waits until it is gone. */
export async function killHard(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await exited;
  assert.equal(server.child.signalCode, 'SIGKILL');
}

/** SIGKILLs every child a test left running (for after / afterEach). */
export async function killChildren(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** A fresh database with `tunai init` run on it, for suites that spawn `tunai serve` over it. */
export interface InitialisedDatabase {
  database: FreshDatabase;
  /** The `tunai init --json` output: merchant, store and app with its key pair. */
  credentials: Credentials;
  /** A direct handle for the assertions. */
  db: Kysely<Database>;
  /** Kills every child still running, then closes the handle and drops the database. */
  close(): Promise<void>;
}

export async function initialisedDatabase(dialect: Dialect): Promise<InitialisedDatabase> {
  const database = await freshDatabase(dialect);
  const init = await tunai(['init', ...database.configArgs, '--json']);
  assert.equal(init.code, 0, init.stderr);
  const db = openDatabase(database.target).db;
  return {
    database,
    credentials: JSON.parse(init.stdout) as Credentials,
    db,
    async close() {
      await killChildren();
      await db.destroy();
      await database.drop();
    },
  };
}

/** One `tunai serve` child whose sandbox clock the test moves (wall clock + an offset shared through the database). */
export interface ClockedServer extends ServerProcess {
  readonly database: FreshDatabase;
  /** What the database's sandbox clock is ahead of the wall clock, as moved by the test (on any of its processes). */
  readonly offsetMs: number;
}

/** The test's record of each database's sandbox clock offset: every process on the database shares it. */
const sharedOffsets = new WeakMap<FreshDatabase, { offsetMs: number }>();

function offsetOf(database: FreshDatabase): { offsetMs: number } {
  let shared = sharedOffsets.get(database);
  if (!shared) {
    shared = { offsetMs: 0 };
    sharedOffsets.set(database, shared);
  }
  return shared;
}

/** `tunai serve` with the given environment and a clock the test moves (see advanceClock). */
export async function startClockedServe(database: FreshDatabase, env: Record<string, string>): Promise<ClockedServer> {
  const server = await startServe(database, { env });
  const shared = offsetOf(database);
  return Object.defineProperty(Object.assign(server, { database }), 'offsetMs', { get: () => shared.offsetMs, enumerable: true }) as ClockedServer;
}

/**
 * POST /sandbox/clock on one process: the sandbox clock of every process on its database moves (each reads it within
 * limits.sandboxClockRefreshMs; the /sandbox routes at once); the test's own notion of that time follows.
 */
export async function advanceClock(server: ClockedServer, seconds: number): Promise<void> {
  const response = await fetch(`${server.url}/sandbox/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceSeconds: seconds }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  offsetOf(server.database).offsetMs += seconds * 1000;
  const body = JSON.parse(text) as { item: { nowMs: number } };
  assert.ok(Math.abs(body.item.nowMs - (Date.now() + server.offsetMs)) < 5_000, 'the sandbox clock moved by what was asked');
}

/** A client for the `tunai init` app that signs with the server's (moved) clock, so the ±300 s window holds. */
export function clientFor(credentials: Credentials, server: ClockedServer): TunaiClient {
  return new TunaiClient({
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    privateKeyPem: credentials.privateKey,
    oauthBaseUrl: server.url,
    openApiBaseUrl: server.url,
    nowMs: () => Date.now() + server.offsetMs,
  });
}
