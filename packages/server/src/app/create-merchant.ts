// Use case: onboard a merchant with its default store, owner user and product subscriptions.
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps } from './deps.js';
import type { MerchantRecord, StoreRecord, UserRecord } from './ports.js';
import { newStoreRecord } from './create-store.js';
import { limits } from '@tunai/client/contract';

export interface CreateMerchantInput {
  companyName: string;
  ownerFirstName?: string;
  ownerLastName?: string;
  ownerEmail?: string;
}

export interface CreatedMerchant {
  merchant: MerchantRecord;
  store: StoreRecord;
  user: UserRecord;
}

const dayMs = 86_400_000;

/** The merchant's rows, with ids drawn now. */
function newMerchantRecords(deps: AppDeps, input: CreateMerchantInput, nowMs: number): CreatedMerchant {
  const address = {
    addressLine1: 'B-5-30, 5TH FLOOR, BLOCK BOUGAINVILLEA',
    addressLine2: 'PJU 6A, LEBUHRAYA SPRINT, 10 BOULEVARD',
    postcode: '47400',
    city: 'PETALING JAYA',
    state: 'SELANGOR',
    country: 'MALAYSIA',
  };
  const merchant: MerchantRecord = {
    id: deps.ids.numericId(),
    companyName: input.companyName,
    companyType: 'SOLE PROPRIETORSHIP',
    companyLogoUrl: '',
    registrationNumber: '',
    businessCategory: 'SOFTWARE AND IT',
    establishedAtMs: null,
    countryCode: '60',
    phoneNumber: '377334080',
    ...address,
    invoiceAddress: { ...address },
    isActive: true,
    status: 'VERIFIED',
    isMasterMerchant: false,
    masterMerchantId: '',
    isPartner: false,
    partnerId: '',
    gstNo: '',
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
  const store = newStoreRecord(
    deps,
    merchant.id,
    {
      name: input.companyName,
      addressLine1: address.addressLine1,
      addressLine2: address.addressLine2,
      postCode: address.postcode,
      city: address.city,
      state: address.state,
      country: address.country,
      countryCode: '60',
      phoneNumber: '377334080',
    },
    true,
  );
  const user: UserRecord = {
    id: deps.ids.numericId(),
    merchantId: merchant.id,
    firstName: input.ownerFirstName ?? 'Demo',
    lastName: input.ownerLastName ?? 'Owner',
    countryCode: '60',
    phoneNumber: '123456789',
    email: input.ownerEmail ?? 'owner@example.com',
    avatarUrl: '',
    status: 'ACTIVE',
    isActive: true,
    storeIds: [store.id],
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
  return { merchant, store, user };
}

export async function createMerchant(deps: AppDeps, input: CreateMerchantInput): Promise<CreatedMerchant> {
  const nowMs = deps.clock.nowMs();
  return deps.storage.transaction(async (tx) => {
    // Drawn inside, so a run repeated after an id collision draws fresh ids.
    const { merchant, store, user } = newMerchantRecords(deps, input, nowMs);
    await tx.merchants.insert(merchant);
    if (!(await tx.merchants.reserveStoreSlot(merchant.id, limits.storesPerMerchantMax))) {
      throw new CatalogError('STORE_MAXIMUM');
    }
    await tx.stores.insert(store);
    await tx.users.insert(user);
    // A sandbox merchant is subscribed to the products RM sells, valid for a year with RM's 90-day grace.
    for (const [index, id] of [1000, 1001, 1003].entries()) {
      await tx.subscriptions.insert({
        id,
        merchantId: merchant.id,
        gracePeriodDays: 90,
        expiryAtMs: nowMs + (365 + index) * dayMs,
        terminateAtMs: nowMs + (455 + index) * dayMs,
        status: 'ACTIVE',
      });
    }
    return { merchant, store, user };
  });
}
