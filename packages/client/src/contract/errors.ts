// The error-code catalog: every code tunai emits, with its HTTP status and default message.
import { specErrorMessages } from './error-catalog.generated.js';

/** Codes from newer RM pages (d2 error-codes.md) and the OAuth table, not in the seed's Appendix list. */
const extraErrorMessages = {
  // OAuth table of the seed (InvalidGrant, InvalidCode …) in the UPPER_SNAKE form every RM client parses.
  INVALID_GRANT: 'Invalid grant',
  INVALID_CODE: 'Invalid authorization code',
  INACTIVE_CLIENT: 'Client mode is inactive',
  UNAUTHORIZED_CLIENT: 'The client is not authorized to request this method',
  UNSUPPORTED_GRANT_TYPE: 'Unsupported grant type',
  UNSUPPORTED_RESPONSE_TYPE: 'The authorization server does not support obtaining an authorization code using this method',
  ACCESS_DENIED: 'The resource owner or authorization server denied the request',
  TEMPORARY_UNAVAILABLE: 'The authorization server is currently unable to handle the request',
  // d2 error-codes.md, used by the payment flows of later issues.
  TRANSACTION_STATUS_NOT_IN_PROCESS: 'Transaction status not in process',
  PAGE_NOT_FOUND: 'Page not found',
  PAYMENT_IN_PROCESS: 'Payment is in process',
  ORDER_CANCELLED: 'Order cancelled by the customer',
  REFUND_FAILURE: 'Refund failed at the wallet provider',
} as const;

export const errorMessages = { ...specErrorMessages, ...extraErrorMessages } as const;
export type ErrorCode = keyof typeof errorMessages;

/** HTTP status per code; anything not listed is a client error (400). */
const statusOverrides: Partial<Record<ErrorCode, number>> = {
  TOKEN_EXPIRED: 401,
  TOKEN_INVALID: 401,
  TOKEN_SUSPENDED: 401,
  NOT_AUTH: 401,
  UNAUTHORIZED: 401,
  INVALID_CLIENT: 401,
  INACTIVE_CLIENT: 401,
  // Authenticated, but the account is switched off: forbidden rather than unauthenticated.
  MERCHANT_INACTIVE: 403,
  INVALID_REQUEST_SIGNATURE: 401,
  INVALID_TIMESTAMP: 401,
  SPAM: 401,
  CLIENT_NOT_SET_PUBLIC_KEY: 401,
  CLIENT_NO_PERMISSION: 403,
  ACCESS_DENIED: 403,
  NO_ACCESS: 403,
  INSUFFICIENT_PERMISSION_LEVEL: 403,
  API_ENDPOINT_NOT_FOUND: 404,
  PAGE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  EXCEEDED_LIMIT: 429,
  TOO_MANY_REQUEST_PER_SECOND: 429,
  INTERNAL_ERROR: 500,
  SYSTEM_ERROR: 503,
  OVERLOAD: 503,
  TEMPORARY_UNAVAILABLE: 503,
};

export function httpStatusOf(code: ErrorCode): number {
  const override = statusOverrides[code];
  if (override !== undefined) return override;
  // A lookup that found nothing is a 404 by nature (STORE_NOT_FOUND, TRANSACTION_NOT_FOUND …).
  if (code.endsWith('_NOT_FOUND')) return 404;
  return 400;
}

/** The wire form of every error: `{"error":{"code","message"}}`, optionally with sandbox `debug`. */
export interface ErrorBody {
  error: { code: string; message: string; debug?: unknown };
}
