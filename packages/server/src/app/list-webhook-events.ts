// GET /admin/webhooks and `tunai webhooks list`: outbox events newest first, one merchant's (or all, for the operator), paged.
import type { AppDeps } from './deps.js';
import type { OutboxEventRecord, OutboxStatus } from './outbox-ports.js';

export interface WebhookEventPage {
  events: OutboxEventRecord[];
  /** Pass as beforeId for the next page; null on the last page. */
  nextBeforeId: string | null;
}

export async function listWebhookEvents(
  deps: AppDeps,
  merchantId: string | null,
  query: { status: OutboxStatus | null; limit: number; beforeId: string | null },
): Promise<WebhookEventPage> {
  // One extra row tells whether another page exists.
  const rows = await deps.storage.outbox.list({ merchantId, status: query.status, limit: query.limit + 1, beforeId: query.beforeId });
  const events = rows.slice(0, query.limit);
  const hasMore = rows.length > query.limit;
  return { events, nextBeforeId: hasMore ? (events[events.length - 1]?.id ?? null) : null };
}
