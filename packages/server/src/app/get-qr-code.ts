// GET /v3/payment/transaction/qrcode/:code: one of the merchant's Transaction QR codes.
import { CatalogError } from '../lib/catalog-error.js';
import type { QrCodeRecord } from './checkout-ports.js';
import { qrCodeUrl, type QrCodeView } from './create-qr-code.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';

/** Codes are 32 hex characters; anything else cannot name one and is not looked up. */
export async function loadQrCode(deps: PaymentDeps, code: string, merchantId?: string): Promise<QrCodeRecord> {
  const qr = /^[0-9a-f]{32}$/.test(code) ? await deps.storage.checkout.qr.get(code) : null;
  if (!qr || (merchantId !== undefined && qr.merchantId !== merchantId)) {
    throw new CatalogError('TRANSACTION_QR_CODE_NOT_FOUND', `Transaction qr code not found: ${code.slice(0, 64)}`);
  }
  return qr;
}

export async function getQrCode(deps: PaymentDeps, principal: Principal, code: string): Promise<QrCodeView> {
  const qr = await loadQrCode(deps, code, principal.merchantId);
  return { qr, qrCodeUrl: qrCodeUrl(deps, qr.code) };
}
