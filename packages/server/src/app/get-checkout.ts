// GET /v3/payment/online?checkoutId=: a checkout's status; one nobody paid in time is recorded as EXPIRED when read.
import { effectiveCheckoutStatus } from '../domain/checkout.js';
import type { CheckoutRecord } from './checkout-ports.js';
import type { PaymentDeps } from './payment-deps.js';
import { loadCheckout } from './pay-checkout.js';

/** The checkout as it stands now, for the merchant (merchantId) or the payer's page (none). */
export async function getCheckout(deps: PaymentDeps, checkoutId: string, merchantId?: string): Promise<CheckoutRecord> {
  const checkout = await loadCheckout(deps, checkoutId, merchantId);
  const nowMs = deps.clock.nowMs();
  const status = effectiveCheckoutStatus(checkout.status, checkout.transactionId !== null, checkout.endAtMs, nowMs);
  if (status === 'EXPIRED' && checkout.status === 'IN_PROCESS') {
    // Only while still unpaid: a payment attached at this moment (another process's clock) keeps the checkout open.
    await deps.storage.checkout.checkouts.finishUnpaid(checkout.id, 'EXPIRED', nowMs);
    return (await deps.storage.checkout.checkouts.get(checkout.id)) ?? checkout;
  }
  return checkout;
}
