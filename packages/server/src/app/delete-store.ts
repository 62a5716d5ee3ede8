// Use case: delete one of the calling merchant's stores; the default store stays.
import { CatalogError } from '../lib/catalog-error.js';
import { refuseStoreDeletion } from '../domain/store-rules.js';
import type { AppDeps, Principal } from './deps.js';

export async function deleteStore(deps: AppDeps, principal: Principal, storeId: string): Promise<void> {
  await deps.storage.transaction(async (tx) => {
    const store = await tx.stores.get(principal.merchantId, storeId);
    if (!store) throw new CatalogError('STORE_NOT_FOUND');
    const refusal = refuseStoreDeletion(store);
    if (refusal) throw new CatalogError(refusal);
    const deleted = await tx.stores.delete(principal.merchantId, storeId, deps.clock.nowMs());
    if (!deleted) throw new CatalogError('STORE_NOT_FOUND');
    await tx.merchants.releaseStoreSlot(principal.merchantId);
  });
}
