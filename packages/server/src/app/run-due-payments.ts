// The closed loop's tick: every transaction and refund that is due gets its next step (safe with several processes).
import { advancePayment } from './advance-payment.js';
import type { PaymentDeps } from './payment-deps.js';
import { retryRefund } from './retry-refund.js';

/** How many due items one tick takes on; the rest wait for the next tick. */
const batchSize = 100;

export async function runDuePayments(deps: PaymentDeps): Promise<number> {
  const nowMs = deps.clock.nowMs();
  const transactionIds = await deps.storage.payments.dueIds(nowMs, batchSize);
  for (const id of transactionIds) await advancePayment(deps, id);
  const refundIds = await deps.storage.payments.refunds.dueIds(nowMs, batchSize);
  for (const id of refundIds) await retryRefund(deps, id);
  return transactionIds.length + refundIds.length;
}
