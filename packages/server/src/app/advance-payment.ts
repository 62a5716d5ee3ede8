// One closed-loop step for a transaction the loop owns: query the wallet, or reverse at the deadline or on request.
import { nextLoopAction } from '../domain/payments.js';
import type { UpstreamPayment } from './connector.js';
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
    // Nothing left to do (a reverse arrived after the outcome): release the claim and leave it final.
    await deps.storage.payments.recordOutcome(tx.id, tx.status, { status: tx.status, balanceMinor: tx.balanceMinor }, nowMs, null);
    return true;
  }
  const action = nextLoopAction(connector.pollProfile, tx.createdAtMs, nowMs, tx.reverseRequested);
  if (action.kind === 'reverse') {
    await reverseUpstream(deps, connector, tx, 'REVERSED');
    return true;
  }
  let result: UpstreamPayment;
  try {
    result = await connector.query(tx.id);
  } catch (error) {
    // A query that broke tells us nothing; ask again on schedule.
    result = { status: 'UNKNOWN', reason: error instanceof Error ? error.message : String(error) };
  }
  await applyPaymentResult(deps, connector, tx, result, nextCheckAfterQuery(connector, tx, deps.clock.nowMs()));
  return true;
}
