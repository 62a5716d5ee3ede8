// The delivery sweep: due outbox events are claimed, then signed, POSTed and settled in the background, every attempt recorded.
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
import { ReceiverSlots } from './receiver-slots.js';
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
  /**
   * Attempts in flight per receiver, kept across sweeps by the process (see main.ts); without it each call counts only
   * the attempts it starts itself.
   */
  receiverSlots?: ReceiverSlots;
}

/**
 * One attempt at one claimed event; the event's attempts count already includes it. Resolves to true when the event
 * is due again at once because a re-send was accepted while the attempt was in flight (the worker then sweeps soon).
 */
async function attempt(deps: DeliveryDeps, event: OutboxEventRecord, startedAtMs: number): Promise<boolean> {
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
  const settled = await deps.storage.transaction((storage) =>
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
  // The attempt's own outcome is recorded; a re-send accepted meanwhile keeps the event due (see finishAttempt).
  const resent = settled !== null && settled.status === 'PENDING' && settled.nextAttemptAtMs !== null && settled.nextAttemptAtMs <= nowMs;
  if (resent) deps.logger.info({ eventId: event.id, attempt: event.attempts }, 'webhook re-sent during the attempt: due again');
  return resent;
}

/** Attempts one claim phase started: each settles once its attempt is recorded (never rejects). */
export interface StartedAttempts {
  /** Per attempt: true when a re-send during it left the event due again at once. */
  attempts: Promise<boolean>[];
  /** The due list filled the room it was given: more events may be due than were claimed. */
  full: boolean;
  /**
   * Due events may have been left for want of a slot of their receiver: a sweep after the next attempt ends may take
   * them (and runOnce sweeps again once this sweep's attempts are recorded).
   */
  heldBack: boolean;
}

/**
 * Claims due events that no worker holds, at most `slots` of them (and outboxBatchMax), and no more per receiver than
 * its free slots (webhookInFlightPerReceiverMax in all, counted in `receiverSlots`), and starts one attempt on each
 * without waiting for it: resolves once the claims are made. Safe with several sweeps and processes on one database:
 * each claim is one conditional UPDATE, and a worker that dies mid-attempt leaves a lease that lapses (at least once,
 * same id). Nothing is claimed that cannot start at once, so a lease is only ever held by an attempt under way.
 */
export async function startDueAttempts(deps: DeliveryDeps, slots: number): Promise<StartedAttempts> {
  const room = Math.min(slots, limits.outboxBatchMax);
  if (room <= 0) return { attempts: [], full: true, heldBack: false };
  const receivers = deps.receiverSlots ?? new ReceiverSlots(limits.webhookInFlightPerReceiverMax);
  const skipped = receivers.full();
  const due = await deps.storage.outbox.dueEvents(deps.clock.nowMs(), room, receivers.perReceiverMax, skipped);
  // More may be due than this sweep takes: for receivers it skipped, and for those the list cut at their cap.
  const listed = new Map<string, number>();
  for (const { receiver } of due) listed.set(receiver, (listed.get(receiver) ?? 0) + 1);
  let heldBack = skipped.length > 0 || [...listed.values()].some((count) => count >= receivers.perReceiverMax);
  const started = await Promise.all(
    due.map(async ({ id: eventId, receiver }): Promise<{ done: Promise<boolean> } | null> => {
      // Its attempt from before a clock move is still out: it settles the event when it ends.
      if (!receivers.startEvent(eventId)) return null;
      // Taken before the claim, in list order: the first events of a receiver get its remaining slots.
      if (!receivers.take(receiver)) {
        receivers.endEvent(eventId);
        heldBack = true;
        return null;
      }
      const giveBack = () => {
        receivers.release(receiver);
        receivers.endEvent(eventId);
      };
      let event: OutboxEventRecord | null;
      let nowMs: number;
      try {
        nowMs = deps.clock.nowMs();
        event = await deps.storage.outbox.claim(eventId, nowMs, nowMs + limits.webhookLeaseMs);
      } catch (error) {
        giveBack();
        deps.logger.error({ err: error, eventId }, 'webhook claim failed unexpectedly');
        return null;
      }
      if (!event) {
        giveBack();
        return null;
      }
      // Wrapped: an attempt's promise must not be awaited here (the claim phase ends before the attempts do).
      const done = attempt(deps, event, nowMs)
        .catch((error: unknown) => {
          // One bad event never stops the others; its lease lapses and it is tried again.
          deps.logger.error({ err: error, eventId }, 'webhook delivery failed unexpectedly');
          return false;
        })
        .finally(giveBack);
      return { done };
    }),
  );
  const attempts: Promise<boolean>[] = [];
  for (const s of started) if (s) attempts.push(s.done);
  return { attempts, full: due.length >= room, heldBack };
}
