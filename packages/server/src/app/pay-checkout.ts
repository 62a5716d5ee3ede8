// The payer picks a method for a checkout (hosted page, direct checkout, or the per-method QR): one payment per checkout.
import { limits, type CheckoutMethod } from '@tunai/client/contract';
import { checkoutMethodsFor, checkoutWallets, effectiveCheckoutStatus } from '../domain/checkout.js';
import { fpxBank } from '../domain/fpx-banks.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { CheckoutRecord } from './checkout-ports.js';
import type { PaymentDeps } from './payment-deps.js';
import { openedPayment, startPayerPayment, type StartedPayment } from './start-payer-payment.js';

export interface CheckoutPaymentRequest {
  checkoutId: string;
  method: string;
  bankCode?: string | undefined;
  /** Set on the Open API (the checkout must be this merchant's); the hosted page is the payer's and has none. */
  merchantId?: string | undefined;
}

export async function loadCheckout(deps: PaymentDeps, checkoutId: string, merchantId?: string): Promise<CheckoutRecord> {
  const checkout = /^[0-9]{1,32}$/.test(checkoutId) ? await deps.storage.checkout.checkouts.get(checkoutId) : null;
  if (!checkout || (merchantId !== undefined && checkout.merchantId !== merchantId)) {
    throw new CatalogError('TRANSACTION_NOT_FOUND', `Transaction not found: no checkout ${checkoutId.slice(0, 64)}`);
  }
  return checkout;
}

/** Why a checkout can no longer be paid, as the catalog says it. */
export function closedCheckoutError(checkout: CheckoutRecord, nowMs: number): CatalogError | null {
  const status = effectiveCheckoutStatus(checkout.status, checkout.transactionId !== null, checkout.endAtMs, nowMs);
  switch (status) {
    case 'IN_PROCESS':
      return null;
    case 'EXPIRED':
      return new CatalogError('TRANSACTION_EXPIRED', `Transaction is expired: checkout ${checkout.id} closed at ${new Date(checkout.endAtMs).toISOString()}`);
    case 'SUCCESS':
      return new CatalogError('ORDER_PAID', `Order is paid: checkout ${checkout.id} was paid`);
    case 'CANCELLED':
      return new CatalogError('ORDER_CANCELLED', `Order cancelled: checkout ${checkout.id} was cancelled`);
    case 'FAILED':
      return new CatalogError('TRANSACTION_STATUS_FAILED', `Transaction failed: checkout ${checkout.id} ended in a failed payment`);
  }
}

export async function payCheckout(deps: PaymentDeps, request: CheckoutPaymentRequest): Promise<StartedPayment> {
  const checkout = await loadCheckout(deps, request.checkoutId, request.merchantId);
  const closed = closedCheckoutError(checkout, deps.clock.nowMs());
  if (closed) throw closed;
  const offered = checkoutMethodsFor(checkout.type, checkout.methods, checkout.excludeMethods);
  const methods: readonly string[] = offered.ok ? offered.value : [];
  if (!methods.includes(request.method)) {
    throw new CatalogError('PAYMENT_PARAM_INVALID', `Invalid payment params: checkout ${checkout.id} offers ${methods.join(', ')}, not ${JSON.stringify(request.method)}`);
  }
  const method = request.method as CheckoutMethod;
  if (method === 'FPX_MY') {
    const bank = fpxBank(request.bankCode ?? '');
    if (!bank) throw new CatalogError('PAYMENT_PARAM_INVALID', 'Invalid payment params: FPX needs fpx.bankCode from GET /v3/payment/fpx-bank');
    if (!bank.isOnline) throw new CatalogError('BANK_ERROR', `Bank system error: ${bank.name} is offline; choose another bank`);
  }
  const wallet = checkoutWallets[method];

  if (checkout.transactionId !== null) return openedPayment(deps, checkout.transactionId, wallet, `checkout ${checkout.id}`);
  try {
    return await startPayerPayment(
      deps,
      {
        merchantId: checkout.merchantId,
        storeId: checkout.storeId,
        orderId: checkout.orderId,
        orderTitle: checkout.orderTitle,
        orderDetail: checkout.orderDetail,
        orderAdditionalData: checkout.orderAdditionalData,
        amountMinor: checkout.amountMinor,
        method: wallet.method,
        region: wallet.region,
        type: checkout.type,
        checkoutId: checkout.id,
        qrCode: null,
        payDeadlineAtMs: checkout.endAtMs,
      },
      async (storage, transactionId) =>
        (await storage.checkout.checkouts.attachTransaction(checkout.id, transactionId, deps.clock.nowMs()))
          ? null
          : new CatalogError('PAYMENT_IN_PROCESS', `Payment is in process: checkout ${checkout.id} already has a payment`),
    );
  } catch (error) {
    // Another request picked a method at the same moment: answer with that payment if it is the same wallet.
    if (!(error instanceof CatalogError) || error.code !== 'PAYMENT_IN_PROCESS') throw error;
    const now = await loadCheckout(deps, checkout.id);
    if (now.transactionId === null) throw closedCheckoutError(now, deps.clock.nowMs()) ?? error;
    return openedPayment(deps, now.transactionId, wallet, `checkout ${checkout.id}`);
  }
}
