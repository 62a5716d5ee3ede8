// Maps records to RM's wire objects field for field (every field present, times as RFC 3339).
import type { Merchant, MerchantSubscription, User } from '@tunai/client/contract';
import type { MerchantRecord, SubscriptionRecord, UserRecord } from '../app/ports.js';
import { isoFromMs, isoOrZero } from '../lib/clock.js';

export { presentStore, presentTransaction } from '../app/wire-views.js';

export function presentMerchant(m: MerchantRecord): Merchant {
  return {
    id: m.id,
    companyName: m.companyName,
    companyType: m.companyType,
    companyLogoUrl: m.companyLogoUrl,
    registrationNumber: m.registrationNumber,
    businessCategory: m.businessCategory,
    establishedAt: isoOrZero(m.establishedAtMs),
    countryCode: m.countryCode,
    phoneNumber: m.phoneNumber,
    addressLine1: m.addressLine1,
    addressLine2: m.addressLine2,
    postcode: m.postcode,
    city: m.city,
    state: m.state,
    country: m.country,
    invoiceAddress: { ...m.invoiceAddress },
    isActive: m.isActive,
    status: m.status,
    isMasterMerchant: m.isMasterMerchant,
    masterMerchantId: m.masterMerchantId,
    isPartner: m.isPartner,
    partnerId: m.partnerId,
    gstNo: m.gstNo,
    createdAt: isoFromMs(m.createdAtMs),
    updatedAt: isoFromMs(m.updatedAtMs),
  };
}

export function presentSubscription(s: SubscriptionRecord): MerchantSubscription {
  return {
    id: s.id,
    gracePeriod: s.gracePeriodDays,
    expiryAt: isoFromMs(s.expiryAtMs),
    terminateAt: isoFromMs(s.terminateAtMs),
    status: s.status,
  };
}

export function presentUser(u: UserRecord): User {
  return {
    id: u.id,
    firstName: u.firstName,
    lastName: u.lastName,
    countryCode: u.countryCode,
    phoneNumber: u.phoneNumber,
    email: u.email,
    avatarUrl: u.avatarUrl,
    status: u.status,
    storeId: [...u.storeIds],
    isActive: u.isActive,
    createdAt: isoFromMs(u.createdAtMs),
    updatedAt: isoFromMs(u.updatedAtMs),
  };
}
