// Operator use case: switch a merchant off or on. Off, its apps get no token and every /v3 call is refused at once.
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps } from './deps.js';
import type { MerchantRecord } from './ports.js';

export async function setMerchantActive(deps: Pick<AppDeps, 'storage' | 'clock'>, merchantId: string, isActive: boolean): Promise<MerchantRecord> {
  const merchant = await deps.storage.merchants.setActive(merchantId, isActive, deps.clock.nowMs());
  if (!merchant) throw new CatalogError('MERCHANT_NOT_FOUND', `Merchant not found: ${merchantId}`);
  return merchant;
}
