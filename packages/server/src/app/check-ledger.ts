// `tunai ledger check`: every ledger invariant over the whole database, page by page.
import { transactionViolations } from '../domain/ledger.js';
import type { Storage } from './ports.js';

export interface LedgerCheckReport {
  transactionsChecked: number;
  violations: string[];
}

const pageSize = 1_000;
/** Enough to act on; a broken ledger with a million violations should not print them all. */
const violationsReportedMax = 1_000;

export async function checkLedger(storage: Storage): Promise<LedgerCheckReport> {
  const violations: string[] = [];
  const note = (problem: string) => {
    if (violations.length < violationsReportedMax) violations.push(problem);
  };
  for (const entry of await storage.payments.ledger.unbalancedEntries()) {
    note(`entry ${entry.entryId}: debits ${entry.debitsMinor} and credits ${entry.creditsMinor} do not balance with its amount`);
  }
  for (const account of await storage.payments.ledger.accountsBelowFloor()) {
    note(`account ${account.account}: balance ${account.balanceMinor} is below zero`);
  }
  let transactionsChecked = 0;
  let after: string | null = null;
  for (;;) {
    const views = await storage.payments.ledger.transactionViews(after, pageSize);
    for (const view of views) for (const problem of transactionViolations(view)) note(problem);
    transactionsChecked += views.length;
    if (views.length < pageSize) break;
    after = views[views.length - 1]?.transactionId ?? null;
  }
  return { transactionsChecked, violations };
}
