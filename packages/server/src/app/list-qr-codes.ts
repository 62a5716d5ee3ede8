// GET /v3/payment/transaction/qrcodes: the merchant's QR codes, newest first unless asked otherwise.
import type { QrListQuery } from './checkout-ports.js';
import { qrCodeUrl, type QrCodeView } from './create-qr-code.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';

export async function listQrCodes(deps: PaymentDeps, principal: Principal, query: Omit<QrListQuery, 'merchantId'>): Promise<{ views: QrCodeView[]; hasMore: boolean }> {
  const rows = await deps.storage.checkout.qr.list({ ...query, merchantId: principal.merchantId, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  return { views: page.map((qr) => ({ qr, qrCodeUrl: qrCodeUrl(deps, qr.code) })), hasMore: rows.length > query.limit };
}
