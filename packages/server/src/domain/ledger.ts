// Double-entry rules: the postings each money movement makes, and the invariants a ledger check verifies.
import { strict as assert } from 'node:assert';
import type { TransactionStatus } from '@tunai/client/contract';

export type EntryKind = 'PAYMENT' | 'REFUND' | 'REVERSAL';

export interface Posting {
  account: string;
  debitMinor: number;
  creditMinor: number;
}

/** Money the wallet provider owes us for a method (an asset). */
export const walletClearingAccount = (method: string): string => `wallet_clearing:${method}`;
/** Money we owe the merchant (a liability): never below zero. */
export const merchantPayableAccount = (merchantId: string): string => `merchant_payable:${merchantId}`;

/**
 * A payment moves the amount from the wallet's clearing account to the merchant's payable; a refund or a
 * reversal of a paid transaction moves it back.
 */
export function postingsFor(kind: EntryKind, merchantId: string, method: string, amountMinor: number): Posting[] {
  assert.ok(Number.isSafeInteger(amountMinor) && amountMinor > 0, `ledger amount must be a positive integer, got ${amountMinor}`);
  const clearing = walletClearingAccount(method);
  const payable = merchantPayableAccount(merchantId);
  const postings =
    kind === 'PAYMENT'
      ? [
          { account: clearing, debitMinor: amountMinor, creditMinor: 0 },
          { account: payable, debitMinor: 0, creditMinor: amountMinor },
        ]
      : [
          { account: payable, debitMinor: amountMinor, creditMinor: 0 },
          { account: clearing, debitMinor: 0, creditMinor: amountMinor },
        ];
  assertBalanced(postings);
  return postings;
}

/** The invariant every entry must hold before it is written: debits equal credits, amounts are whole and non-negative. */
export function assertBalanced(postings: readonly Posting[]): void {
  let debits = 0;
  let credits = 0;
  for (const p of postings) {
    assert.ok(Number.isSafeInteger(p.debitMinor) && p.debitMinor >= 0, 'debit must be a non-negative integer');
    assert.ok(Number.isSafeInteger(p.creditMinor) && p.creditMinor >= 0, 'credit must be a non-negative integer');
    debits += p.debitMinor;
    credits += p.creditMinor;
  }
  assert.equal(debits, credits, `unbalanced ledger entry: debits ${debits} ≠ credits ${credits}`);
}

/** What the ledger and the transaction row say about one transaction (for the ledger check). */
export interface TransactionLedgerView {
  transactionId: string;
  status: TransactionStatus;
  amountMinor: number;
  balanceMinor: number;
  /** The transaction row's own count of refunded money. */
  refundedColumnMinor: number;
  paymentEntries: number;
  paidMinor: number;
  refundedMinor: number;
  reversedMinor: number;
  succeededRefundsMinor: number;
  pendingRefundsMinor: number;
}

/** Every way a transaction's postings can disagree with its status; empty when consistent. */
export function transactionViolations(v: TransactionLedgerView): string[] {
  const problems: string[] = [];
  const where = `transaction ${v.transactionId} (${v.status})`;
  if (v.paymentEntries > 1) problems.push(`${where}: ${v.paymentEntries} payment entries (charged more than once)`);
  const returnedMinor = v.refundedMinor + v.reversedMinor;
  if (returnedMinor > v.paidMinor) problems.push(`${where}: returned ${returnedMinor} exceeds paid ${v.paidMinor}`);
  if (v.refundedMinor !== v.succeededRefundsMinor) {
    problems.push(`${where}: refund postings ${v.refundedMinor} differ from succeeded refunds ${v.succeededRefundsMinor}`);
  }
  if (v.refundedColumnMinor !== v.succeededRefundsMinor) {
    problems.push(`${where}: refunded ${v.refundedColumnMinor} on the transaction differs from succeeded refunds ${v.succeededRefundsMinor}`);
  }
  switch (v.status) {
    case 'IN_PROCESS':
    case 'FAILED':
      if (v.paidMinor !== 0 || returnedMinor !== 0) problems.push(`${where}: has postings but took no money`);
      break;
    case 'SUCCESS':
    case 'PARTIAL_REFUNDED':
    case 'FULL_REFUNDED': {
      if (v.paidMinor !== v.amountMinor) problems.push(`${where}: paid ${v.paidMinor} ≠ amount ${v.amountMinor}`);
      if (v.reversedMinor !== 0) problems.push(`${where}: reversal postings on a transaction that was not reversed`);
      const expectedBalance = v.amountMinor - v.refundedMinor - v.pendingRefundsMinor;
      if (v.balanceMinor !== expectedBalance) problems.push(`${where}: balance ${v.balanceMinor} ≠ derived ${expectedBalance}`);
      if (v.status === 'SUCCESS' && v.refundedMinor !== 0) problems.push(`${where}: SUCCESS with refunds recorded`);
      if (v.status === 'PARTIAL_REFUNDED' && !(v.refundedMinor > 0 && v.refundedMinor < v.amountMinor)) {
        problems.push(`${where}: PARTIAL_REFUNDED but refunded ${v.refundedMinor} of ${v.amountMinor}`);
      }
      if (v.status === 'FULL_REFUNDED' && v.refundedMinor !== v.amountMinor) {
        problems.push(`${where}: FULL_REFUNDED but refunded ${v.refundedMinor} of ${v.amountMinor}`);
      }
      break;
    }
    case 'REVERSED':
      if (v.paidMinor !== v.reversedMinor + v.refundedMinor) problems.push(`${where}: reversed but ${v.paidMinor - returnedMinor} still with the merchant`);
      if (v.balanceMinor !== 0) problems.push(`${where}: reversed with balance ${v.balanceMinor}`);
      break;
  }
  return problems;
}
