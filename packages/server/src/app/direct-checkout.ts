// POST /v3/payment/online/checkout: pay a checkout without the hosted page (URL, QR image, DuitNow QR, FPX bank).
import type { DirectCheckoutRequest } from '@tunai/client/contract';
import { duitNowPayload } from '../domain/duitnow.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { Principal } from './deps.js';
import { payCheckout } from './pay-checkout.js';
import type { PaymentDeps } from './payment-deps.js';

export type DirectCheckoutResult = { type: 'URL'; url: string } | { type: 'QRCODE' | 'DUITNOW_QRCODE'; qrData: string };

export async function directCheckout(deps: PaymentDeps, principal: Principal, input: DirectCheckoutRequest): Promise<DirectCheckoutResult> {
  const type = input.type;
  if (type !== 'URL' && type !== 'QRCODE' && type !== 'DUITNOW_QRCODE') {
    throw new CatalogError('PAYMENT_PARAM_INVALID', `Invalid payment params: type ${JSON.stringify(type)} is not supported here (URL, QRCODE, DUITNOW_QRCODE)`);
  }
  if (input.method === 'FPX_MY' && type !== 'URL') {
    throw new CatalogError('PAYMENT_PARAM_INVALID', 'Invalid payment params: FPX_MY is a bank redirect and needs type URL');
  }
  const started = await payCheckout(deps, { checkoutId: input.checkoutId, method: input.method, bankCode: input.fpx?.bankCode, merchantId: principal.merchantId });
  if (type === 'URL') return { type, url: started.payUrl };
  if (type === 'QRCODE') return { type, qrData: started.payUrl };
  const tx = started.transaction;
  const store = await deps.storage.stores.getAny(tx.merchantId, tx.storeId);
  return { type, qrData: duitNowPayload({ merchantName: store?.name ?? 'TUNAI', city: store?.city ?? '', amountMinor: tx.amountMinor, reference: tx.id }) };
}
