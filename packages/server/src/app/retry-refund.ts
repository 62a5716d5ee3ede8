// Retries a refund whose wallet answer never came, with the same refund id (the wallet refunds each id once).
import type { UpstreamRefund } from './connector.js';
import type { PaymentDeps } from './payment-deps.js';
import { applyRefundResult } from './refund-outcome.js';

export async function retryRefund(deps: PaymentDeps, refundId: string): Promise<void> {
  const nowMs = deps.clock.nowMs();
  if (!(await deps.storage.payments.refunds.claim(refundId, nowMs, nowMs + deps.payments.leaseMs))) return;
  const refund = await deps.storage.payments.refunds.get(refundId);
  if (!refund) return;
  const tx = await deps.storage.payments.getById(refund.transactionId);
  if (!tx) return;
  let result: UpstreamRefund;
  try {
    result = await deps.connectors.byName(tx.connector).refund(tx.id, refund.id, refund.amountMinor);
  } catch (error) {
    result = { status: 'UNKNOWN', reason: error instanceof Error ? error.message : String(error) };
  }
  await applyRefundResult(deps, tx, refund, result);
}
