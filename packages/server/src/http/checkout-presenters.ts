// Maps Transaction QR and checkout records to RM's wire objects, field for field.
import { limits, type Checkout, type CreatedQrCode, type QrCode } from '@tunai/client/contract';
import type { CheckoutRecord } from '../app/checkout-ports.js';
import type { QrCodeView } from '../app/create-qr-code.js';
import type { StoreRecord } from '../app/ports.js';
import { isoFromMs } from '../lib/clock.js';
import { presentStore } from './presenters.js';

function qrFields({ qr, qrCodeUrl }: QrCodeView): Omit<QrCode, 'storeId'> {
  return {
    type: qr.type,
    isPreFillAmount: qr.isPreFillAmount,
    currencyType: qr.currency,
    amount: qr.amountMinor,
    platform: qr.platform,
    method: [...qr.methods],
    expiry: {
      type: qr.expiryType,
      day: qr.expiryDays,
      expiredAt: qr.expiresAtMs === null ? limits.qrPermanentExpiresAt : isoFromMs(qr.expiresAtMs),
    },
    code: qr.code,
    status: qr.status,
    qrCodeUrl,
    redirectUrl: qr.redirectUrl,
    order: { title: qr.orderTitle, detail: qr.orderDetail, additionalData: qr.orderAdditionalData },
    createdAt: isoFromMs(qr.createdAtMs),
    updatedAt: isoFromMs(qr.updatedAtMs),
  };
}

/** The create answer carries the store object (spec "Create Transaction QR Code"). */
export function presentCreatedQrCode(view: QrCodeView, store: StoreRecord): CreatedQrCode {
  return { store: presentStore(store), ...qrFields(view) };
}

/** The queries carry `storeId` (spec "Get Transaction QR Code URL"). */
export function presentQrCode(view: QrCodeView): QrCode {
  return { storeId: view.qr.storeId, ...qrFields(view) };
}

export function presentCheckout(c: CheckoutRecord): Checkout {
  return {
    id: c.id,
    order: { id: c.orderId, title: c.orderTitle, detail: c.orderDetail, additionalData: c.orderAdditionalData, amount: c.amountMinor, currencyType: c.currency },
    type: c.type,
    transactionId: c.transactionId ?? '',
    platform: 'OPEN_API',
    method: [...c.methods],
    redirectUrl: c.redirectUrl,
    notifyUrl: c.notifyUrl,
    startAt: isoFromMs(c.startAtMs),
    endAt: isoFromMs(c.endAtMs),
    status: c.status,
    createdAt: isoFromMs(c.createdAtMs),
    updatedAt: isoFromMs(c.updatedAtMs),
  };
}
