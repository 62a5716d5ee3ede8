// Use case: one page of the calling merchant's stores, oldest first, with an opaque continuation point.
import type { AppDeps, Principal } from './deps.js';
import type { StorePage } from './ports.js';

export interface ListStoresInput {
  limit: number;
  afterId: string | null;
  updatedAtFromMs: number | null;
  updatedAtToMs: number | null;
}

export function listStores(deps: AppDeps, principal: Principal, input: ListStoresInput): Promise<StorePage> {
  return deps.storage.stores.list({ merchantId: principal.merchantId, ...input });
}
