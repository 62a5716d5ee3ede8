// POST /v3/payment/refund: reserve the amount atomically, ask the wallet, then book the refund once.
import type { RefundRequest } from '@tunai/client/contract';
import { decideRefund } from '../domain/payments.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { UpstreamRefund } from './connector.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';
import type { RefundRecord } from './payment-ports.js';
import { applyRefundResult } from './refund-outcome.js';
import { withStore, type TransactionView } from './transaction-view.js';

export async function refundPayment(deps: PaymentDeps, principal: Principal, input: RefundRequest): Promise<TransactionView> {
  const { refund: request } = input;
  if (request.currencyType !== 'MYR') {
    throw new CatalogError('PAYMENT_UNSUPPORTED_CURRENCY_TYPE', `Unsupported currency type: only MYR is accepted, not "${request.currencyType}"`);
  }
  const tx = await deps.storage.payments.get(principal.merchantId, input.transactionId);
  if (!tx) throw new CatalogError('TRANSACTION_NOT_FOUND');
  const decision = decideRefund(tx, request.type, request.amount);
  if (!decision.ok) throw new CatalogError(decision.code, decision.message);

  const nowMs = deps.clock.nowMs();
  const refund = await deps.storage.transaction(async (storage): Promise<RefundRecord | null> => {
    if (!(await storage.payments.reserveRefund(tx.id, request.amount, nowMs))) return null;
    const reservedRefund: RefundRecord = {
      // Drawn inside, so a run repeated after an id collision draws a fresh one.
      id: deps.ids.numericId(),
      transactionId: tx.id,
      merchantId: tx.merchantId,
      type: request.type,
      amountMinor: request.amount,
      currency: 'MYR',
      reason: input.reason,
      status: 'PENDING',
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
      // Held by this request; if it dies mid-call the background loop retries with the same refund id.
      nextAttemptAtMs: nowMs + deps.payments.leaseMs,
    };
    await storage.payments.refunds.insert(reservedRefund);
    return reservedRefund;
  });
  if (!refund) {
    // Another refund (or a reverse) got there first: explain with the state as it is now.
    const now = await deps.storage.payments.getById(tx.id);
    const again = now ? decideRefund(now, request.type, request.amount) : { ok: false as const, code: 'TRANSACTION_NOT_FOUND' as const };
    if (!again.ok) throw new CatalogError(again.code, again.message);
    throw new CatalogError('INSUFFICIENT_REFUND_AMOUNT');
  }

  let result: UpstreamRefund;
  try {
    result = await deps.connectors.byName(tx.connector).refund(tx.id, refund.id, refund.amountMinor);
  } catch (error) {
    result = { status: 'UNKNOWN', reason: error instanceof Error ? error.message : String(error) };
  }
  const outcome = await applyRefundResult(deps, tx, refund, result);
  if (outcome === 'FAILED') throw new CatalogError('REFUND_FAILURE', `Refund failed at the wallet provider${result.status === 'FAILED' ? `: ${result.reason}` : ''}`);
  if (outcome === 'UNKNOWN') throw new CatalogError('PAYMENT_REFUNDING', 'Payment still refunding process: the wallet has not answered; tunai retries the same refund');
  const updated = await deps.storage.payments.getById(tx.id);
  if (!updated) throw new Error(`transaction ${tx.id} vanished`);
  return withStore(deps, updated);
}
