// Use case: list the calling merchant's product subscriptions.
import type { AppDeps, Principal } from './deps.js';
import type { SubscriptionRecord } from './ports.js';

export function listMerchantSubscriptions(deps: AppDeps, principal: Principal): Promise<SubscriptionRecord[]> {
  return deps.storage.subscriptions.list(principal.merchantId);
}
