// SQLite files hold the server's signing key and every merchant's records: only the user tunai runs as may read them.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Owner read and write only. */
const privateFileMode = 0o600;
/** Owner only, for a data directory tunai creates. */
const privateDirectoryMode = 0o700;

/**
 * Makes `filePath` a file only its owner can read, before SQLite opens it: created 0600 when missing (with its
 * directory 0700 when that is missing too), or stripped of group and other permissions when an earlier version (or
 * the umask) left them. SQLite gives the -wal and -shm files it creates the main file's permissions; ones already
 * there are tightened too. A file owned by someone else cannot be changed and is left as it is.
 */
export function preparePrivateDatabaseFile(filePath: string): void {
  mkdirSync(dirname(filePath), { recursive: true, mode: privateDirectoryMode });
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
