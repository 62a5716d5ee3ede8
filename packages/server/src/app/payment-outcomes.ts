// Shared by the payment use cases: write an upstream answer to the transaction, with its ledger entries, in one db transaction.
import type { TransactionStatus } from '@tunai/client/contract';
import { errorMessages, type ErrorCode } from '@tunai/client/contract';
import { postingsFor, type EntryKind } from '../domain/ledger.js';
import { nextQueryAtMs, reverseRetryDelayMs } from '../domain/payments.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { PaymentConnector, UpstreamPayment, UpstreamReverse } from './connector.js';
import { settleCustomerScans } from './customer-scans-outcome.js';
import type { PaymentDeps } from './payment-deps.js';
import type { LedgerEntryInput, TransactionRecord } from './payment-ports.js';
import type { Storage } from './ports.js';

function ledgerEntry(deps: PaymentDeps, tx: TransactionRecord, kind: EntryKind, amountMinor: number, refundId = ''): LedgerEntryInput {
  return {
    id: deps.ids.numericId(),
    transactionId: tx.id,
    merchantId: tx.merchantId,
    kind,
    refundId,
    amountMinor,
    currency: tx.currency,
    method: tx.method,
    region: tx.region,
    bookedAtMs: deps.clock.nowMs(),
    postings: postingsFor(kind, tx.merchantId, tx.method, amountMinor),
  };
}

async function book(storage: Storage, deps: PaymentDeps, tx: TransactionRecord, kind: EntryKind, amountMinor: number, refundId = ''): Promise<void> {
  await storage.payments.ledger.book(ledgerEntry(deps, tx, kind, amountMinor, refundId));
}

export async function bookRefund(storage: Storage, deps: PaymentDeps, tx: TransactionRecord, amountMinor: number, refundId: string): Promise<void> {
  await book(storage, deps, tx, 'REFUND', amountMinor, refundId);
}

/**
 * Records what the wallet said about an IN_PROCESS payment; `next` is when to look again if it is not final.
 * Resolves to the transaction as this call's final outcome left it, or null when it wrote none (not final yet, or
 * another step had moved it on).
 */
export async function applyPaymentResult(
  deps: PaymentDeps,
  connector: PaymentConnector,
  tx: TransactionRecord,
  result: UpstreamPayment,
  nextCheckAtMs: number,
): Promise<TransactionRecord | null> {
  const nowMs = deps.clock.nowMs();
  switch (result.status) {
    case 'SUCCESS': {
      const paid = { status: 'SUCCESS', balanceMinor: tx.amountMinor, referenceId: result.referenceId, payerUserId: result.payerId, transactionAtMs: result.paidAtMs } as const;
      // The outcome and its entry are one statement on PostgreSQL, still inside a db transaction: a process that
      // dies or freezes before its commit leaves nothing written (the crash and idle-transaction suites stage that).
      // Each run draws its entry id (a run that collided with another process's id runs again).
      const written = await deps.storage.transaction(async (storage) => {
        const moved = await storage.payments.recordOutcome(tx.id, 'IN_PROCESS', tx.leaseUntilMs, paid, nowMs, null, ledgerEntry(deps, tx, 'PAYMENT', tx.amountMinor));
        if (!moved) return { moved, wroteEvent: false };
        return { moved, wroteEvent: await settleCustomerScans(storage, deps, moved) };
      });
      if (written.wroteEvent) deps.wakeOutbox();
      return written.moved;
    }
    case 'FAILED':
      return deps.storage.transaction(async (storage) => {
        const moved = await storage.payments.recordOutcome(
          tx.id,
          'IN_PROCESS',
          tx.leaseUntilMs,
          { status: 'FAILED', balanceMinor: 0, errorCode: result.code, errorMessage: result.message ?? errorMessages[result.code], transactionAtMs: nowMs },
          nowMs,
          null,
        );
        if (moved) await settleCustomerScans(storage, deps, moved);
        return moved;
      });
    case 'NOT_FOUND':
      // The wallet never received it: close the order number so a late request cannot land, then it failed.
      await reverseUpstream(deps, connector, tx, 'FAILED');
      return null;
    case 'IN_PROCESS':
    case 'UNKNOWN':
      await deps.storage.payments.reschedule(tx.id, tx.leaseUntilMs, nowMs, nextCheckAtMs, { queries: 1 });
      return null;
  }
}

/** Query once more on the connector's schedule. */
export function nextCheckAfterQuery(connector: PaymentConnector, tx: TransactionRecord, nowMs: number): number {
  return nextQueryAtMs(connector.pollProfile, tx.createdAtMs, nowMs, tx.payDeadlineAtMs);
}

/**
 * Cancels at the wallet (or has it refund a payer who already paid) and records the end state:
 * `cancelledAs` is REVERSED for reverses, FAILED when the wallet never had the order.
 */
export async function reverseUpstream(deps: PaymentDeps, connector: PaymentConnector, tx: TransactionRecord, cancelledAs: 'REVERSED' | 'FAILED'): Promise<void> {
  let result: UpstreamReverse;
  try {
    result = await connector.reverse(tx.id);
  } catch (error) {
    result = { status: 'FAILED', reason: error instanceof Error ? error.message : String(error) };
  }
  const nowMs = deps.clock.nowMs();
  if (result.status === 'FAILED') {
    const delayMs = reverseRetryDelayMs(connector.pollProfile, tx.reverseAttempts + 1);
    await deps.storage.payments.reschedule(tx.id, tx.leaseUntilMs, nowMs, nowMs + delayMs, { reverseAttempts: 1 });
    return;
  }
  const from: TransactionStatus = tx.status;
  const timedOut = cancelledAs === 'REVERSED' && !tx.reverseRequested;
  const error = cancelledAs === 'FAILED'
    ? { errorCode: 'SYSTEM_ERROR' as ErrorCode, errorMessage: 'The wallet has no record of this payment' }
    : timedOut
      ? { errorCode: 'PAYMENT_TIMEOUT' as ErrorCode, errorMessage: 'Payment timeout: the customer did not confirm in time, so it was reversed' }
      : {};
  // A payer who never confirmed a checkout or QR payment by its deadline was charged nothing: the payment FAILED with
  // "Payment timeout", as RM's QR transaction list shows it (its statuses are SUCCESS, IN_PROCESS and FAILED). A
  // QuickPay past its deadline stays REVERSED: the merchant's terminal asked for that money and tunai took it back.
  const unconfirmed = timedOut && tx.type !== 'QUICK_PAY';
  const closedAs: TransactionStatus = unconfirmed ? 'FAILED' : cancelledAs;
  const closedError = unconfirmed ? { errorCode: 'PAYMENT_TIMEOUT' as ErrorCode, errorMessage: 'Payment timeout: the customer did not confirm in time' } : error;
  await deps.storage.transaction(async (storage) => {
    if (result.status === 'REVERSED' && from === 'IN_PROCESS') {
      const moved = await storage.payments.recordOutcome(tx.id, from, tx.leaseUntilMs, { status: closedAs, balanceMinor: 0, transactionAtMs: nowMs, ...closedError }, nowMs, null);
      if (moved) await settleCustomerScans(storage, deps, moved);
      return;
    }
    // Money had moved: book the payment if we had not yet, then its return.
    const paid = result.status === 'REFUNDED' ? result : null;
    const moved = await storage.payments.recordOutcome(
      tx.id,
      from,
      tx.leaseUntilMs,
      {
        status: 'REVERSED',
        balanceMinor: 0,
        ...(paid && from === 'IN_PROCESS' ? { referenceId: paid.referenceId, payerUserId: paid.payerId, transactionAtMs: paid.paidAtMs } : {}),
        ...(timedOut ? error : {}),
      },
      nowMs,
      null,
    );
    if (!moved) return;
    if (from === 'IN_PROCESS') await book(storage, deps, tx, 'PAYMENT', tx.amountMinor);
    await book(storage, deps, tx, 'REVERSAL', tx.amountMinor);
    await settleCustomerScans(storage, deps, moved);
  });
}

/** A failed payment is answered with its inner error, as RM does; the transaction stays queryable. */
export function failureOf(tx: TransactionRecord): CatalogError {
  const code = (tx.errorCode ?? 'TRANSACTION_STATUS_FAILED') as ErrorCode;
  return new CatalogError(code in errorMessages ? code : 'TRANSACTION_STATUS_FAILED', tx.errorMessage ?? undefined);
}
