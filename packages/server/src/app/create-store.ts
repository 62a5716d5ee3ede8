// Use case: create a store for the calling merchant within the per-merchant store limit.
import { limits } from '@tunai/client/contract';
import { CatalogError } from '../lib/catalog-error.js';
import { normaliseAddressText } from '../domain/store-rules.js';
import type { AppDeps, Principal } from './deps.js';
import type { StoreRecord } from './ports.js';

export interface StoreInput {
  name: string;
  addressLine1: string;
  addressLine2?: string | undefined;
  postCode: string;
  city: string;
  state: string;
  country: string;
  countryCode: string;
  phoneNumber: string;
  geoLocation?: { latitude: number; longitude: number } | undefined;
}

export function newStoreRecord(deps: AppDeps, merchantId: string, input: StoreInput, isDefault: boolean): StoreRecord {
  const nowMs = deps.clock.nowMs();
  return {
    id: deps.ids.numericId(),
    merchantId,
    name: input.name.trim(),
    imageUrl: '',
    addressLine1: normaliseAddressText(input.addressLine1),
    addressLine2: normaliseAddressText(input.addressLine2 ?? ''),
    postCode: input.postCode.trim(),
    city: normaliseAddressText(input.city),
    state: normaliseAddressText(input.state),
    country: normaliseAddressText(input.country),
    countryCode: input.countryCode,
    phoneNumber: input.phoneNumber,
    latitude: input.geoLocation?.latitude ?? 0,
    longitude: input.geoLocation?.longitude ?? 0,
    status: 'ACTIVE',
    isDefault,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
}

export async function createStore(deps: AppDeps, principal: Principal, input: StoreInput): Promise<StoreRecord> {
  return deps.storage.transaction(async (tx) => {
    // The slot counter is a conditional update, so concurrent creates cannot overshoot the limit.
    const reserved = await tx.merchants.reserveStoreSlot(principal.merchantId, limits.storesPerMerchantMax);
    if (!reserved) throw new CatalogError('STORE_MAXIMUM');
    const store = newStoreRecord(deps, principal.merchantId, input, false);
    await tx.stores.insert(store);
    return store;
  });
}
