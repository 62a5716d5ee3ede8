// The delivery sweep: due outbox events are claimed, signed, POSTed and settled with every attempt recorded.
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { limits } from '@tunai/client/contract';
import type { AttemptOutcome, AttemptResult, OutboxEventRecord } from '../app/outbox-ports.js';
import type { Storage } from '../app/ports.js';
import type { OutboundPolicy } from '../domain/outbound-url.js';
import { errorExcerpt, isDelivered, nextAfterFailure } from '../domain/outbox.js';
import type { Clock } from '../lib/clock.js';
import type { Ids } from '../lib/ids.js';
import { postOutbound, type ResolveAll } from './outbound-http.js';
import { callbackHeaders } from './sign-callback.js';

export interface DeliveryDeps {
  storage: Storage;
  clock: Clock;
  ids: Ids;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** The server's private key: receivers verify with the public half `tunai init` prints. */
  privateKey: KeyObject;
  timeoutMs: number;
  /** Which guarded ranges targets may reach (checked on the URL and on every address a host name resolves to). */
  outboundPolicy: OutboundPolicy;
  /** [0, 1) for the retry jitter. */
  random: () => number;
  /** A fresh X-Nonce-Str per attempt. */
  nonce: () => string;
  resolveAll?: ResolveAll;
}

/** One attempt at one claimed event; the event's attempts count already includes it. */
async function attempt(deps: DeliveryDeps, event: OutboxEventRecord, startedAtMs: number): Promise<AttemptOutcome> {
  const headers = callbackHeaders({ eventId: event.id, body: event.body, privateKey: deps.privateKey, nonceStr: deps.nonce(), nowMs: startedAtMs });
  const sent = await postOutbound({
    url: event.targetUrl,
    headers,
    body: event.body,
    timeoutMs: deps.timeoutMs,
    policy: deps.outboundPolicy,
    ...(deps.resolveAll ? { resolveAll: deps.resolveAll } : {}),
  });
  const nowMs = deps.clock.nowMs();
  const error = errorExcerpt(sent.error);
  let outcome: AttemptOutcome;
  let result: AttemptResult;
  if (isDelivered(sent.httpStatus)) {
    outcome = 'DELIVERED';
    result = { status: 'DELIVERED', nextAttemptAtMs: null, lastError: '', deliveredAtMs: nowMs };
  } else {
    const next = nextAfterFailure(event.attempts, nowMs, deps.random);
    outcome = next.status === 'PENDING' ? 'RETRY' : 'GAVE_UP';
    result = { status: next.status, nextAttemptAtMs: next.status === 'PENDING' ? next.nextAttemptAtMs : null, lastError: error, deliveredAtMs: null };
  }
  // In a transaction of its own so an attempt id another process also drew is drawn again, not a failed sweep.
  await deps.storage.transaction((storage) =>
    storage.outbox.finishAttempt(
      {
        id: deps.ids.numericId(),
        eventId: event.id,
        attempt: event.attempts,
        startedAtMs,
        durationMs: sent.durationMs,
        httpStatus: sent.httpStatus,
        error,
        outcome,
      },
      result,
      nowMs,
    ),
  );
  const log = { eventId: event.id, eventType: event.eventType, attempt: event.attempts, httpStatus: sent.httpStatus, outcome };
  if (outcome === 'DELIVERED') deps.logger.info(log, 'webhook delivered');
  else deps.logger.warn({ ...log, error }, outcome === 'GAVE_UP' ? 'webhook given up' : 'webhook attempt failed');
  return outcome;
}

/**
 * Takes every due event (up to outboxBatchMax) that no other worker holds and attempts it once, concurrently.
 * Returns how many attempts this sweep made. Safe with several sweeps and processes on one database: the claim
 * is one conditional UPDATE, and a worker that dies mid-attempt leaves a lease that lapses (at least once, same id).
 */
export async function deliverDueEvents(deps: DeliveryDeps): Promise<number> {
  const dueIds = await deps.storage.outbox.dueIds(deps.clock.nowMs(), limits.outboxBatchMax);
  const attempts = await Promise.all(
    dueIds.map(async (eventId) => {
      try {
        const nowMs = deps.clock.nowMs();
        const event = await deps.storage.outbox.claim(eventId, nowMs, nowMs + limits.webhookLeaseMs);
        if (!event) return 0;
        await attempt(deps, event, nowMs);
        return 1;
      } catch (error) {
        // One bad event never stops the sweep; its lease lapses and it is tried again.
        deps.logger.error({ err: error, eventId }, 'webhook delivery failed unexpectedly');
        return 0;
      }
    }),
  );
  return attempts.reduce((sum: number, n) => sum + n, 0);
}
