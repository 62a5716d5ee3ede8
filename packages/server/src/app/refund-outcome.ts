// Shared by refund and its retry: record the wallet's answer to a refund, with its ledger entry, in one db transaction.
import type { UpstreamRefund } from './connector.js';
import type { PaymentDeps } from './payment-deps.js';
import { bookRefund } from './payment-outcomes.js';
import type { RefundRecord, TransactionRecord } from './payment-ports.js';

export async function applyRefundResult(deps: PaymentDeps, tx: TransactionRecord, refund: RefundRecord, result: UpstreamRefund): Promise<UpstreamRefund['status']> {
  const nowMs = deps.clock.nowMs();
  if (result.status === 'UNKNOWN') {
    await deps.storage.payments.refunds.retryLater(refund.id, nowMs + deps.payments.refundRetryMs, nowMs);
    return 'UNKNOWN';
  }
  await deps.storage.transaction(async (storage) => {
    // Only the caller that finishes the PENDING row applies it: a refund is counted once.
    if (!(await storage.payments.refunds.finish(refund.id, result.status, nowMs))) return;
    if (result.status === 'SUCCESS') {
      await storage.payments.applyRefundSuccess(tx.id, refund.amountMinor, nowMs);
      await bookRefund(storage, deps, tx, refund.amountMinor, refund.id);
    } else {
      await storage.payments.releaseRefund(tx.id, refund.amountMinor, nowMs);
    }
  });
  return result.status;
}
