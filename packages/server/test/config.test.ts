// Runtime configuration: the database connect timeout, and the outbound allowances (link-local, private) and how the
// private one follows TUNAI_SANDBOX.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/lib/config.js';
import { databaseTarget } from '../src/main.js';

const execFileAsync = promisify(execFile);
const bin = new URL('../bin/tunai.js', import.meta.url).pathname;

describe('PostgreSQL timeouts', () => {
  test('defaults to 10 s, takes whole milliseconds within 1..600,000, and reaches the PostgreSQL target', () => {
    assert.equal(loadConfig({}).databaseConnectTimeoutMs, 10_000);
    assert.equal(loadConfig({ TUNAI_DATABASE_CONNECT_TIMEOUT_MS: '2500' }).databaseConnectTimeoutMs, 2_500);
    assert.equal(loadConfig({ TUNAI_DATABASE_CONNECT_TIMEOUT_MS: '600000' }).databaseConnectTimeoutMs, 600_000);
    for (const bad of ['0', '600001', '-1', '1.5', 'soon']) {
      assert.throws(() => loadConfig({ TUNAI_DATABASE_CONNECT_TIMEOUT_MS: bad }), /TUNAI_DATABASE_CONNECT_TIMEOUT_MS/, `"${bad}" is refused, naming the variable`);
    }
    const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', TUNAI_DATABASE_CONNECT_TIMEOUT_MS: '2500' });
    assert.deepEqual(databaseTarget(config), { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test', connectTimeoutMs: 2_500, idleInTransactionMs: 30_000, queryTimeoutMs: 60_000, poolMax: 10 });
  });

  test('TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS defaults to 30 s, takes 1..3,600,000, and reaches the PostgreSQL target', () => {
    assert.equal(loadConfig({}).databaseIdleInTransactionMs, 30_000);
    assert.equal(loadConfig({ TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS: '3600000' }).databaseIdleInTransactionMs, 3_600_000);
    for (const bad of ['0', '3600001', 'later']) {
      assert.throws(() => loadConfig({ TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS: bad }), /TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS/, `"${bad}" is refused, naming the variable`);
    }
    const config = loadConfig({ DATABASE_URL: 'postgres://db.example/tunai', TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS: '5000' });
    const target = databaseTarget(config);
    assert.equal(target.kind === 'postgres' ? target.idleInTransactionMs : null, 5_000);
  });

  test('TUNAI_DATABASE_QUERY_TIMEOUT_MS defaults to 60 s, takes 1..3,600,000, and reaches the PostgreSQL target', () => {
    assert.equal(loadConfig({}).databaseQueryTimeoutMs, 60_000);
    assert.equal(loadConfig({ TUNAI_DATABASE_QUERY_TIMEOUT_MS: '1' }).databaseQueryTimeoutMs, 1);
    assert.equal(loadConfig({ TUNAI_DATABASE_QUERY_TIMEOUT_MS: '3600000' }).databaseQueryTimeoutMs, 3_600_000);
    for (const bad of ['0', '3600001', '2.5', 'never']) {
      assert.throws(() => loadConfig({ TUNAI_DATABASE_QUERY_TIMEOUT_MS: bad }), /TUNAI_DATABASE_QUERY_TIMEOUT_MS/, `"${bad}" is refused, naming the variable`);
    }
    const target = databaseTarget(loadConfig({ DATABASE_URL: 'postgres://db.example/tunai', TUNAI_DATABASE_QUERY_TIMEOUT_MS: '7000' }));
    assert.equal(target.kind === 'postgres' ? target.queryTimeoutMs : null, 7_000);
  });
});

describe('PostgreSQL pool', () => {
  test('TUNAI_DATABASE_POOL_MAX defaults to 10, takes 1..1,000, and reaches the PostgreSQL target', () => {
    assert.equal(loadConfig({}).databasePoolMax, 10);
    assert.equal(loadConfig({ TUNAI_DATABASE_POOL_MAX: '1' }).databasePoolMax, 1);
    assert.equal(loadConfig({ TUNAI_DATABASE_POOL_MAX: '1000' }).databasePoolMax, 1_000);
    for (const bad of ['0', '1001', '2.5', 'many']) {
      assert.throws(() => loadConfig({ TUNAI_DATABASE_POOL_MAX: bad }), /TUNAI_DATABASE_POOL_MAX/, `"${bad}" is refused, naming the variable`);
    }
    const target = databaseTarget(loadConfig({ DATABASE_URL: 'postgres://db.example/tunai', TUNAI_DATABASE_POOL_MAX: '40' }));
    assert.equal(target.kind === 'postgres' ? target.poolMax : null, 40);
  });
});

describe('outbound allowances', () => {
  const outbound = (env: Record<string, string>) => loadConfig(env).outbound;

  test('defaults: sandbox mode, link-local refused, private allowed', () => {
    const config = loadConfig({});
    assert.equal(config.sandbox, true);
    assert.deepEqual(config.outbound, { allowLinkLocal: false, allowPrivate: true });
  });

  test('TUNAI_OUTBOUND_ALLOW_PRIVATE defaults to the sandbox setting', () => {
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'true' }), { allowLinkLocal: false, allowPrivate: true });
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'false' }), { allowLinkLocal: false, allowPrivate: false });
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'off' }), { allowLinkLocal: false, allowPrivate: false });
    assert.deepEqual(outbound({ TUNAI_SANDBOX: '0' }), { allowLinkLocal: false, allowPrivate: false });
    // Empty is unset: the default (sandbox) applies to both.
    assert.deepEqual(outbound({ TUNAI_SANDBOX: '', TUNAI_OUTBOUND_ALLOW_PRIVATE: '' }), { allowLinkLocal: false, allowPrivate: true });
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'false', TUNAI_OUTBOUND_ALLOW_PRIVATE: '' }), { allowLinkLocal: false, allowPrivate: false });
  });

  test('an explicit TUNAI_OUTBOUND_ALLOW_PRIVATE wins both ways', () => {
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'false', TUNAI_OUTBOUND_ALLOW_PRIVATE: 'true' }), { allowLinkLocal: false, allowPrivate: true });
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'false', TUNAI_OUTBOUND_ALLOW_PRIVATE: 'yes' }), { allowLinkLocal: false, allowPrivate: true });
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'true', TUNAI_OUTBOUND_ALLOW_PRIVATE: 'false' }), { allowLinkLocal: false, allowPrivate: false });
    assert.deepEqual(outbound({ TUNAI_OUTBOUND_ALLOW_PRIVATE: 'off' }), { allowLinkLocal: false, allowPrivate: false });
    // The override does not change sandbox mode itself.
    assert.equal(loadConfig({ TUNAI_SANDBOX: 'false', TUNAI_OUTBOUND_ALLOW_PRIVATE: 'true' }).sandbox, false);
    assert.equal(loadConfig({ TUNAI_OUTBOUND_ALLOW_PRIVATE: 'false' }).sandbox, true);
  });

  test('the two allowances are independent', () => {
    assert.deepEqual(outbound({ TUNAI_SANDBOX: 'false', TUNAI_OUTBOUND_ALLOW_LINK_LOCAL: 'true' }), { allowLinkLocal: true, allowPrivate: false });
    assert.deepEqual(outbound({ TUNAI_OUTBOUND_ALLOW_LINK_LOCAL: 'true' }), { allowLinkLocal: true, allowPrivate: true });
    assert.deepEqual(outbound({ TUNAI_OUTBOUND_ALLOW_LINK_LOCAL: 'true', TUNAI_OUTBOUND_ALLOW_PRIVATE: 'false' }), { allowLinkLocal: true, allowPrivate: false });
  });

  test('a value that is not a boolean is refused with the variable named', () => {
    assert.throws(() => loadConfig({ TUNAI_OUTBOUND_ALLOW_PRIVATE: 'maybe' }), /TUNAI_OUTBOUND_ALLOW_PRIVATE must be true or false \(got "maybe"\)/);
  });

  test('tunai --help lists TUNAI_OUTBOUND_ALLOW_PRIVATE among the environment variables', async () => {
    const { stdout } = await execFileAsync(process.execPath, [bin, '--help']);
    assert.match(stdout, /Environment:[\s\S]*TUNAI_OUTBOUND_ALLOW_LINK_LOCAL, TUNAI_OUTBOUND_ALLOW_PRIVATE/);
  });
});
