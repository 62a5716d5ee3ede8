// List parameters shared by RM list endpoints: limit, opaque cursor and the JSON `filter` on update times.
import { limits } from '@tunai/client/contract';
import { CatalogError } from '../lib/catalog-error.js';
import { parseRfc3339Ms } from '../lib/clock.js';
import { jsonTextHasNul } from './body.js';

export interface PageParams {
  limit: number;
  afterId: string | null;
}

export function parsePageParams(query: { limit?: string | undefined; cursor?: string | undefined }): PageParams {
  let limit: number = limits.pageSizeDefault;
  if (query.limit !== undefined && query.limit !== '') {
    if (!/^[0-9]{1,4}$/.test(query.limit)) {
      throw new CatalogError('VALIDATION_ERROR', `Validations error: limit must be a whole number between 1 and ${limits.pageSizeMax}`);
    }
    limit = Number(query.limit);
    if (limit < 1 || limit > limits.pageSizeMax) {
      throw new CatalogError('VALIDATION_ERROR', `Validations error: limit must be between 1 and ${limits.pageSizeMax}`);
    }
  }
  let afterId: string | null = null;
  if (query.cursor !== undefined && query.cursor !== '') {
    afterId = decodeCursor(query.cursor);
  }
  return { limit, afterId };
}

/** Cursors are opaque to clients: base64url of the last id on the page. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(`id:${lastId}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const decoded = cursor.length <= 64 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^id:([0-9]{1,24})$/.exec(decoded);
  if (!match?.[1]) throw new CatalogError('VALIDATION_ERROR', 'Validations error: cursor is invalid; pass meta.cursor from the previous page');
  return match[1];
}

export interface TimeRange {
  fromMs: number | null;
  toMs: number | null;
}

/** Reads RM's JSON `filter` query parameter as an object; null when absent. */
export function parseFilterObject(filterText: string | undefined): Record<string, unknown> | null {
  if (filterText === undefined || filterText.trim() === '') return null;
  if (filterText.length > limits.filterQueryCharsMax) {
    throw new CatalogError('VALIDATION_ERROR', `Validations error: filter must be at most ${limits.filterQueryCharsMax} characters`);
  }
  // A NUL, written as JSON's escape, has no meaning in any filter value and PostgreSQL text cannot hold it.
  if (jsonTextHasNul(filterText)) {
    throw new CatalogError('VALIDATION_ERROR', 'Validations error: NUL characters are not allowed in filter');
  }
  let filter: unknown;
  try {
    filter = JSON.parse(filterText);
  } catch {
    throw new CatalogError('VALIDATION_ERROR', 'Validations error: filter must be a JSON object');
  }
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new CatalogError('VALIDATION_ERROR', 'Validations error: filter must be a JSON object');
  }
  return filter as Record<string, unknown>;
}

/** Whether an RFC 3339 time's fraction of a second goes below the millisecond (…:32.488500Z does, …:32.488000Z not). */
function hasDigitsBelowMs(time: string): boolean {
  const fraction = /:\d{2}\.(\d+)/.exec(time)?.[1] ?? '';
  return /[1-9]/.test(fraction.slice(3));
}

/** One time condition of a filter, e.g. {"$gte":"2024-01-01T00:00:00Z","$lt":…}, as inclusive epoch-ms bounds. */
export function parseTimeBounds(field: string, condition: unknown): TimeRange {
  const range: TimeRange = { fromMs: null, toMs: null };
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    throw new CatalogError('VALIDATION_ERROR', `Validations error: filter.${field} must be an object of $gte/$gt/$lte/$lt`);
  }
  for (const [operator, value] of Object.entries(condition)) {
    // Strict RFC 3339, as Go's time.Parse reads it: Date.parse alone took "Dec 7 2026", "1", times with no offset
    // (in the server's time zone) and rolled Feb 30 over into March. It keeps whole milliseconds (it floors); RM
    // writes microseconds, so a bound may lie between two.
    const ms = typeof value === 'string' ? parseRfc3339Ms(value) : Number.NaN;
    if (Number.isNaN(ms)) throw new CatalogError('VALIDATION_ERROR', `Validations error: filter.${field}.${operator} must be an RFC 3339 time`);
    const betweenMs = hasDigitsBelowMs(value as string);
    // Stored times are whole milliseconds: ≥ 488.5 ms means ≥ 489, < 488.5 means ≤ 488; > and ≤ floor either way.
    if (operator === '$gte') range.fromMs = betweenMs ? ms + 1 : ms;
    else if (operator === '$gt') range.fromMs = ms + 1;
    else if (operator === '$lte') range.toMs = ms;
    else if (operator === '$lt') range.toMs = betweenMs ? ms : ms - 1;
    else throw new CatalogError('VALIDATION_ERROR', `Validations error: filter operator ${operator} is not supported`);
  }
  return range;
}

/** Parses RM's `filter` JSON, e.g. {"updatedAt":{"$gte":"2024-01-01T00:00:00Z"}}, for the given time field. */
export function parseTimeFilter(filterText: string | undefined, field: string): TimeRange {
  let range: TimeRange = { fromMs: null, toMs: null };
  for (const [key, condition] of Object.entries(parseFilterObject(filterText) ?? {})) {
    if (key !== field) throw new CatalogError('VALIDATION_ERROR', `Validations error: filter supports only "${field}", not "${key}"`);
    range = parseTimeBounds(field, condition);
  }
  return range;
}
