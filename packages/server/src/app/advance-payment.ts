// One closed-loop step for a transaction the loop owns: query the wallet, or reverse at the deadline or on request.
import { nextLoopAction } from '../domain/payments.js';
import type { PaymentConnector, UpstreamPayment } from './connector.js';
import type { PaymentDeps } from './payment-deps.js';
import { applyPaymentResult, nextCheckAfterQuery, reverseUpstream } from './payment-outcomes.js';

/** Does nothing unless the transaction is due and this caller wins its lease (several workers may race). */
export async function advancePayment(deps: PaymentDeps, transactionId: string): Promise<boolean> {
  const nowMs = deps.clock.nowMs();
  if (!(await deps.storage.payments.claim(transactionId, nowMs, nowMs + deps.payments.leaseMs))) return false;
  const tx = await deps.storage.payments.getById(transactionId);
  if (!tx) return false;
  const connector = deps.connectors.byName(tx.connector);

  if (tx.status === 'SUCCESS' && tx.reverseRequested) {
    await reverseUpstream(deps, connector, tx, 'REVERSED');
    return true;
  }
  if (tx.status !== 'IN_PROCESS') {
    // Nothing left to do (a reverse arrived after the outcome, or a lapsed step rescheduled it): release the claim and
    // leave it final. Only the lease and the schedule are written: the balance read above may already be stale, since a
    // refund reserves its amount on a final payment without this step's lease.
    await deps.storage.payments.releaseFinal(tx.id, tx.status, nowMs);
    return true;
  }
  const action = nextLoopAction(connector.pollProfile, tx.createdAtMs, nowMs, tx.reverseRequested, tx.payDeadlineAtMs);
  if (action.kind === 'reverse') {
    // At the deadline, one last look first (the payer may have just paid, or a crashed process never
    // asked): reverse only what is still unfinished. Once reversing has begun, keep reversing.
    if (!tx.reverseRequested && tx.reverseAttempts === 0) {
      const last = await queryOnce(connector, tx.id);
      if (last.status === 'SUCCESS' || last.status === 'FAILED' || last.status === 'NOT_FOUND') {
        await applyPaymentResult(deps, connector, tx, last, deps.clock.nowMs());
        return true;
      }
    }
    await reverseUpstream(deps, connector, tx, 'REVERSED');
    return true;
  }
  const result = await queryOnce(connector, tx.id);
  await applyPaymentResult(deps, connector, tx, result, nextCheckAfterQuery(connector, tx, deps.clock.nowMs()));
  return true;
}

async function queryOnce(connector: PaymentConnector, transactionId: string): Promise<UpstreamPayment> {
  try {
    return await connector.query(transactionId);
  } catch (error) {
    // A query that broke tells us nothing; ask again on schedule.
    return { status: 'UNKNOWN', reason: error instanceof Error ? error.message : String(error) };
  }
}
