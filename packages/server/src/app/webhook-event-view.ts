// The wire shape of an outbox event and its attempts, shared by the admin endpoints and `tunai webhooks … --json`.
import type { WebhookAttempt, WebhookEvent } from '@tunai/client/contract';
import { isoFromMs, isoOrZero } from '../lib/clock.js';
import type { OutboxAttemptRecord, OutboxEventRecord } from './outbox-ports.js';

export function presentWebhookAttempt(a: OutboxAttemptRecord): WebhookAttempt {
  return {
    attempt: a.attempt,
    startedAt: isoFromMs(a.startedAtMs),
    durationMs: a.durationMs,
    httpStatus: a.httpStatus ?? 0,
    error: a.error,
    outcome: a.outcome,
  };
}

export function presentWebhookEvent(e: OutboxEventRecord, attempts?: readonly OutboxAttemptRecord[]): WebhookEvent {
  return {
    id: e.id,
    eventType: e.eventType,
    subjectId: e.subjectId,
    targetUrl: e.targetUrl,
    status: e.status,
    attempts: e.attempts,
    nextAttemptAt: isoOrZero(e.status === 'PENDING' ? e.nextAttemptAtMs : null),
    lastError: e.lastError,
    createdAt: isoFromMs(e.createdAtMs),
    deliveredAt: isoOrZero(e.deliveredAtMs),
    ...(attempts ? { attemptLog: attempts.map(presentWebhookAttempt) } : {}),
  };
}
