// GET /admin/webhooks/:eventId and `tunai webhooks show`: one outbox event with every recorded delivery attempt.
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps } from './deps.js';
import type { OutboxAttemptRecord, OutboxEventRecord } from './outbox-ports.js';

export interface WebhookEventDetail {
  event: OutboxEventRecord;
  attempts: OutboxAttemptRecord[];
}

/**
 * An unknown id and another merchant's id answer alike, so ids cannot be probed. The catalog has no code for webhook
 * events; TRANSACTION_NOT_FOUND (404) is the nearest: every event announces a transaction (its subjectId).
 */
export function webhookEventNotFound(): CatalogError {
  return new CatalogError('TRANSACTION_NOT_FOUND', 'Webhook event not found');
}

/** The event if the caller may see it: `merchantId` null is the operator (CLI), who sees every merchant's events. */
export async function findWebhookEvent(deps: AppDeps, merchantId: string | null, eventId: string): Promise<OutboxEventRecord> {
  const event = await deps.storage.outbox.get(eventId);
  if (!event || (merchantId !== null && event.merchantId !== merchantId)) throw webhookEventNotFound();
  return event;
}

export async function getWebhookEvent(deps: AppDeps, merchantId: string | null, eventId: string): Promise<WebhookEventDetail> {
  const event = await findWebhookEvent(deps, merchantId, eventId);
  return { event, attempts: await deps.storage.outbox.attempts(event.id) };
}
