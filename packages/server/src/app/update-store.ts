// Use case: change fields of one of the calling merchant's stores.
import { CatalogError } from '../lib/catalog-error.js';
import { normaliseAddressText } from '../domain/store-rules.js';
import type { AppDeps, Principal } from './deps.js';
import type { StoreChanges, StoreRecord } from './ports.js';
import type { StoreInput } from './create-store.js';

export async function updateStore(
  deps: AppDeps,
  principal: Principal,
  storeId: string,
  input: Partial<StoreInput>,
): Promise<StoreRecord> {
  const address = (v: string | undefined) => (v === undefined ? undefined : normaliseAddressText(v));
  const changes: StoreChanges = {
    name: input.name?.trim(),
    addressLine1: address(input.addressLine1),
    addressLine2: address(input.addressLine2),
    postCode: input.postCode?.trim(),
    city: address(input.city),
    state: address(input.state),
    country: address(input.country),
    countryCode: input.countryCode,
    phoneNumber: input.phoneNumber,
    latitude: input.geoLocation?.latitude,
    longitude: input.geoLocation?.longitude,
  };
  const updated = await deps.storage.stores.update(principal.merchantId, storeId, changes, deps.clock.nowMs());
  if (!updated) throw new CatalogError('STORE_NOT_FOUND');
  return updated;
}
