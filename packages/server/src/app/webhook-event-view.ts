// The wire shape of an outbox event and its attempts, shared by the admin endpoints and `tunai webhooks … --json`.
import { isoFromMs, isoOrZero } from '../lib/clock.js';
import type { AttemptOutcome, OutboxAttemptRecord, OutboxEventRecord, OutboxStatus } from './outbox-ports.js';

export interface WebhookAttemptView {
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** 0 when no response came (refused, unreachable, timed out); the error says which. */
  httpStatus: number;
  error: string;
  outcome: AttemptOutcome;
}

export interface WebhookEventView {
  id: string;
  eventType: string;
  subjectId: string;
  targetUrl: string;
  status: OutboxStatus;
  attempts: number;
  /** Go's zero time once nothing more is scheduled (delivered or given up). */
  nextAttemptAt: string;
  lastError: string;
  createdAt: string;
  deliveredAt: string;
  attemptLog?: WebhookAttemptView[];
}

export function presentWebhookAttempt(a: OutboxAttemptRecord): WebhookAttemptView {
  return {
    attempt: a.attempt,
    startedAt: isoFromMs(a.startedAtMs),
    durationMs: a.durationMs,
    httpStatus: a.httpStatus ?? 0,
    error: a.error,
    outcome: a.outcome,
  };
}

export function presentWebhookEvent(e: OutboxEventRecord, attempts?: readonly OutboxAttemptRecord[]): WebhookEventView {
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
