// Shared wire shapes: the success envelopes and list metadata every RM endpoint uses.
import { Type, type Static } from '@sinclair/typebox';

export const ListMeta = Type.Object({
  count: Type.Integer(),
  total: Type.Optional(Type.Integer()),
  cursor: Type.Optional(Type.String()),
});
export type ListMeta = Static<typeof ListMeta>;

export interface ItemResponse<T> {
  item: T;
  code: 'SUCCESS';
}
export interface ItemsResponse<T> {
  items: T[];
  code: 'SUCCESS';
  meta: ListMeta;
}
export interface CodeResponse {
  code: 'SUCCESS';
}

/** Query parameters of list endpoints: `limit`, opaque `cursor`, and RM's JSON `filter`. */
export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String()),
    cursor: Type.Optional(Type.String()),
    filter: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type ListQuery = Static<typeof ListQuery>;
