// Payment rules without I/O: which statuses are final, when a refund or reverse is allowed, the closed-loop schedule.
import type { ErrorCode, TransactionStatus } from '@tunai/client/contract';

export function isFinal(status: TransactionStatus): boolean {
  return status !== 'IN_PROCESS';
}

export interface RefundableState {
  status: TransactionStatus;
  amountMinor: number;
  balanceMinor: number;
  reverseRequested: boolean;
}

export type Decision = { ok: true } | { ok: false; code: ErrorCode; message?: string };

/** Checks a refund request against the transaction as last read; the database re-checks the balance atomically. */
export function decideRefund(tx: RefundableState, type: 'FULL' | 'PARTIAL', amountMinor: number): Decision {
  if (tx.status === 'FULL_REFUNDED') return { ok: false, code: 'PAYMENT_FULLY_REFUNDED' };
  if ((tx.status !== 'SUCCESS' && tx.status !== 'PARTIAL_REFUNDED') || tx.reverseRequested) {
    // A reverse asked for while the payment still reads SUCCESS is under way; once it is done the status says so.
    const state = tx.reverseRequested && (tx.status === 'SUCCESS' || tx.status === 'PARTIAL_REFUNDED') ? 'being reversed' : tx.status;
    return { ok: false, code: 'TRANSACTIN_STATUS_NOT_SUCCESS', message: `Transaction status not success: it is ${state}` };
  }
  if (type === 'FULL' && amountMinor !== tx.balanceMinor) {
    return {
      ok: false,
      code: 'REFUND_AMT_NOT_SAME_AS_TRANSACTION',
      message: `Refund amount not same as transaction amount: a FULL refund must be the remaining ${tx.balanceMinor}`,
    };
  }
  if (amountMinor > tx.balanceMinor) {
    return { ok: false, code: 'INSUFFICIENT_REFUND_AMOUNT', message: `Insufficient refund amount: at most ${tx.balanceMinor} is left to refund` };
  }
  return { ok: true };
}

export interface ReversibleState {
  status: TransactionStatus;
  amountMinor: number;
  balanceMinor: number;
  createdAtMs: number;
}

/**
 * A merchant may reverse what is still in process, or a success nothing was refunded from, within the
 * reverse window; a REVERSED transaction is answered as it stands (a retried reverse must not fail).
 */
export function decideReverse(tx: ReversibleState, nowMs: number, windowMs: number): Decision | { ok: true; alreadyReversed: true } {
  if (tx.status === 'REVERSED') return { ok: true, alreadyReversed: true };
  const reversible = tx.status === 'IN_PROCESS' || (tx.status === 'SUCCESS' && tx.balanceMinor === tx.amountMinor);
  if (!reversible) return { ok: false, code: 'TRANSACTION_STATUS_NOT_IN_PROCESS', message: `Transaction status not in process: it is ${tx.status}` };
  if (nowMs - tx.createdAtMs > windowMs) {
    return { ok: false, code: 'EXCEED_TIME_FOR_REVERSE_TRANSACTION', message: `Exceed time for transaction to reverse: reverses are accepted for ${windowMs / 60_000} minutes` };
  }
  return { ok: true };
}

/** How a connector wants an unfinished payment followed up (times relative to the transaction's creation). */
export interface PollProfile {
  firstQueryAfterMs: number;
  queryIntervalMs: number;
  /** Not final by then: reverse. */
  deadlineMs: number;
  /** Never reverse a paying user sooner than this (WeChat: 15 s). */
  reverseNotBeforeMs: number;
  /** Backoff between failed reverse attempts: base doubling up to max. */
  reverseRetryBaseMs: number;
  reverseRetryMaxMs: number;
}

export type LoopAction = { kind: 'query' } | { kind: 'reverse' };

/** When an unfinished payment is given up: the payer's own deadline (customer-scans) or the connector's. */
export function deadlineAtMs(profile: PollProfile, createdAtMs: number, payDeadlineAtMs: number | null): number {
  return Math.max(payDeadlineAtMs ?? createdAtMs + profile.deadlineMs, createdAtMs + profile.reverseNotBeforeMs);
}

/** What the closed loop does for an IN_PROCESS transaction now. */
export function nextLoopAction(profile: PollProfile, createdAtMs: number, nowMs: number, reverseRequested: boolean, payDeadlineAtMs: number | null = null): LoopAction {
  if (reverseRequested) return { kind: 'reverse' };
  if (nowMs >= deadlineAtMs(profile, createdAtMs, payDeadlineAtMs)) return { kind: 'reverse' };
  return { kind: 'query' };
}

/** When to look again after an unfinished query: the next interval, but never past the deadline. */
export function nextQueryAtMs(profile: PollProfile, createdAtMs: number, nowMs: number, payDeadlineAtMs: number | null = null): number {
  return Math.min(nowMs + profile.queryIntervalMs, deadlineAtMs(profile, createdAtMs, payDeadlineAtMs));
}

export function reverseRetryDelayMs(profile: PollProfile, attempts: number): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 20);
  return Math.min(profile.reverseRetryBaseMs * 2 ** exponent, profile.reverseRetryMaxMs);
}

/**
 * tunai issues no vouchers yet: a payment that names one is refused, never charged at full price without a word (RM
 * answers VOUCHER_NOT_FOUND for a code it does not know). Null when no voucher was given.
 */
export function unknownVoucherRefusal(voucherCode: string | null): { code: 'VOUCHER_NOT_FOUND'; message: string } | null {
  if (voucherCode === null) return null;
  return { code: 'VOUCHER_NOT_FOUND', message: `Voucher not found: tunai issues no vouchers yet, so "${voucherCode}" cannot be redeemed` };
}
