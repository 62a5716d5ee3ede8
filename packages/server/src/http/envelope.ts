// RM's success envelopes: {item, code}, {items, code, meta} and {code}.
import type { CodeResponse, ItemResponse, ItemsResponse, ListMeta } from '@tunai/client/contract';

export function itemEnvelope<T>(item: T): ItemResponse<T> {
  return { item, code: 'SUCCESS' };
}

export function itemsEnvelope<T>(items: T[], meta: ListMeta): ItemsResponse<T> {
  return { items, code: 'SUCCESS', meta };
}

export function codeEnvelope(): CodeResponse {
  return { code: 'SUCCESS' };
}
