// Owns the client's errors: RmApiError for an RM (or tunai) answer that is not a success, and the two errors with no answer.

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Thrown for any non-200 response, and for a 200 that still carries a top-level `error` (every RM SDK treats that as failure). */
export class RmApiError extends Error {
  /** `error.code` from `{"error":{"code","message"}}`, or `HTTP_<status>` when the body is not that shape. */
  readonly code: string;
  readonly httpStatus: number;
  /** Parsed JSON body, or the raw text when it did not parse. */
  readonly body: unknown;
  /** `error.debug`, else the top-level `debug` (RM's signature failures put their steps there), else undefined. */
  readonly debug: unknown;
  /** The answer's headers, when there was an answer (undefined for errors the client makes up itself). */
  readonly headers: Headers | undefined;
  /** The answer's `X-Request-Id` (tunai names every answer with one): quote it when asking about this request. */
  readonly requestId: string | undefined;
  /** The answer's `Retry-After` in whole seconds (429 `EXCEEDED_LIMIT`, 503), when it gave one as a number. */
  readonly retryAfterSeconds: number | undefined;

  constructor(input: { code: string; message: string; httpStatus: number; body: unknown; debug?: unknown; headers?: Headers }) {
    super(input.message);
    this.name = 'RmApiError';
    this.code = input.code;
    this.httpStatus = input.httpStatus;
    this.body = input.body;
    this.debug = input.debug;
    this.headers = input.headers;
    this.requestId = input.headers?.get('x-request-id') ?? undefined;
    const retryAfter = input.headers?.get('retry-after');
    this.retryAfterSeconds = retryAfter !== null && retryAfter !== undefined && /^[0-9]{1,9}$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : undefined;
  }

  /** Builds the error from a response; `body` is the parsed JSON when it parsed, else the raw text. */
  static fromResponse(httpStatus: number, body: unknown, headers?: Headers): RmApiError {
    const envelope = isRecord(body) ? body : undefined;
    const error = envelope !== undefined && isRecord(envelope['error']) ? envelope['error'] : undefined;
    const code = error !== undefined && typeof error['code'] === 'string' && error['code'] !== '' ? error['code'] : undefined;
    const debug = error !== undefined && error['debug'] !== undefined ? error['debug'] : envelope?.['debug'];
    if (code === undefined) {
      return new RmApiError({
        code: `HTTP_${httpStatus}`,
        message: `HTTP ${httpStatus} without an RM error envelope`,
        httpStatus,
        body,
        debug,
        ...(headers ? { headers } : {}),
      });
    }
    const message = typeof error?.['message'] === 'string' && error['message'] !== '' ? error['message'] : code;
    return new RmApiError({ code, message: `${code}: ${message}`, httpStatus, body, debug, ...(headers ? { headers } : {}) });
  }
}

/**
 * Thrown when a token request or an API call got no complete answer within the client's `timeoutMs`: the request was
 * aborted. Not an RmApiError, because nothing was answered: a timed-out write (QuickPay, refund) may or may not have
 * happened. Retry it with the same `idempotencyKey` (tunai), or query it by order id and reverse it (RM).
 */
export class RequestTimeoutError extends Error {
  readonly code = 'REQUEST_TIMEOUT';
  /** The limit that ran out, in milliseconds. */
  readonly timeoutMs: number;
  /** Upper-case HTTP method and the full URL of the aborted request. */
  readonly method: string;
  readonly url: string;

  constructor(input: { method: string; url: string; timeoutMs: number; cause?: unknown }) {
    super(`REQUEST_TIMEOUT: ${input.method} ${input.url} got no answer within ${input.timeoutMs} ms`, { cause: input.cause });
    this.name = 'RequestTimeoutError';
    this.timeoutMs = input.timeoutMs;
    this.method = input.method;
    this.url = input.url;
  }
}

/** Connection failures that prove the request never left: nothing was sent, so nothing can have happened. */
const NOT_SENT_CAUSES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

/** The error code fetch's failure carries (undici puts the system's one on `cause`), if any. */
function failureCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== null && typeof current === 'object' && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Thrown when a token request or an API call got no answer because the connection failed: refused, no such host, or
 * dropped before the whole answer arrived. Not an RmApiError, because nothing was answered. When `requestMayHaveArrived`
 * is true (the connection dropped after the request was sent), a write may or may not have happened, as after a
 * timeout: retry it with the same `idempotencyKey` (tunai), or query it by order id and reverse it (RM).
 */
export class NetworkError extends Error {
  readonly code = 'NETWORK_ERROR';
  /** Upper-case HTTP method and the full URL of the failed request. */
  readonly method: string;
  readonly url: string;
  /** The system's or fetch's own code for the failure (`ECONNREFUSED`, `UND_ERR_SOCKET` …), when it gave one. */
  readonly failure: string | undefined;
  /** False only when the request certainly never reached a server (refused connection, unknown host). */
  readonly requestMayHaveArrived: boolean;

  constructor(input: { method: string; url: string; cause: unknown }) {
    const failure = failureCode(input.cause);
    const reason = input.cause instanceof Error ? input.cause.message : String(input.cause);
    super(`NETWORK_ERROR: ${input.method} ${input.url} failed: ${reason}${failure ? ` (${failure})` : ''}`, { cause: input.cause });
    this.name = 'NetworkError';
    this.method = input.method;
    this.url = input.url;
    this.failure = failure;
    this.requestMayHaveArrived = failure === undefined || !NOT_SENT_CAUSES.has(failure);
  }
}

/**
 * Thrown by a client acting for a consenting merchant (`adoptToken`) when it holds no refresh token it can still use:
 * it never falls back to client_credentials (that would act as the app owner's merchant), so the merchant must go
 * through /authorize again and the new token be adopted.
 */
export class AuthorizationRequiredError extends Error {
  readonly code = 'AUTHORIZATION_REQUIRED';

  constructor(message: string) {
    super(`AUTHORIZATION_REQUIRED: ${message}`);
    this.name = 'AuthorizationRequiredError';
  }
}

/** True when a parsed body carries a top-level `error` key, which go/php/woo read as failure even on HTTP 200. */
export function hasErrorEnvelope(body: unknown): boolean {
  return isRecord(body) && body['error'] !== undefined && body['error'] !== null;
}
