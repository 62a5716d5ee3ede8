// Routes: GET /v3/merchant and GET /v3/merchant/subscriptions.
import { getMerchant } from '../../app/get-merchant.js';
import { listMerchantSubscriptions } from '../../app/list-merchant-subscriptions.js';
import type { AppDeps } from '../../app/deps.js';
import { itemEnvelope } from '../envelope.js';
import { openApiRoute, type OpenApiContext } from '../open-api.js';
import { presentMerchant, presentSubscription } from '../presenters.js';

export function registerMerchantRoutes(ctx: OpenApiContext, deps: AppDeps): void {
  openApiRoute(ctx, {
    method: 'GET',
    url: '/v3/merchant',
    scope: 'get_merchant_profile',
    signature: 'when-present',
    handler: async (_request, auth) => itemEnvelope(presentMerchant(await getMerchant(deps, auth.principal))),
  });
  openApiRoute(ctx, {
    method: 'GET',
    url: '/v3/merchant/subscriptions',
    scope: 'get_merchant_subscription',
    signature: 'when-present',
    handler: async (_request, auth) =>
      itemEnvelope((await listMerchantSubscriptions(deps, auth.principal)).map(presentSubscription)),
  });
}
