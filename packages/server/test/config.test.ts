// Runtime configuration: the PostgreSQL settings (timeouts, pool), and the outbound allowances (link-local, private) and how the
// private one follows TUNAI_SANDBOX.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/lib/config.js';
import { databaseTarget } from '../src/main.js';

const execFileAsync = promisify(execFile);
const bin = new URL('../bin/tunai.js', import.meta.url).pathname;

/** A PostgreSQL setting: its variable, its Config field and DatabaseTarget field, its default and its range. */
const postgresSettings = [
  { variable: 'TUNAI_DATABASE_CONNECT_TIMEOUT_MS', field: 'databaseConnectTimeoutMs', targetField: 'connectTimeoutMs', fallback: 10_000, max: 600_000 },
  { variable: 'TUNAI_DATABASE_IDLE_IN_TRANSACTION_MS', field: 'databaseIdleInTransactionMs', targetField: 'idleInTransactionMs', fallback: 30_000, max: 3_600_000 },
  { variable: 'TUNAI_DATABASE_QUERY_TIMEOUT_MS', field: 'databaseQueryTimeoutMs', targetField: 'queryTimeoutMs', fallback: 60_000, max: 3_600_000 },
  { variable: 'TUNAI_DATABASE_POOL_MAX', field: 'databasePoolMax', targetField: 'poolMax', fallback: 10, max: 1_000 },
] as const;

describe('PostgreSQL settings', () => {
  for (const { variable, field, targetField, fallback, max } of postgresSettings) {
    test(`${variable} defaults to ${fallback}, takes whole numbers within 1..${max} (max and max+1), and reaches the PostgreSQL target`, () => {
      assert.equal(loadConfig({})[field], fallback);
      assert.equal(loadConfig({ [variable]: '1' })[field], 1);
      assert.equal(loadConfig({ [variable]: String(max) })[field], max);
      for (const bad of ['0', String(max + 1), '-1', '2.5', 'soon']) {
        assert.throws(() => loadConfig({ [variable]: bad }), new RegExp(variable), `"${bad}" is refused, naming the variable`);
      }
      const target = databaseTarget(loadConfig({ DATABASE_URL: 'postgres://db.example/tunai', [variable]: '7' }));
      assert.equal(target.kind === 'postgres' ? target[targetField] : null, 7);
    });
  }

  test('every setting reaches the target, each at its default when unset', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', TUNAI_DATABASE_CONNECT_TIMEOUT_MS: '2500' });
    assert.deepEqual(databaseTarget(config), { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test', connectTimeoutMs: 2_500, idleInTransactionMs: 30_000, queryTimeoutMs: 60_000, poolMax: 10 });
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
