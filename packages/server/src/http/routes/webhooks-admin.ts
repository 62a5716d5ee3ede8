// Routes under our own /admin prefix (never /v3): a merchant lists, inspects and re-sends its notify webhooks.
import { Type } from '@sinclair/typebox';
import { getWebhookEvent, webhookEventNotFound } from '../../app/get-webhook-event.js';
import { listWebhookEvents } from '../../app/list-webhook-events.js';
import type { PaymentDeps } from '../../app/payment-deps.js';
import { resendWebhookEvent } from '../../app/resend-webhook-event.js';
import { presentWebhookEvent } from '../../app/webhook-event-view.js';
import { jsonBody } from '../body.js';
import { itemEnvelope, itemsEnvelope } from '../envelope.js';
import { encodeCursor, parsePageParams } from '../list-query.js';
import { openApiRoute, type OpenApiContext } from '../open-api.js';
import { validate } from '../validate.js';

const WebhookListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String()),
    cursor: Type.Optional(Type.String()),
    status: Type.Optional(Type.Union([Type.Literal('PENDING'), Type.Literal('DELIVERED'), Type.Literal('FAILED')])),
  },
  { additionalProperties: false },
);

/** Event ids are digits; anything else cannot name one, so it is not looked up. */
function eventIdParam(params: unknown): string {
  const id = (params as { eventId?: string }).eventId ?? '';
  if (!/^[0-9]{1,32}$/.test(id)) throw webhookEventNotFound();
  return id;
}

export function registerWebhookAdminRoutes(ctx: OpenApiContext, deps: PaymentDeps): void {
  // The merchant's own Bearer token; signed like any Open API call when a signature is sent.
  const guarded = { scope: 'manage_payment', signature: 'when-present' } as const;
  openApiRoute(ctx, {
    ...guarded,
    method: 'GET',
    url: '/admin/webhooks',
    handler: async (request, auth) => {
      const query = validate(WebhookListQuery, request.query, 'query');
      const page = parsePageParams(query);
      const result = await listWebhookEvents(deps, auth.principal.merchantId, {
        status: query.status ?? null,
        limit: page.limit,
        beforeId: page.afterId,
      });
      return itemsEnvelope(
        result.events.map((e) => presentWebhookEvent(e)),
        { count: result.events.length, ...(result.nextBeforeId ? { cursor: encodeCursor(result.nextBeforeId) } : {}) },
      );
    },
  });
  openApiRoute(ctx, {
    ...guarded,
    method: 'GET',
    url: '/admin/webhooks/:eventId',
    handler: async (request, auth) => {
      const detail = await getWebhookEvent(deps, auth.principal.merchantId, eventIdParam(request.params));
      return itemEnvelope(presentWebhookEvent(detail.event, detail.attempts));
    },
  });
  openApiRoute(ctx, {
    ...guarded,
    method: 'POST',
    url: '/admin/webhooks/:eventId/resend',
    handler: async (request, auth) => {
      // It takes no body, but one that is not JSON is refused like anywhere else.
      jsonBody(request);
      const detail = await resendWebhookEvent(deps, auth.principal.merchantId, eventIdParam(request.params));
      return itemEnvelope(presentWebhookEvent(detail.event, detail.attempts));
    },
  });
}
