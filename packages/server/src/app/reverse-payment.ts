// POST /v3/payment/reverse: mark the reverse as wanted (it survives crashes), then run the closed-loop step now.
import { effectiveCheckoutStatus } from '../domain/checkout.js';
import { decideReverse } from '../domain/payments.js';
import { CatalogError } from '../lib/catalog-error.js';
import { advancePayment } from './advance-payment.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';
import { withStore, type TransactionView } from './transaction-view.js';

const contendedPauseMs = 25;

/**
 * No payment exists for the order. If it is a checkout the payer has not paid yet, the checkout is closed
 * (CANCELLED), so that a reverse before placing the order again (RM's advice after a timeout) also guarantees the old
 * one can no longer be paid; it still answers TRANSACTION_NOT_FOUND, since nothing was charged. Returns when the
 * payer picked a wallet meanwhile: that payment is then reversed like any other.
 */
async function closeUnpaidCheckout(deps: PaymentDeps, merchantId: string, orderId: string): Promise<void> {
  const checkout = await deps.storage.checkout.checkouts.getByOrder(merchantId, orderId);
  const nowMs = deps.clock.nowMs();
  if (!checkout || effectiveCheckoutStatus(checkout.status, checkout.transactionId !== null, checkout.endAtMs, nowMs) !== 'IN_PROCESS') {
    throw new CatalogError('TRANSACTION_NOT_FOUND');
  }
  if (checkout.transactionId === null && (await deps.storage.checkout.checkouts.finishUnpaid(checkout.id, 'CANCELLED', nowMs))) {
    throw new CatalogError(
      'TRANSACTION_NOT_FOUND',
      `Transaction not found: no payment was started for order ${orderId}; its checkout ${checkout.id} is cancelled now, so none can be`,
    );
  }
}

export async function reversePayment(deps: PaymentDeps, principal: Principal, orderId: string): Promise<TransactionView> {
  let tx = await deps.storage.payments.getByOrderId(principal.merchantId, orderId);
  if (!tx) {
    await closeUnpaidCheckout(deps, principal.merchantId, orderId);
    // The payment and its link to the checkout commit together, so it can be read now.
    tx = await deps.storage.payments.getByOrderId(principal.merchantId, orderId);
    if (!tx) throw new CatalogError('TRANSACTION_NOT_FOUND');
  }
  const decision = decideReverse(tx, deps.clock.nowMs(), deps.payments.reverseWindowMs);
  if (!decision.ok) throw new CatalogError(decision.code, decision.message);
  if ('alreadyReversed' in decision) return withStore(deps, tx);

  if (!(await deps.storage.payments.requestReverse(tx.id, deps.clock.nowMs()))) {
    const now = await deps.storage.payments.getById(tx.id);
    if (now?.status === 'REVERSED') return withStore(deps, now);
    throw new CatalogError('TRANSACTION_STATUS_NOT_IN_PROCESS', `Transaction status not in process: it is ${now?.status ?? 'gone'}`);
  }
  // The request stands even if this call gives up: the background loop keeps reversing.
  let waitedMs = 0;
  for (;;) {
    const ran = await advancePayment(deps, tx.id);
    const current = await deps.storage.payments.getById(tx.id);
    if (!current) throw new Error(`transaction ${tx.id} vanished`);
    if (current.status === 'REVERSED') return withStore(deps, current);
    if (current.status === 'FAILED') {
      throw new CatalogError('TRANSACTION_STATUS_NOT_IN_PROCESS', 'Transaction status not in process: the payment failed, so nothing was taken');
    }
    if (ran && current.reverseAttempts > tx.reverseAttempts) {
      throw new CatalogError('FAILED_TO_REVERSE_ORDER', 'Failed to reverse order: the wallet refused this time; tunai keeps retrying, query the order for the outcome');
    }
    if (ran) throw new CatalogError('TRANSACTION_STATUS_NOT_IN_PROCESS', `Transaction status not in process: it is ${current.status}`);
    if (waitedMs >= deps.payments.reverseWaitMs) {
      throw new CatalogError('FAILED_TO_REVERSE_ORDER', 'Failed to reverse order in time: tunai keeps retrying, query the order for the outcome');
    }
    await deps.payments.sleep(contendedPauseMs);
    waitedMs += contendedPauseMs;
  }
}
