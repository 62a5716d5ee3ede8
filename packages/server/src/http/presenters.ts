// Maps records to RM's wire objects field for field (every field present, times as RFC 3339).
import type { Merchant, MerchantSubscription, Store, Transaction, User } from '@tunai/client/contract';
import type { TransactionView } from '../app/transaction-view.js';
import type { MerchantRecord, StoreRecord, SubscriptionRecord, UserRecord } from '../app/ports.js';
import { isoFromMs, isoOrZero } from '../lib/clock.js';

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

export function presentStore(s: StoreRecord): Store {
  return {
    id: s.id,
    name: s.name,
    imageUrl: s.imageUrl,
    addressLine1: s.addressLine1,
    addressLine2: s.addressLine2,
    postCode: s.postCode,
    city: s.city,
    state: s.state,
    country: s.country,
    countryCode: s.countryCode,
    phoneNumber: s.phoneNumber,
    geoLocation: { latitude: s.latitude, longitude: s.longitude },
    status: s.status,
    isDefault: s.isDefault,
    createdAt: isoFromMs(s.createdAtMs),
    updatedAt: isoFromMs(s.updatedAtMs),
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

/** RM's Transaction, every field present: `error` is `{}` unless the payment failed, unset times are Go's zero time. */
export function presentTransaction({ transaction: t, store }: TransactionView): Transaction {
  return {
    store: presentStore(store),
    referenceId: t.referenceId,
    transactionId: t.id,
    order: {
      id: t.orderId,
      title: t.orderTitle,
      detail: t.orderDetail,
      additionalData: t.orderAdditionalData,
      amount: t.amountMinor,
    },
    terminalId: t.terminalId,
    payee: t.payerUserId === '' ? {} : { userId: t.payerUserId },
    currencyType: t.currency,
    balanceAmount: t.balanceMinor,
    platform: t.platform,
    method: t.method,
    transactionAt: isoOrZero(t.transactionAtMs),
    type: t.type,
    status: t.status,
    region: t.region,
    error: t.errorCode === null ? {} : { code: t.errorCode, message: t.errorMessage ?? '' },
    createdAt: isoFromMs(t.createdAtMs),
    updatedAt: isoFromMs(t.updatedAtMs),
  };
}
