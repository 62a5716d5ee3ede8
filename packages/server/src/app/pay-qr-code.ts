// The payer pays a Transaction QR on the unified page: each payment is a QR_PAY transaction; a DYNAMIC QR pays once.
import { limits } from '@tunai/client/contract';
import { checkoutWallets, qrOfferedMethods } from '../domain/checkout.js';
import { CatalogError } from '../lib/catalog-error.js';
import { loadQrCode } from './get-qr-code.js';
import type { QrCodeRecord } from './checkout-ports.js';
import type { PaymentDeps } from './payment-deps.js';
import { openedPayment, startPayerPayment, type StartedPayment } from './start-payer-payment.js';

/** Why a QR cannot take a payment now; null when it can. */
export function closedQrError(qr: QrCodeRecord, nowMs: number): CatalogError | null {
  if (qr.expiresAtMs !== null && nowMs >= qr.expiresAtMs) {
    return new CatalogError('QR_INVALID', `Invalid QR code: it expired at ${new Date(qr.expiresAtMs).toISOString()}`);
  }
  if (qr.status === 'REDEEMED') return new CatalogError('QR_REDEEMED', 'QR code redeemed: this one-time QR code was already paid');
  return null;
}

/** A one-time QR whose payment is under way (held, not yet redeemed): its page and its payer's re-tap stay open. */
export function paymentUnderWay(qr: QrCodeRecord): boolean {
  return qr.type === 'DYNAMIC' && qr.pendingTransactionId !== null && qr.status !== 'REDEEMED';
}

export async function payQrCode(deps: PaymentDeps, request: { code: string; method: string; amountMinor?: number | undefined }): Promise<StartedPayment> {
  const qr = await loadQrCode(deps, request.code);
  // A one-time QR being paid: its payer may tap the same wallet again, even once the QR has expired (that wallet
  // order still completes); anyone else is told why the QR takes no payment.
  const pendingOneTime = paymentUnderWay(qr);
  const closed = closedQrError(qr, deps.clock.nowMs());
  if (closed && !pendingOneTime) throw closed;
  const offered: readonly string[] = qrOfferedMethods(qr.methods);
  if (!offered.includes(request.method)) {
    throw new CatalogError('PAYMENT_PARAM_INVALID', `Invalid payment params: this QR code takes ${offered.join(', ')}, not ${JSON.stringify(request.method)}`);
  }
  const wallet = checkoutWallets[request.method as keyof typeof checkoutWallets];
  const amountMinor = qr.isPreFillAmount ? qr.amountMinor : (request.amountMinor ?? 0);
  if (!Number.isSafeInteger(amountMinor) || amountMinor < limits.paymentAmountMinorMin) {
    throw new CatalogError('MINIMUM_AMOUNT_REQUIRED', 'Minimum amount should be 10sen: enter at least RM 0.10');
  }
  if (amountMinor > limits.paymentAmountMinorMax) {
    throw new CatalogError('PAYMENT_EXCEED_AMOUNT_LIMIT_PER_TRANSACTION', `Payment exceeds the per-transaction limit of ${limits.paymentAmountMinorMax} sen`);
  }
  const nowMs = deps.clock.nowMs();
  const wanted = { method: wallet.method, region: wallet.region, amountMinor };
  // A one-time QR already being paid: the same payer tapping the same wallet again gets the same wallet order.
  if (pendingOneTime && qr.pendingTransactionId !== null) {
    try {
      return await openedPayment(deps, qr.pendingTransactionId, wanted, 'this one-time QR code');
    } catch (error) {
      throw closed ?? error;
    }
  }
  try {
    return await startPayerPayment(
      deps,
      {
        merchantId: qr.merchantId,
        storeId: qr.storeId,
        // RM gives a QR payment its transaction id as order id.
        orderId: null,
        orderTitle: qr.orderTitle,
        orderDetail: qr.orderDetail,
        orderAdditionalData: qr.orderAdditionalData,
        amountMinor,
        method: wallet.method,
        region: wallet.region,
        type: 'QR_PAY',
        checkoutId: null,
        qrCode: qr.code,
        payDeadlineAtMs: nowMs + limits.qrPayerWindowMs,
      },
      async (storage, id) => {
        if (qr.type !== 'DYNAMIC') return null;
        if (await storage.checkout.qr.hold(qr.code, id, deps.clock.nowMs())) return null;
        const now = await storage.checkout.qr.get(qr.code);
        return now?.status === 'REDEEMED'
          ? new CatalogError('QR_REDEEMED', 'QR code redeemed: this one-time QR code was already paid')
          : new CatalogError('PAYMENT_IN_PROCESS', 'Payment is in process: someone is paying this one-time QR code');
      },
    );
  } catch (error) {
    // Another request took the QR at the same moment: answer with that payment if it is the same wallet and amount.
    if (!(error instanceof CatalogError) || error.code !== 'PAYMENT_IN_PROCESS' || qr.type !== 'DYNAMIC') throw error;
    const now = await loadQrCode(deps, qr.code);
    if (now.pendingTransactionId === null) throw closedQrError(now, deps.clock.nowMs()) ?? error;
    return openedPayment(deps, now.pendingTransactionId, wanted, 'this one-time QR code');
  }
}
