// Use case: read one of the calling merchant's stores; another merchant's store does not exist for them.
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps, Principal } from './deps.js';
import type { StoreRecord } from './ports.js';

export async function getStore(deps: AppDeps, principal: Principal, storeId: string): Promise<StoreRecord> {
  const store = await deps.storage.stores.get(principal.merchantId, storeId);
  if (!store) throw new CatalogError('STORE_NOT_FOUND');
  return store;
}
