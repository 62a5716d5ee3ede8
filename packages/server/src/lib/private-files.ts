// SQLite files hold the server's signing key and every merchant's records: only the user tunai runs as may read them.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Owner read and write only. */
const privateFileMode = 0o600;
/** Owner only, for a data directory tunai creates. */
const privateDirectoryMode = 0o700;

/**
 * Makes `directory` and its missing parents (each 0700), one level at a time. Node 20's recursive mkdir loops for
 * ever where a file system refuses a new entry with ENOENT under a parent that exists (procfs: `--data /proc/x`);
 * here that refusal is thrown, as any other (EACCES, ENOTDIR, EROFS …).
 */
export function makeDirectory(directory: string): void {
  const missing: string[] = [];
  for (let current = resolve(directory); ; ) {
    try {
      statSync(current);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path, { mode: privateDirectoryMode });
    } catch (error) {
      // Another process made it meanwhile.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * Makes `filePath` a file only its owner can read, before SQLite opens it: created 0600 when missing (with its
 * directory 0700 when that is missing too), or stripped of group and other permissions when an earlier version (or
 * the umask) left them. SQLite gives the -wal and -shm files it creates the main file's permissions; ones already
 * there are tightened too. A file owned by someone else cannot be changed and is left as it is.
 */
export function preparePrivateDatabaseFile(filePath: string): void {
  makeDirectory(dirname(filePath));
  // Appending opens an existing file as it is and creates a missing one with this mode.
  closeSync(openSync(filePath, 'a', privateFileMode));
  for (const path of [filePath, `${filePath}-wal`, `${filePath}-shm`]) {
    try {
      const mode = statSync(path).mode & 0o777;
      if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
    } catch {
      // Missing (no -wal yet) or not ours: nothing to tighten.
    }
  }
}
