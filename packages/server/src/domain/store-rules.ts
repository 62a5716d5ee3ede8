// Store rules: how RM normalises store text, and which stores may be deleted.
import type { ErrorCode } from '@tunai/client/contract';

const asciiOnly = /^[\x00-\x7f]*$/;

/** Upper-cases one code point, or keeps it when its upper case is longer (ß → SS, ﬃ → FFI). */
function upperCodePoint(codePoint: string): string {
  const upper = codePoint.toUpperCase();
  return upper.length === codePoint.length ? upper : codePoint;
}

/**
 * RM upper-cases address fields (not the name) on create and update, as its examples show. Code point by code point,
 * as Go's strings.ToUpper does: a letter whose upper case is several letters (ß, ligatures) stays as it is, so the
 * text keeps the length it was checked against and a store read back can be saved back.
 */
export function normaliseAddressText(value: string): string {
  const trimmed = value.trim();
  return asciiOnly.test(trimmed) ? trimmed.toUpperCase() : trimmed.replace(/[\s\S]/gu, upperCodePoint);
}

export function refuseStoreDeletion(store: { isDefault: boolean }): ErrorCode | null {
  return store.isDefault ? 'DEFAULT_STORE_DELETE_NOT_ALLOWED' : null;
}
