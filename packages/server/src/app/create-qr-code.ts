// POST /v3/payment/transaction/qrcode: a STATIC (reusable) or DYNAMIC (paid once) Transaction QR for a store.
import { randomBytes } from 'node:crypto';
import { limits, type CreateQrCodeRequest } from '@tunai/client/contract';
import { checkQrMethods, httpUrlProblem, qrExpiry } from '../domain/checkout.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { QrCodeRecord } from './checkout-ports.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';
import type { StoreRecord } from './ports.js';

export interface QrCodeView {
  qr: QrCodeRecord;
  qrCodeUrl: string;
}

export function qrCodeUrl(deps: PaymentDeps, code: string): string {
  return `${deps.publicBaseUrl}/payment/unified?code=${code}`;
}

export async function createQrCode(deps: PaymentDeps, principal: Principal, input: CreateQrCodeRequest): Promise<QrCodeView & { store: StoreRecord }> {
  if (input.currencyType !== 'MYR') {
    throw new CatalogError('PAYMENT_UNSUPPORTED_CURRENCY_TYPE', `Unsupported currency type: only MYR is accepted, not "${input.currencyType}"`);
  }
  const isPreFillAmount = input.isPreFillAmount ?? false;
  const amountMinor = input.amount ?? 0;
  // The amount matters only when it is pre-filled; otherwise the payer keys it in on the page.
  if (isPreFillAmount && amountMinor < limits.paymentAmountMinorMin) {
    throw new CatalogError('MINIMUM_AMOUNT_REQUIRED', `Minimum amount should be 10sen: amount is ${amountMinor} with isPreFillAmount true`);
  }
  const methods = checkQrMethods(input.method ?? []);
  if (!methods.ok) throw new CatalogError(methods.code, methods.message);
  const nowMs = deps.clock.nowMs();
  const expiry = qrExpiry(input.expiry, nowMs, { daysMax: limits.qrExpiryDaysMax, spanMsMax: limits.qrExpiryMsMax });
  if (!expiry.ok) throw new CatalogError(expiry.code, expiry.message);
  const redirectUrl = input.redirectUrl ?? '';
  if (redirectUrl !== '') {
    const problem = httpUrlProblem(redirectUrl);
    if (problem) throw new CatalogError('VALIDATION_ERROR', `Validations error: redirectUrl ${problem}`);
  }
  const store = await deps.storage.stores.get(principal.merchantId, input.storeId);
  if (!store) throw new CatalogError('STORE_NOT_FOUND');

  const qr: QrCodeRecord = {
    // 128 random bits: the code is the QR's only credential on the public payment page.
    code: randomBytes(16).toString('hex'),
    merchantId: principal.merchantId,
    storeId: store.id,
    type: input.type,
    isPreFillAmount,
    amountMinor: isPreFillAmount ? amountMinor : 0,
    currency: 'MYR',
    platform: 'OPEN_API',
    methods: methods.value,
    expiryType: expiry.value.expiryType,
    expiryDays: expiry.value.expiryDays,
    expiresAtMs: expiry.value.expiresAtMs,
    status: 'VALID',
    redirectUrl,
    orderTitle: input.order.title,
    orderDetail: input.order.detail ?? input.order.details ?? '',
    orderAdditionalData: input.order.additionalData ?? '',
    pendingTransactionId: null,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
  await deps.storage.checkout.qr.insert(qr);
  return { qr, qrCodeUrl: qrCodeUrl(deps, qr.code), store };
}
