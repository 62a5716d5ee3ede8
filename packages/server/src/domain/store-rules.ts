// Store rules: how RM normalises store text, and which stores may be deleted.
import type { ErrorCode } from '@tunai/client/contract';

/** RM upper-cases address fields (not the name) on create and update, as its examples show. */
export function normaliseAddressText(value: string): string {
  return value.trim().toUpperCase();
}

export function refuseStoreDeletion(store: { isDefault: boolean }): ErrorCode | null {
  return store.isDefault ? 'DEFAULT_STORE_DELETE_NOT_ALLOWED' : null;
}
