// RM's JSON `filter` for transaction lists: status, method and a createdAt/transactionAt range.
import { limits, transactionStatuses, type TransactionStatus } from '@tunai/client/contract';
import { CatalogError } from '../lib/catalog-error.js';

export interface TransactionFilter {
  statuses: TransactionStatus[] | null;
  methods: string[] | null;
  createdFromMs: number | null;
  createdToMs: number | null;
  /** When the payment became final (paid, failed, reversed); unfinished ones have none and never match. */
  transactionAtFromMs: number | null;
  transactionAtToMs: number | null;
}

const invalid = (detail: string) => new CatalogError('VALIDATION_ERROR', `Validations error: filter ${detail}`);

function stringList(key: string, value: unknown): string[] {
  // Mongo-style {"$in":[…]} as well as a bare value or array.
  const raw = typeof value === 'object' && value !== null && !Array.isArray(value) && '$in' in value ? (value as { $in: unknown }).$in : value;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || list.length > 20 || !list.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 32)) {
    throw invalid(`.${key} must be a string or a list of up to 20 strings`);
  }
  return list as string[];
}

function timeRange(key: 'createdAt' | 'transactionAt', value: unknown, into: TransactionFilter): void {
  const from = key === 'createdAt' ? 'createdFromMs' : 'transactionAtFromMs';
  const to = key === 'createdAt' ? 'createdToMs' : 'transactionAtToMs';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`.${key} must be an object of $gte/$gt/$lte/$lt`);
  for (const [operator, bound] of Object.entries(value)) {
    const ms = typeof bound === 'string' ? Date.parse(bound) : Number.NaN;
    if (Number.isNaN(ms)) throw invalid(`.${key}.${operator} must be an RFC 3339 time`);
    if (operator === '$gte') into[from] = ms;
    else if (operator === '$gt') into[from] = ms + 1;
    else if (operator === '$lte') into[to] = ms;
    else if (operator === '$lt') into[to] = ms - 1;
    else throw invalid(`operator ${operator} is not supported`);
  }
}

export function parseTransactionFilter(filterText: string | undefined): TransactionFilter {
  const filter: TransactionFilter = {
    statuses: null,
    methods: null,
    createdFromMs: null,
    createdToMs: null,
    transactionAtFromMs: null,
    transactionAtToMs: null,
  };
  if (filterText === undefined || filterText.trim() === '') return filter;
  if (filterText.length > limits.filterQueryCharsMax) throw invalid(`must be at most ${limits.filterQueryCharsMax} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(filterText);
  } catch {
    throw invalid('must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('must be a JSON object');
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'status') {
      const statuses = stringList(key, value);
      const unknown = statuses.find((s) => !(transactionStatuses as readonly string[]).includes(s));
      if (unknown) throw invalid(`.status "${unknown}" is not one of ${transactionStatuses.join(', ')}`);
      filter.statuses = statuses as TransactionStatus[];
    } else if (key === 'method') {
      filter.methods = stringList(key, value);
    } else if (key === 'createdAt' || key === 'transactionAt') {
      timeRange(key, value, filter);
    } else {
      throw invalid(`supports status, method, createdAt and transactionAt, not "${key}"`);
    }
  }
  return filter;
}
