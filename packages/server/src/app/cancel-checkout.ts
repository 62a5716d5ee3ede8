// The payer cancels on the hosted checkout page: the checkout ends CANCELLED and an open wallet order is reversed.
import { CatalogError } from '../lib/catalog-error.js';
import { advancePayment } from './advance-payment.js';
import type { CheckoutRecord } from './checkout-ports.js';
import type { PaymentDeps } from './payment-deps.js';
import { getCheckout } from './get-checkout.js';

export async function cancelCheckout(deps: PaymentDeps, checkoutId: string): Promise<CheckoutRecord> {
  const checkout = await getCheckout(deps, checkoutId);
  if (checkout.status !== 'IN_PROCESS') return checkout;
  const nowMs = deps.clock.nowMs();
  let transactionId = checkout.transactionId;
  if (transactionId === null) {
    // Conditional on no payment being linked: a wallet order opened at this same moment must be closed, not orphaned
    // under a CANCELLED checkout where the payer could still pay it.
    if (await deps.storage.checkout.checkouts.finishUnpaid(checkout.id, 'CANCELLED', nowMs)) {
      return (await deps.storage.checkout.checkouts.get(checkout.id)) ?? checkout;
    }
    const now = await deps.storage.checkout.checkouts.get(checkout.id);
    if (!now || now.status !== 'IN_PROCESS' || now.transactionId === null) return now ?? checkout;
    transactionId = now.transactionId;
  }
  // The wallet order must be closed so a late confirmation cannot take money for a cancelled checkout.
  if (!(await deps.storage.payments.requestCancel(transactionId, nowMs))) {
    // The wallet's answer was recorded first. When it already settled the checkout (the payer did pay), that is the
    // answer the payer should see; only a result still settling is "in process".
    const settled = await deps.storage.checkout.checkouts.get(checkout.id);
    if (settled && settled.status !== 'IN_PROCESS') return settled;
    throw new CatalogError('PAYMENT_IN_PROCESS', 'Payment is in process: the wallet already answered; wait for the result');
  }
  await deps.storage.checkout.checkouts.finish(checkout.id, 'CANCELLED', nowMs);
  await advancePayment(deps, transactionId);
  return (await deps.storage.checkout.checkouts.get(checkout.id)) ?? checkout;
}
