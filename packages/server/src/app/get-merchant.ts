// Use case: read the calling merchant's profile.
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps, Principal } from './deps.js';
import type { MerchantRecord } from './ports.js';

export async function getMerchant(deps: AppDeps, principal: Principal): Promise<MerchantRecord> {
  const merchant = await deps.storage.merchants.get(principal.merchantId);
  if (!merchant) throw new CatalogError('MERCHANT_NOT_FOUND');
  return merchant;
}
