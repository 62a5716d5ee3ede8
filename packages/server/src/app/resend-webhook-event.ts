// POST /admin/webhooks/:eventId/resend and `tunai webhooks resend`: the same event (id and body) due again now.
import type { AppDeps } from './deps.js';
import { findWebhookEvent, getWebhookEvent, webhookEventNotFound, type WebhookEventDetail } from './get-webhook-event.js';

/**
 * Makes the event PENDING and due now, whatever its status, and wakes the outbox worker. A re-sent event that has
 * used its 12 attempts gets one more; receivers dedupe on the unchanged event id.
 */
export async function resendWebhookEvent(
  deps: AppDeps & { wakeOutbox: () => void },
  merchantId: string | null,
  eventId: string,
): Promise<WebhookEventDetail> {
  const event = await findWebhookEvent(deps, merchantId, eventId);
  if (!(await deps.storage.outbox.resend(event.id, deps.clock.nowMs()))) throw webhookEventNotFound();
  deps.wakeOutbox();
  return getWebhookEvent(deps, merchantId, event.id);
}
