// RM's envelopes: {item, code}, {items, code, meta} and {code} on success; {error: {code, message}} on failure.
import type { CodeResponse, ErrorBody, ItemResponse, ItemsResponse, ListMeta } from '@tunai/client/contract';

export function itemEnvelope<T>(item: T): ItemResponse<T> {
  return { item, code: 'SUCCESS' };
}

export function itemsEnvelope<T>(items: T[], meta: ListMeta): ItemsResponse<T> {
  return { items, code: 'SUCCESS', meta };
}

export function codeEnvelope(): CodeResponse {
  return { code: 'SUCCESS' };
}

/** `debug` (sandbox only) shows what the server expected; it is left out entirely when there is none. */
export function errorBody(code: string, message: string, debug?: unknown): ErrorBody {
  return { error: { code, message, ...(debug === undefined ? {} : { debug }) } };
}
