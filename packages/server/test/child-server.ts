// Test helper: `tunai` as a child process — CLI runs, and `tunai serve` spawned on a free port, SIGKILLed and cleaned up — for the crash tests.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import type { FreshDatabase } from './harness.js';

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
