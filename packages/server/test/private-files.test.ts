// The SQLite files hold the server's signing key in clear: tunai creates them readable by its own user only, and
// tightens files an earlier version left readable by others (SQLite only: PostgreSQL keeps its own files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../src/main.js';
import { nonceFilePath } from '../src/store/nonce-claims.js';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** The database files that exist: the main file, its WAL and shared memory, and the nonce file with its own. */
function databaseFiles(filePath: string): string[] {
  const nonces = nonceFilePath(filePath);
  return [filePath, `${filePath}-wal`, `${filePath}-shm`, nonces, `${nonces}-wal`, `${nonces}-shm`].filter((path) => existsSync(path));
}

let nonceSerial = 0;

async function openAndWrite(filePath: string): Promise<void> {
  const opened = await openStorage({ kind: 'sqlite', filePath });
  // A nonce claim makes the nonce worker open (and create) its file.
  const nonce = `nonce-${String(++nonceSerial).padStart(4, '0')}`;
  assert.equal(await opened.storage.nonces.claim('app-1', nonce, Date.now(), Date.now() + 60_000), true);
  await opened.storage.close();
}

test('a new data directory is 0700 and every database file in it 0600, with the usual umask 022', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'tunai-private-'));
  const previousUmask = process.umask(0o022);
  try {
    const dataDir = join(parent, 'data', 'nested');
    const filePath = join(dataDir, 'tunai.db');
    await openAndWrite(filePath);
    assert.equal(modeOf(dataDir), '700');
    const files = databaseFiles(filePath);
    assert.ok(files.includes(filePath) && files.includes(nonceFilePath(filePath)), `both databases exist: ${files.join(', ')}`);
    for (const path of files) assert.equal(modeOf(path), '600', path);
  } finally {
    process.umask(previousUmask);
    rmSync(parent, { recursive: true, force: true });
  }
});

test('database files an earlier version left readable by others are tightened to 0600 when opened', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'tunai-private-'));
  try {
    const filePath = join(parent, 'tunai.db');
    await openAndWrite(filePath);
    for (const path of databaseFiles(filePath)) chmodSync(path, 0o644);
    await openAndWrite(filePath);
    for (const path of databaseFiles(filePath)) assert.equal(modeOf(path), '600', path);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
