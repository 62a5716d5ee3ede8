// Notify webhook events as tunai's /admin/webhooks endpoints show them (a tunai extension; RM has no such API).
import { Type, type Static } from '@sinclair/typebox';

export const WebhookEventStatus = Type.Union([Type.Literal('PENDING'), Type.Literal('DELIVERED'), Type.Literal('FAILED')]);
export type WebhookEventStatus = Static<typeof WebhookEventStatus>;

export const WebhookAttempt = Type.Object({
  attempt: Type.Integer(),
  startedAt: Type.String(),
  durationMs: Type.Integer(),
  /** 0 when no response came (refused, unreachable, timed out); `error` says which. */
  httpStatus: Type.Integer(),
  error: Type.String(),
  outcome: Type.Union([Type.Literal('DELIVERED'), Type.Literal('RETRY'), Type.Literal('GAVE_UP')]),
});
export type WebhookAttempt = Static<typeof WebhookAttempt>;

export const WebhookEvent = Type.Object({
  id: Type.String(),
  eventType: Type.String(),
  subjectId: Type.String(),
  targetUrl: Type.String(),
  status: WebhookEventStatus,
  attempts: Type.Integer(),
  /** Go's zero time once nothing more is scheduled. */
  nextAttemptAt: Type.String(),
  lastError: Type.String(),
  createdAt: Type.String(),
  deliveredAt: Type.String(),
  /** Present on the single-event answers (get, resend). */
  attemptLog: Type.Optional(Type.Array(WebhookAttempt)),
});
export type WebhookEvent = Static<typeof WebhookEvent>;
