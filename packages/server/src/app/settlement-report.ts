// POST /v3/payment/settlement/csv: the day's ledger entries as H/T/S lines, produced page by page (never all in memory).
import type { SettlementCsvRequest } from '@tunai/client/contract';
import {
  addTotals,
  emptyTotals,
  emptyTransactionLine,
  entryAmounts,
  headerLine,
  settlementDayRangeMs,
  summaryLine,
  transactionLine,
} from '../domain/settlement.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';

/** Entries read per database round trip. */
const pageSize = 1_000;

/** The spec names two methods with a region suffix; the ledger stores bare methods. */
function methodFilter(method: SettlementCsvRequest['method']): string[] | null {
  if (method === 'ALL') return null;
  if (method === 'ALIPAY_CN') return ['ALIPAY'];
  if (method === 'GRABPAY_MY') return ['GRABPAY'];
  return [method];
}

/** Validates and returns the lines lazily; errors surface before the first line is sent. */
export async function settlementReport(deps: PaymentDeps, principal: Principal, input: SettlementCsvRequest): Promise<AsyncIterable<string>> {
  const range = settlementDayRangeMs(input.date);
  if (!range) throw new CatalogError('VALIDATION_ERROR', `Validations error: date ${input.date} is not a calendar date`);
  const merchant = await deps.storage.merchants.get(principal.merchantId);
  if (!merchant) throw new CatalogError('MERCHANT_NOT_FOUND');
  const methods = methodFilter(input.method);
  const storage = deps.storage;

  async function* lines(): AsyncGenerator<string> {
    yield headerLine(merchant!.id, merchant!.companyName, input.date, input.sequence);
    let totals = emptyTotals();
    let afterEntryId: string | null = null;
    for (;;) {
      const rows = await storage.payments.ledger.settlementRows({
        merchantId: principal.merchantId,
        fromMs: range!.fromMs,
        toMs: range!.toMs,
        methods,
        region: input.region,
        afterEntryId,
        limit: pageSize,
      });
      for (const row of rows) {
        const amounts = entryAmounts(row);
        totals = addTotals(totals, amounts);
        yield transactionLine(row.transactionId, amounts);
      }
      if (rows.length < pageSize) break;
      afterEntryId = rows[rows.length - 1]?.entryId ?? null;
    }
    if (totals.count === 0) yield emptyTransactionLine();
    yield summaryLine(totals);
  }
  return lines();
}
