// The daily settlement report's lines (H header, T per ledger entry, S summary) and its day in Malaysian time.
import type { EntryKind } from './ledger.js';
import { formatMinorUnits } from '../lib/money.js';

/** Malaysia keeps UTC+8 all year; a settlement day runs from 00:00 to 24:00 there. */
const malaysiaOffsetMs = 8 * 3_600_000;

/** [start, end) epoch ms of a yyyy-mm-dd settlement day, or null when the date does not exist. */
export function settlementDayRangeMs(date: string): { fromMs: number; toMs: number } | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Date.UTC reads years 0–99 as 1900–1999; setUTCFullYear takes the year as written.
  const utcMidnightMs = new Date(0).setUTCFullYear(year, month - 1, day);
  const check = new Date(utcMidnightMs);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  const fromMs = utcMidnightMs - malaysiaOffsetMs;
  return { fromMs, toMs: fromMs + 86_400_000 };
}

/** CSV cells never carry the separator or a line break (merchant names can). */
function cell(value: string): string {
  return value.replace(/[,\r\n]/g, ' ');
}

export function headerLine(merchantId: string, merchantName: string, date: string, sequence: number): string {
  return `H,${cell(merchantId)},${cell(merchantName)},${date},${sequence}\n`;
}

export interface SettlementEntry {
  transactionId: string;
  kind: EntryKind;
  amountMinor: number;
}

export interface SettlementTotals {
  count: number;
  grossMinor: number;
  refundMinor: number;
  mdrMinor: number;
  serviceFeeMinor: number;
  netMinor: number;
}

export const emptyTotals = (): SettlementTotals => ({ count: 0, grossMinor: 0, refundMinor: 0, mdrMinor: 0, serviceFeeMinor: 0, netMinor: 0 });

/** What one entry contributes: payments are gross, refunds and reversals are returned money; no MDR in tunai. */
export function entryAmounts(entry: SettlementEntry): SettlementTotals {
  const gross = entry.kind === 'PAYMENT' ? entry.amountMinor : 0;
  const refund = entry.kind === 'PAYMENT' ? 0 : entry.amountMinor;
  return { count: 1, grossMinor: gross, refundMinor: refund, mdrMinor: 0, serviceFeeMinor: 0, netMinor: gross - refund };
}

export function addTotals(a: SettlementTotals, b: SettlementTotals): SettlementTotals {
  return {
    count: a.count + b.count,
    grossMinor: a.grossMinor + b.grossMinor,
    refundMinor: a.refundMinor + b.refundMinor,
    mdrMinor: a.mdrMinor + b.mdrMinor,
    serviceFeeMinor: a.serviceFeeMinor + b.serviceFeeMinor,
    netMinor: a.netMinor + b.netMinor,
  };
}

function amounts(t: SettlementTotals): string {
  return [t.grossMinor, t.refundMinor, t.mdrMinor, t.serviceFeeMinor, t.netMinor].map(formatMinorUnits).join(',');
}

/** `T,<transactionId>,<gross>,<refund>,<mdr>,<serviceFee>,<net>,` — the spec's empty day prints one zero T line. */
export function transactionLine(transactionId: string, t: SettlementTotals): string {
  return `T,${transactionId},${amounts(t)},\n`;
}

export function emptyTransactionLine(): string {
  return transactionLine('0', emptyTotals());
}

/** `S,<count>,<gross>,<refund>,<mdr>,<serviceFee>,<net>,` */
export function summaryLine(t: SettlementTotals): string {
  return `S,${t.count},${amounts(t)},\n`;
}
