// RM's JSON `filter` for transaction lists: status, method and a createdAt/transactionAt range.
import { paymentMethods, transactionStatuses, type TransactionStatus } from '@tunai/client/contract';
import type { TransactionFilter } from '../app/payment-ports.js';
import { CatalogError } from '../lib/catalog-error.js';
import { parseFilterObject, parseTimeBounds } from './list-query.js';

const invalid = (detail: string) => new CatalogError('VALIDATION_ERROR', `Validations error: filter.${detail}`);

function stringList(key: string, value: unknown): string[] {
  // Mongo-style {"$in":[…]} as well as a bare value or array. $in is the one operator: another one next to it would
  // otherwise be dropped without a word ({"$in":["SUCCESS"],"$nin":["SUCCESS"]} answering SUCCESS rows).
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const other = Object.keys(value).find((operator) => operator !== '$in');
    if (other !== undefined) throw invalid(`${key} operator ${other} is not supported (only $in)`);
  }
  const raw = typeof value === 'object' && value !== null && !Array.isArray(value) && '$in' in value ? (value as { $in: unknown }).$in : value;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || list.length > 20 || !list.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 32)) {
    throw invalid(`${key} must be a string or a list of up to 20 strings`);
  }
  return list as string[];
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
  for (const [key, value] of Object.entries(parseFilterObject(filterText) ?? {})) {
    if (key === 'status') {
      const statuses = stringList(key, value);
      const unknown = statuses.find((s) => !(transactionStatuses as readonly string[]).includes(s));
      if (unknown) throw invalid(`status "${unknown}" is not one of ${transactionStatuses.join(', ')}`);
      filter.statuses = statuses as TransactionStatus[];
    } else if (key === 'method') {
      // A name no transaction carries would match nothing without a word (a checkout's TNG_MY is stored as TNG).
      const methods = stringList(key, value);
      const unknown = methods.find((m) => !(paymentMethods as readonly string[]).includes(m));
      if (unknown) throw invalid(`method "${unknown}" is not one of ${paymentMethods.join(', ')} (transactions name the wallet without its region)`);
      filter.methods = methods;
    } else if (key === 'createdAt') {
      const range = parseTimeBounds(key, value);
      filter.createdFromMs = range.fromMs;
      filter.createdToMs = range.toMs;
    } else if (key === 'transactionAt') {
      const range = parseTimeBounds(key, value);
      filter.transactionAtFromMs = range.fromMs;
      filter.transactionAtToMs = range.toMs;
    } else {
      throw new CatalogError('VALIDATION_ERROR', `Validations error: filter supports status, method, createdAt and transactionAt, not "${key}"`);
    }
  }
  return filter;
}
