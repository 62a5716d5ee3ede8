// GET /v3/payment/transaction/qrcode/:code/transactions: the payments made through one of the merchant's QR codes.
import type { Principal } from './deps.js';
import { loadQrCode } from './get-qr-code.js';
import type { PaymentDeps } from './payment-deps.js';
import type { TransactionListQuery } from './payment-ports.js';
import { withStores, type TransactionView } from './transaction-view.js';

export async function listQrTransactions(
  deps: PaymentDeps,
  principal: Principal,
  code: string,
  query: Omit<TransactionListQuery, 'merchantId' | 'qrCode'>,
): Promise<{ views: TransactionView[]; nextBeforeId: string | null }> {
  const qr = await loadQrCode(deps, code, principal.merchantId);
  const page = await deps.storage.payments.list({ ...query, merchantId: principal.merchantId, qrCode: qr.code });
  return { views: await withStores(deps, page.transactions), nextBeforeId: page.nextBeforeId };
}
