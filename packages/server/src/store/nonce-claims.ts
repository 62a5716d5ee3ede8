// SQLite nonce claims on a worker thread: claims arriving together share one message and one commit.
import type { Worker } from 'node:worker_threads';
import { startTypeScriptWorker } from '../lib/ts-worker.js';
import { turnBatches } from '../lib/turn-batches.js';
import type { NonceReply, NonceRequest } from './nonce-protocol.js';

export interface NonceClaims {
  /** True when the nonce was unspent (or its window had passed) and is now spent, durably; false for a replay. */
  claim(clientId: string, nonce: string, nowMs: number, expiresAtMs: number): Promise<boolean>;
  purgeExpired(nowMs: number): Promise<number>;
  close(): Promise<void>;
}

/** A claim waiting for its batch's commit. */
export interface PendingClaim {
  clientId: string;
  nonce: string;
  nowMs: number;
  expiresAtMs: number;
  resolve: (fresh: boolean) => void;
  reject: (error: unknown) => void;
}

type Waiter = { resolve: (reply: NonceReply) => void; reject: (error: unknown) => void };

/**
 * A commit holds at most eight claims, sent as soon as there are eight, so the worker commits while the event loop
 * reads the turn's other requests, and one commit's latency stays bounded under any load.
 */
const claimsPerCommit = 8;

/** Nonces live beside the database file (`tunai.db` → `tunai-nonces.db`); an in-memory database keeps them in memory too. */
export function nonceFilePath(databaseFilePath: string): string {
  if (databaseFilePath === ':memory:') return ':memory:';
  return databaseFilePath.endsWith('.db') ? `${databaseFilePath.slice(0, -3)}-nonces.db` : `${databaseFilePath}-nonces`;
}

/**
 * Every signed request spends its nonce, and in WAL mode the commit dominates that write. The worker owns its own
 * connection to a file of its own, so:
 * - the commit (and any wait for another process's write lock) never blocks the event loop;
 * - its commits do not count as foreign changes to the main database, whose read cache watches PRAGMA data_version;
 * - every server process on the same data directory spends nonces in the same file, so a replay is refused by
 *   whichever process receives it (the primary key decides).
 * A claim is answered only after its transaction committed, so a nonce reported fresh is durable.
 * If the worker dies, the claims it owed fail (the request gets a 500, nothing is spent twice) and the next
 * claim starts a new worker.
 */
export function startNonceWorker(filePath: string): NonceClaims {
  let worker: Worker | null = null;
  let nextBatchId = 1;
  const waiters = new Map<number, Waiter>();
  let closed = false;
  let onDrained: (() => void) | null = null;
  const drained = () => {
    onDrained?.();
    onDrained = null;
  };

  const failAll = (error: unknown) => {
    for (const waiter of waiters.values()) waiter.reject(error);
    waiters.clear();
    drained();
  };
  const ensureWorker = (): Worker => {
    if (worker) return worker;
    const started = startTypeScriptWorker(new URL('./nonce-worker.ts', import.meta.url), { filePath });
    started.unref();
    started.on('message', (reply: NonceReply) => {
      const waiter = waiters.get(reply.batchId);
      if (!waiter) return;
      waiters.delete(reply.batchId);
      waiter.resolve(reply);
      if (waiters.size === 0) {
        started.unref();
        drained();
      }
    });
    const onGone = (error: unknown) => {
      if (worker === started) worker = null;
      failAll(error instanceof Error ? error : new Error('nonce worker exited'));
    };
    started.on('error', onGone);
    started.on('exit', onGone);
    worker = started;
    return started;
  };
  const send = (request: NonceRequest): Promise<NonceReply> =>
    new Promise((resolve, reject) => {
      const target = ensureWorker();
      waiters.set(request.batchId, { resolve, reject });
      // Referenced while answers are owed, so a short-lived command still gets them; unreferenced when idle.
      target.ref();
      target.postMessage(request);
    });

  const batches = turnBatches<PendingClaim>(claimsPerCommit, (batch) => {
    const request: NonceRequest = {
      kind: 'claim',
      batchId: nextBatchId++,
      clientIds: batch.map((c) => c.clientId),
      nonces: batch.map((c) => c.nonce),
      nowMs: batch.map((c) => c.nowMs),
      expiresAtMs: batch.map((c) => c.expiresAtMs),
    };
    send(request).then(
      (reply) => {
        if ('fresh' in reply) batch.forEach((claim, index) => claim.resolve(reply.fresh[index] === 1));
        else batch.forEach((claim) => claim.reject(new Error(`nonce claim failed: ${'error' in reply ? reply.error : 'unexpected reply'}`)));
      },
      (error: unknown) => batch.forEach((claim) => claim.reject(error)),
    );
  });

  return {
    claim(clientId, nonce, nowMs, expiresAtMs) {
      if (closed) return Promise.reject(new Error('nonce worker closed'));
      return new Promise((resolve, reject) => batches.add({ clientId, nonce, nowMs, expiresAtMs, resolve, reject }));
    },
    async purgeExpired(nowMs) {
      if (closed) return 0;
      const reply = await send({ kind: 'purge', batchId: nextBatchId++, nowMs });
      if ('purged' in reply) return reply.purged;
      throw new Error(`nonce purge failed: ${'error' in reply ? reply.error : 'unexpected reply'}`);
    },
    async close() {
      if (closed) return;
      // Claims already queued are sent, and every claim sent is answered, before the worker stops.
      batches.flushNow();
      closed = true;
      if (waiters.size > 0) await new Promise<void>((resolve) => (onDrained = resolve));
      const closing = worker;
      worker = null;
      if (!closing) return;
      closing.removeAllListeners('exit');
      closing.removeAllListeners('error');
      await closing.terminate();
    },
  };
}
