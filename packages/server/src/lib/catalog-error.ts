// Expected failures: a catalog code (spec Appendix 1) with an optional clearer message and sandbox debug detail.
import { errorMessages, httpStatusOf, type ErrorCode } from '@tunai/client/contract';

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly debug: unknown;

  constructor(code: ErrorCode, message?: string, options: { debug?: unknown; httpStatus?: number } = {}) {
    super(message ?? errorMessages[code]);
    this.code = code;
    this.httpStatus = options.httpStatus ?? httpStatusOf(code);
    this.debug = options.debug;
  }
}
