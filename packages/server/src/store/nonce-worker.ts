// Worker thread: spends request nonces in their own SQLite file, one transaction per batch, off the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { preparePrivateDatabaseFile } from '../lib/private-files.js';
import type { NonceReply, NonceRequest } from './nonce-protocol.js';

const { filePath } = workerData as { filePath: string };
preparePrivateDatabaseFile(filePath);
const sqlite = new BetterSqlite3(filePath);
sqlite.pragma('journal_mode = WAL');
// NORMAL in WAL mode survives a process crash; a busy writer in another process is waited for, off the event loop.
sqlite.pragma('synchronous = NORMAL');
sqlite.pragma('busy_timeout = 5000');
sqlite.exec(`
  create table if not exists request_nonces (
    client_id text not null,
    nonce text not null,
    expires_at_ms integer not null,
    primary key (client_id, nonce)
  ) without rowid;
  create index if not exists request_nonces_by_expiry on request_nonces (expires_at_ms);
`);
// Insert, or take over a row whose window has passed; a live duplicate changes nothing.
const insert = sqlite.prepare<[string, string, number, number]>(
  `insert into request_nonces (client_id, nonce, expires_at_ms) values (?, ?, ?)
   on conflict (client_id, nonce) do update set expires_at_ms = excluded.expires_at_ms
   where request_nonces.expires_at_ms <= ?`,
);
const purge = sqlite.prepare<[number]>('delete from request_nonces where expires_at_ms <= ?');

const claimAll = sqlite.transaction((request: Extract<NonceRequest, { kind: 'claim' }>) => {
  const fresh = new Uint8Array(request.nonces.length);
  request.nonces.forEach((nonce, index) => {
    const nowMs = request.nowMs[index] as number;
    fresh[index] = insert.run(request.clientIds[index] as string, nonce, request.expiresAtMs[index] as number, nowMs).changes === 1 ? 1 : 0;
  });
  return fresh;
});

parentPort?.on('message', (request: NonceRequest) => {
  let reply: NonceReply;
  try {
    if (request.kind === 'claim') {
      const fresh = claimAll.immediate(request);
      reply = { batchId: request.batchId, fresh };
      parentPort?.postMessage(reply, [fresh.buffer]);
      return;
    }
    reply = { batchId: request.batchId, purged: purge.run(request.nowMs).changes };
  } catch (error) {
    reply = { batchId: request.batchId, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
