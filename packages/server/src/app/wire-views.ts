// RM's Store and Transaction wire objects, field for field: shared by the routes and by events written to the outbox.
import type { NotifyTransaction, Store, Transaction } from '@tunai/client/contract';
import { isoFromMs, isoOrZero } from '../lib/clock.js';
import type { StoreRecord } from './ports.js';
import type { TransactionView } from './transaction-view.js';

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

/**
 * The transaction a payment notify carries: RM's notify adds `finalAmount` (what the payer paid) and `voucher`
 * (rm-wire-compat §4). tunai applies no vouchers, so the payer paid the order amount and `voucher` is null.
 * The /v3 transaction answers keep the spec's Transaction shape without them.
 */
export function presentNotifyTransaction(view: TransactionView): NotifyTransaction {
  return { ...presentTransaction(view), finalAmount: view.transaction.amountMinor, voucher: null };
}
