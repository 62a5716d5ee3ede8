// Owns TunaiClient: OAuth token management, RM request signing (Go form), and one typed method per Open API endpoint.
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import type { CodeResponse, ItemResponse, ItemsResponse } from './contract/common.js';
import type { Merchant, MerchantSubscription } from './contract/merchant.js';
import type { GrantType, TokenResponse } from './contract/oauth.js';
import type {
  Checkout,
  CheckoutQrCode,
  CreateCheckoutRequest,
  CreateQrCodeRequest,
  CreatedCheckout,
  CreatedQrCode,
  DirectCheckout,
  DirectCheckoutRequest,
  FpxBanks,
  QrCode,
} from './contract/checkout.js';
import type { QuickPayRequest, RefundRequest, SettlementCsvRequest, Transaction } from './contract/payment.js';
import type { CreateStoreRequest, Store, UpdateStoreRequest } from './contract/store.js';
import type {
  GenerateSignatureRequest,
  GenerateSignatureResponse,
  VerifySignatureRequest,
  VerifySignatureResponse,
} from './contract/tool.js';
import type { User } from './contract/user.js';
import type { SandboxClock, SandboxClosedLoopRun, SandboxOutboxRun } from './contract/sandbox.js';
import type { WebhookEvent, WebhookEventStatus } from './contract/webhooks.js';
import { AuthorizationRequiredError, NetworkError, RequestTimeoutError, RmApiError, hasErrorEnvelope } from './errors.js';
import { generateNonce, parsePrivateKey, signRequest } from './signature/index.js';

export type TimestampUnit = 'seconds' | 'milliseconds';

export interface TunaiClientOptions {
  clientId: string;
  clientSecret: string;
  /** PEM (PKCS#1 or PKCS#8). Without it requests are not signed. */
  privateKeyPem?: string;
  /**
   * e.g. 'https://sb-oauth.revenuemonster.my' or tunai's 'http://127.0.0.1:8080' (client posts to `${oauthBaseUrl}/v1/token`).
   * RM's docs' form with the version ('https://sb-oauth.revenuemonster.my/v1') is accepted too: one trailing `/v1` is dropped.
   */
  oauthBaseUrl: string;
  /**
   * e.g. 'https://sb-open.revenuemonster.my' or 'http://127.0.0.1:8080' (client calls `${openApiBaseUrl}/v3/...`, tools at
   * `${openApiBaseUrl}/tool/...`). RM's docs' form ('https://sb-open.revenuemonster.my/v3') is accepted too: one trailing
   * `/v3` is dropped; any other path prefix (a gateway behind a proxy at '/rm') is kept.
   */
  openApiBaseUrl: string;
  /** When to sign /v3 requests: 'always' (default when a key is given) or 'never'. */
  signing?: 'always' | 'never';
  /** Default 'seconds' (RM Go SDK); 'milliseconds' mimics the JS SDK. */
  timestampUnit?: TimestampUnit;
  /** Injected clock, epoch ms (tests move time); default Date.now. */
  nowMs?: () => number;
  /** Refresh the access token this many seconds before it expires (Go SDK uses 60). */
  refreshSkewSeconds?: number;
  /**
   * Give up on a token request or API call that has no complete answer (headers and body) after this many ms, with a
   * RequestTimeoutError; each request has its own limit (a call that first needs a token may take two). Default 90,000;
   * 0 = never.
   */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** tunai's TUNAI_SANDBOX_CONTROL_KEY, sent as X-Sandbox-Key on the sandbox controls (needed from another machine). */
  sandboxKey?: string;
}

/** Options of `adoptToken`. */
export interface AdoptTokenOptions {
  /** When the token was issued (epoch ms, the client's clock): give it for a token stored earlier. Default: now. */
  issuedAtMs?: number;
  /**
   * Called with each token the client obtains with the adopted token's refresh token. RM and tunai rotate refresh tokens
   * on use, so a stored one is spent after a refresh: save this one instead. An error it throws reaches the call that
   * triggered the refresh; the new token is used all the same.
   */
  onRenewed?: (token: TokenResponse, issuedAtMs: number) => void | Promise<void>;
}

export interface RequestOptions {
  /** JSON-serialised with JSON.stringify; the signature covers the Go canonical form of the same value (RM's Go SDK also sends non-canonical bytes). */
  body?: unknown;
  /** Appended in insertion order with encodeURIComponent; undefined values are skipped. The signed requestUrl is exactly the URL sent. */
  query?: Record<string, string | number | undefined>;
  /** Overrides the client's signing setting for this call. */
  sign?: boolean;
  /** Overrides the client's timeoutMs for this call (0 = never): its own request, and its wait for a token when it needs one. */
  timeoutMs?: number;
  /** Extra or overriding headers, applied last (tests use this to tamper). */
  headers?: Record<string, string>;
  /** Overrides the token; null sends no Authorization header. */
  accessToken?: string | null;
  /** Override signing inputs (tests: replay, stale timestamps). */
  nonceStr?: string;
  timestamp?: string;
  /** Sent as `Idempotency-Key` (tunai's addition; RM ignores it): a retry with the same key gets the first answer. */
  idempotencyKey?: string;
}

/** Options of a call that changes something. */
export interface WriteOptions {
  /**
   * tunai runs a POST, PATCH or DELETE once per key (per app, for a day) and answers a retry with the first answer,
   * marked `Idempotent-Replayed: true`. RM's own hosts ignore the header; there, order ids are what protect a retry.
   */
  idempotencyKey?: string;
  /** Overrides the client's timeoutMs for this call (0 = never), the wait for its token included. */
  timeoutMs?: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown;
  rawText: string;
}

/** The Go SDK's margin: a token is treated as expired this long before its real expiry. */
const DEFAULT_REFRESH_SKEW_SECONDS = 60;

/**
 * 90 s: a QuickPay may be held for a wallet's final answer for 30 s (RM's and tunai's TUNAI_QUICKPAY_WAIT_MS default)
 * before it answers IN_PROCESS. Three times that lets the server's own answer arrive first, so a timeout means a stuck
 * network or server, not a slow wallet, with room for a slow link or proxy. Callers with a tighter budget set timeoutMs
 * (or 0 to wait for ever).
 */
const DEFAULT_TIMEOUT_MS = 90_000;
/** setTimeout fires at once for delays above 2^31-1 ms, which would turn a long limit into an immediate timeout. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** NaN or a negative skew would renew the token on every call (or never): refused at construction. */
function checkRefreshSkewSeconds(value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`refreshSkewSeconds must be a number of seconds from 0, got ${value}`);
  return value;
}

function checkTimeoutMs(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0 || value > MAX_TIMEOUT_MS) {
    throw new TypeError(`${name} must be a number of ms from 0 (no timeout) to ${MAX_TIMEOUT_MS}, got ${value}`);
  }
  return value;
}

interface CachedToken {
  accessToken: string;
  /** When the access token really expires (by the client's clock at issue); 0 once the server refused it. */
  expiresAtMs: number;
  /** When to stop using the access token: refreshSkewSeconds before its expiry, at most half its lifetime early. */
  renewAtMs: number;
  refreshToken: string;
  /** When to stop offering the refresh token, by the same rule. */
  refreshUsableUntilMs: number;
}

/**
 * The moment to stop using a credential issued at `issuedAtMs` for `lifetimeSeconds`: `skewMs` early, like the Go SDK,
 * but never more than half the lifetime early, so a token that lives no longer than the skew is still reused.
 */
function usableUntilMs(issuedAtMs: number, lifetimeSeconds: number, skewMs: number): number {
  const lifetimeMs = lifetimeSeconds * 1000;
  return issuedAtMs + lifetimeMs - Math.min(skewMs, lifetimeMs / 2);
}

function trimTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The base URL the client appends its paths to: trailing slashes dropped, then one trailing version segment (`/v3` for
 * the Open API, `/v1` for OAuth, as RM's docs write the hosts), so both forms reach the same URLs. Any other path prefix
 * stays; a query or fragment in a base URL is not supported.
 */
function normaliseBaseUrl(url: string, versionSegment: string, name: string): string {
  // Surrounding white space is dropped: URLs read from files and secrets often end in a newline.
  const trimmed = trimTrailingSlashes(url.trim());
  // Checked here, not on the first payment: the client appends paths to the base, so a query or fragment in it would
  // make the URL signed differ from the URL fetched, and a host without a scheme is no URL at all.
  let parsed: URL | undefined;
  try {
    parsed = new URL(trimmed);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || /[?#]/.test(trimmed)) {
    throw new TypeError(`${name} must be an http(s) URL without a query or fragment, like 'https://sb-open.revenuemonster.my', got ${JSON.stringify(url)}`);
  }
  // Only the path may lose the segment: a host named like it ('http://v3') stays whole.
  const parts = /^([^:/?#]+:\/\/[^/?#]*)(.*)$/.exec(trimmed);
  const origin = parts?.[1];
  const path = parts?.[2];
  if (origin === undefined || path === undefined) return trimmed;
  // RM's docs also give the token endpoint's whole URL ('https://sb-oauth.revenuemonster.my/v1/token'): its host is meant.
  const lowerPath = path.toLowerCase();
  const suffixes = versionSegment === '/v1' ? ['/v1/token', '/v1'] : [versionSegment];
  const suffix = suffixes.find((candidate) => lowerPath.endsWith(candidate));
  if (suffix === undefined) return trimmed;
  return trimTrailingSlashes(`${origin}${path.slice(0, -suffix.length)}`);
}

function parseBody(rawText: string): unknown {
  if (rawText.trim() === '') return rawText;
  try {
    return JSON.parse(rawText) as unknown;
  } catch {
    return rawText;
  }
}

/**
 * An id as one path segment. `.` and `..` are refused: a URL resolves them away (`/order/..` is `/`), so the call would
 * reach another endpoint; no RM id is either, and none is empty.
 */
function pathSegment(id: string, name: string): string {
  if (id === '' || id === '.' || id === '..') throw new TypeError(`${name} cannot be ${JSON.stringify(id)}: no RM id is, and a URL path cannot carry it`);
  return encodeURIComponent(id);
}

function appendQuery(path: string, query: RequestOptions['query']): string {
  if (query === undefined) return path;
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  if (pairs.length === 0) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${pairs.join('&')}`;
}

/** RM's list `filter` is JSON in the query: a string is taken as already serialised, anything else is serialised. */
function serialiseFilter(filter: unknown): string | undefined {
  if (filter === undefined) return undefined;
  return typeof filter === 'string' ? filter : JSON.stringify(filter);
}

/** Codes with which RM and tunai refuse the access token itself (not the signature or the scope). */
const TOKEN_REFUSAL_CODES: ReadonlySet<string> = new Set(['TOKEN_INVALID', 'TOKEN_EXPIRED']);

function isTokenResponse(body: unknown): body is TokenResponse {
  if (body === null || typeof body !== 'object') return false;
  const record = body as Record<string, unknown>;
  return typeof record['accessToken'] === 'string' && typeof record['expiresIn'] === 'number';
}

export class TunaiClient {
  readonly oauth: {
    clientCredentials(): Promise<TokenResponse>;
    refresh(refreshToken: string): Promise<TokenResponse>;
    authorizationCode(code: string, redirectUri: string): Promise<TokenResponse>;
    /** Builds `${oauthBaseUrl}/authorize?responseType=code&clientId=…&redirectUri=…&scope=a,b&state=…`. */
    authorizeUrl(input: { redirectUri: string; scopes: string[]; state?: string }): string;
  };
  readonly merchant: {
    get(): Promise<ItemResponse<Merchant>>;
    subscriptions(): Promise<ItemResponse<MerchantSubscription[]>>;
  };
  readonly stores: {
    list(query?: { limit?: number; cursor?: string; filter?: unknown }): Promise<ItemsResponse<Store>>;
    get(storeId: string): Promise<ItemResponse<Store>>;
    create(input: CreateStoreRequest, options?: WriteOptions): Promise<ItemResponse<Store>>;
    update(storeId: string, input: UpdateStoreRequest, options?: WriteOptions): Promise<ItemResponse<Store>>;
    delete(storeId: string, options?: WriteOptions): Promise<CodeResponse>;
  };
  readonly user: { get(): Promise<ItemResponse<User>> };
  readonly payment: {
    quickPay(input: QuickPayRequest, options?: WriteOptions): Promise<ItemResponse<Transaction>>;
    refund(input: RefundRequest, options?: WriteOptions): Promise<ItemResponse<Transaction>>;
    reverse(orderId: string, options?: WriteOptions): Promise<ItemResponse<Transaction>>;
    transactions(query?: { limit?: number; cursor?: string; filter?: unknown }): Promise<ItemsResponse<Transaction>>;
    transaction(transactionId: string): Promise<ItemResponse<Transaction>>;
    transactionByOrderId(orderId: string): Promise<ItemResponse<Transaction>>;
    /** The daily settlement report: CSV text (H, T… and S lines). */
    settlementCsv(input: SettlementCsvRequest): Promise<string>;
    /** Transaction QR (customer scans the merchant's code). */
    createQrCode(input: CreateQrCodeRequest, options?: WriteOptions): Promise<ItemResponse<CreatedQrCode>>;
    qrCodes(query?: { limit?: number; cursor?: string; filter?: unknown; order?: '-createdAt' | 'createdAt' }): Promise<ItemsResponse<QrCode>>;
    qrCode(code: string): Promise<ItemResponse<QrCode>>;
    qrCodeTransactions(code: string, query?: { limit?: number; cursor?: string; filter?: unknown }): Promise<ItemsResponse<Transaction>>;
    /** Web/mobile checkout: create, read its status, a wallet's QR for it, or pay it directly. */
    createCheckout(input: CreateCheckoutRequest, options?: WriteOptions): Promise<ItemResponse<CreatedCheckout>>;
    checkout(checkoutId: string): Promise<ItemResponse<Checkout>>;
    checkoutQrCode(checkoutId: string, method: string): Promise<ItemResponse<CheckoutQrCode>>;
    directCheckout(input: DirectCheckoutRequest, options?: WriteOptions): Promise<ItemResponse<DirectCheckout>>;
    fpxBanks(): Promise<ItemResponse<FpxBanks>>;
  };
  /** tunai's own notify-webhook admin (outside /v3; RM has no such endpoints): the calling merchant's events only. */
  readonly webhooks: {
    list(query?: { limit?: number; cursor?: string; status?: WebhookEventStatus }): Promise<ItemsResponse<WebhookEvent>>;
    get(eventId: string): Promise<ItemResponse<WebhookEvent>>;
    resend(eventId: string, options?: WriteOptions): Promise<ItemResponse<WebhookEvent>>;
  };
  readonly tool: {
    generateSignature(input: GenerateSignatureRequest): Promise<GenerateSignatureResponse>;
    verifySignature(input: VerifySignatureRequest): Promise<VerifySignatureResponse>;
  };
  /**
   * tunai's sandbox helpers (sandbox mode only; RM has no such endpoints, a production tunai answers 404): no token and
   * no signature, as the server expects. The POSTs answer only the operator: a client on the server's machine, or one
   * given the server's TUNAI_SANDBOX_CONTROL_KEY as `sandboxKey`.
   */
  readonly sandbox: {
    /** `GET /sandbox/clock`: the server's current time. */
    clock(): Promise<ItemResponse<SandboxClock>>;
    /** `POST /sandbox/clock`: moves the server's clock forward by whole seconds (1 to 31,536,000) and answers the new time. */
    advanceClock(seconds: number): Promise<ItemResponse<SandboxClock>>;
    /** `POST /sandbox/closed-loop/run`: queries and reverses due payments now, as the background loop would. */
    runClosedLoop(): Promise<ItemResponse<SandboxClosedLoopRun>>;
    /** `POST /sandbox/outbox/run`: one notify delivery sweep, answered once everything due at the server's clock was tried. */
    runOutbox(): Promise<ItemResponse<SandboxOutboxRun>>;
  };

  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #privateKey: KeyObject | undefined;
  readonly #oauthBaseUrl: string;
  readonly #openApiBaseUrl: string;
  readonly #signByDefault: boolean;
  readonly #timestampUnit: TimestampUnit;
  readonly #nowMs: () => number;
  readonly #refreshSkewMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  #token: CachedToken | undefined;
  /** Shared by concurrent getAccessToken callers so a burst of calls costs one token request. */
  #tokenInFlight: Promise<string> | undefined;
  /**
   * Set once a token was adopted (authorization-code flow): the client then acts for that merchant only, renews with the
   * refresh token and never with client_credentials.
   */
  #adopted: { onRenewed: AdoptTokenOptions['onRenewed'] } | undefined;
  /** Bumped by adoptToken, so a token request started before the adoption cannot overwrite the adopted token. */
  #tokenGeneration = 0;

  constructor(options: TunaiClientOptions) {
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    // Parsing up front turns a bad key into an error at construction, not on the first payment.
    this.#privateKey = options.privateKeyPem === undefined ? undefined : parsePrivateKey(options.privateKeyPem);
    this.#oauthBaseUrl = normaliseBaseUrl(options.oauthBaseUrl, '/v1', 'oauthBaseUrl');
    this.#openApiBaseUrl = normaliseBaseUrl(options.openApiBaseUrl, '/v3', 'openApiBaseUrl');
    this.#signByDefault = this.#privateKey !== undefined && (options.signing ?? 'always') === 'always';
    this.#timestampUnit = options.timestampUnit ?? 'seconds';
    this.#nowMs = options.nowMs ?? Date.now;
    this.#refreshSkewMs = checkRefreshSkewSeconds(options.refreshSkewSeconds ?? DEFAULT_REFRESH_SKEW_SECONDS) * 1000;
    this.#timeoutMs = checkTimeoutMs(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    // Bound lazily so a test can stub globalThis.fetch after constructing the client.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));

    this.oauth = {
      clientCredentials: () => this.#tokenRequest({ grantType: 'client_credentials' }),
      refresh: (refreshToken) => this.#tokenRequest({ grantType: 'refresh_token', refreshToken }),
      authorizationCode: (code, redirectUri) => this.#tokenRequest({ grantType: 'authorization_code', code, redirectUri }),
      authorizeUrl: (input) => this.#authorizeUrl(input),
    };
    this.merchant = {
      get: () => this.request('GET', '/v3/merchant'),
      subscriptions: () => this.request('GET', '/v3/merchant/subscriptions'),
    };
    this.stores = {
      list: (query = {}) =>
        this.request('GET', '/v3/stores', {
          query: {
            limit: query.limit,
            cursor: query.cursor,
            filter: serialiseFilter(query.filter),
          },
        }),
      get: async (storeId) => this.request('GET', `/v3/store/${pathSegment(storeId, 'storeId')}`),
      create: (input, options = {}) => this.request('POST', '/v3/store', { body: input, ...options }),
      update: async (storeId, input, options = {}) => this.request('PATCH', `/v3/store/${pathSegment(storeId, 'storeId')}`, { body: input, ...options }),
      delete: async (storeId, options = {}) => this.request('DELETE', `/v3/store/${pathSegment(storeId, 'storeId')}`, { ...options }),
    };
    this.user = { get: () => this.request('GET', '/v3/user') };
    this.payment = {
      quickPay: (input, options = {}) => this.request('POST', '/v3/payment/quickpay', { body: input, ...options }),
      refund: (input, options = {}) => this.request('POST', '/v3/payment/refund', { body: input, ...options }),
      reverse: (orderId, options = {}) => this.request('POST', '/v3/payment/reverse', { body: { orderId }, ...options }),
      transactions: (query = {}) =>
        this.request('GET', '/v3/payment/transactions', {
          query: { limit: query.limit, cursor: query.cursor, filter: serialiseFilter(query.filter) },
        }),
      transaction: async (transactionId) => this.request('GET', `/v3/payment/transaction/${pathSegment(transactionId, 'transactionId')}`),
      transactionByOrderId: async (orderId) =>
        this.request('GET', `/v3/payment/transaction/order/${pathSegment(orderId, 'orderId')}`),
      settlementCsv: async (input) => {
        const response = await this.send('POST', '/v3/payment/settlement/csv', { body: input });
        if (response.status !== 200 || hasErrorEnvelope(response.body)) throw RmApiError.fromResponse(response.status, response.body, response.headers);
        // A 200 whose body is JSON (an envelope) or that says it is HTML (a proxy's page) is not the report; CSV text is
        // taken whatever its Content-Type says.
        const type = (response.headers.get('content-type') ?? '').toLowerCase();
        const isJson = typeof response.body === 'object' && response.body !== null;
        if (isJson || type.includes('html')) {
          throw new RmApiError({
            code: 'HTTP_200',
            message: `HTTP 200 with ${isJson ? 'a JSON body' : (type.split(';')[0] ?? type)} instead of the CSV report`,
            httpStatus: 200,
            body: response.body,
            headers: response.headers,
          });
        }
        return response.rawText;
      },
      createQrCode: (input, options = {}) => this.request('POST', '/v3/payment/transaction/qrcode', { body: input, ...options }),
      qrCodes: (query = {}) =>
        this.request('GET', '/v3/payment/transaction/qrcodes', {
          query: { 'order[]': query.order, limit: query.limit, cursor: query.cursor, filter: serialiseFilter(query.filter) },
        }),
      qrCode: async (code) => this.request('GET', `/v3/payment/transaction/qrcode/${pathSegment(code, 'code')}`),
      qrCodeTransactions: async (code, query = {}) =>
        this.request('GET', `/v3/payment/transaction/qrcode/${pathSegment(code, 'code')}/transactions`, {
          query: { limit: query.limit, cursor: query.cursor, filter: serialiseFilter(query.filter) },
        }),
      createCheckout: (input, options = {}) => this.request('POST', '/v3/payment/online', { body: input, ...options }),
      checkout: (checkoutId) => this.request('GET', '/v3/payment/online', { query: { checkoutId } }),
      checkoutQrCode: (checkoutId, method) => this.request('GET', '/v3/payment/online/qrcode', { query: { checkoutId, method } }),
      directCheckout: (input, options = {}) => this.request('POST', '/v3/payment/online/checkout', { body: input, ...options }),
      fpxBanks: () => this.request('GET', '/v3/payment/fpx-bank'),
    };
    this.webhooks = {
      list: (query = {}) => this.request('GET', '/admin/webhooks', { query: { limit: query.limit, cursor: query.cursor, status: query.status } }),
      get: async (eventId) => this.request('GET', `/admin/webhooks/${pathSegment(eventId, 'eventId')}`),
      resend: async (eventId, options = {}) => this.request('POST', `/admin/webhooks/${pathSegment(eventId, 'eventId')}/resend`, { ...options }),
    };
    // The tool endpoints are public helpers on RM: no token and no signature.
    this.tool = {
      generateSignature: (input) =>
        this.request('POST', '/tool/signature/generate', { body: input, accessToken: null, sign: false }),
      verifySignature: (input) =>
        this.request('POST', '/tool/signature/verify', { body: input, accessToken: null, sign: false }),
    };
    const unauthenticated = { accessToken: null, sign: false } as const;
    const operator = { ...unauthenticated, ...(options.sandboxKey === undefined ? {} : { headers: { 'x-sandbox-key': options.sandboxKey } }) };
    this.sandbox = {
      clock: () => this.request('GET', '/sandbox/clock', unauthenticated),
      advanceClock: (seconds) => this.request('POST', '/sandbox/clock', { body: { advanceSeconds: seconds }, ...operator }),
      runClosedLoop: () => this.request('POST', '/sandbox/closed-loop/run', operator),
      runOutbox: () => this.request('POST', '/sandbox/outbox/run', operator),
    };
  }

  /**
   * Makes `token` this client's token, to act as the merchant that consented (authorization-code flow): pass what
   * `oauth.authorizationCode()` (or `oauth.refresh()`) returned, or a token stored earlier with its `issuedAtMs`. Later
   * calls send it and renew it with its refresh token; the client never falls back to client_credentials again. A
   * refused or failed refresh is thrown to the caller, and with no usable refresh token left calls throw
   * AuthorizationRequiredError. Adopting another token replaces this one.
   */
  adoptToken(token: TokenResponse, options: AdoptTokenOptions = {}): void {
    if (!isTokenResponse(token)) throw new TypeError('adoptToken needs a token response with a string accessToken and a numeric expiresIn');
    this.#tokenGeneration += 1;
    // A token request already running answers its own callers but is no longer shared: later calls use this token.
    this.#tokenInFlight = undefined;
    this.#adopted = { onRenewed: options.onRenewed };
    this.#cacheToken(token, options.issuedAtMs ?? this.#nowMs());
  }

  /**
   * Cached token; refreshes with the refresh token when within refreshSkewSeconds of expiry, falls back to
   * client_credentials when refresh fails with 400/401 (never for an adopted token: see adoptToken). Concurrent callers
   * share one in-flight token request; a failed or timed-out one is not kept, so the next call asks again.
   */
  getAccessToken(): Promise<string> {
    const cached = this.#token;
    if (cached !== undefined && this.#nowMs() < cached.renewAtMs) {
      return Promise.resolve(cached.accessToken);
    }
    if (this.#tokenInFlight !== undefined) return this.#tokenInFlight;
    const renewal = this.#renewToken(cached);
    const inFlight = renewal
      .then((renewed) => renewed.accessToken)
      .finally(() => {
        // adoptToken may have replaced it meanwhile; that one is not this request's to clear.
        if (this.#tokenInFlight === inFlight) this.#tokenInFlight = undefined;
      });
    // Callers that joined see a failed renewal through their own await; with none, this one must not go unhandled.
    inFlight.catch(() => undefined);
    this.#tokenInFlight = inFlight;
    // Only the call that started the renewal waits for onRenewed and sees its error (the others just use the token).
    return renewal.then(async (renewed) => {
      await renewed.saved;
      return renewed.accessToken;
    });
  }

  /**
   * A renewal that fails because the authorization server did not answer (no connection, a timeout, a 5xx) leaves
   * the token in hand: it is renewed early (refreshSkewSeconds), so it still works until it really expires, and an
   * outage of the token endpoint need not fail calls before then. The next call tries the renewal again.
   */
  async #renewToken(cached: CachedToken | undefined): Promise<{ accessToken: string; saved?: Promise<void> }> {
    try {
      return await this.#renewTokenNow(cached);
    } catch (error) {
      const outage = error instanceof NetworkError || error instanceof RequestTimeoutError || (error instanceof RmApiError && error.httpStatus >= 500);
      if (outage && this.#stillValid(cached)) return { accessToken: cached.accessToken };
      throw error;
    }
  }

  async #renewTokenNow(cached: CachedToken | undefined): Promise<{ accessToken: string; saved?: Promise<void> }> {
    const canRefresh =
      cached !== undefined && cached.refreshToken !== '' && this.#nowMs() < cached.refreshUsableUntilMs;
    const adopted = this.#adopted;
    // adoptToken during this renewal bumps it: nothing this renewal obtains may then replace the adopted token.
    const generation = this.#tokenGeneration;
    if (adopted !== undefined) {
      // Acting for a consenting merchant: client_credentials would silently act as the app owner's merchant instead.
      if (!canRefresh) throw new AuthorizationRequiredError('the adopted token has expired and has no usable refresh token');
      const issuedAtMs = this.#nowMs();
      let token: TokenResponse;
      try {
        token = await this.#tokenRequest({ grantType: 'refresh_token', refreshToken: cached.refreshToken });
      } catch (error) {
        // INVALID_GRANT: the refresh token itself is spent, revoked or expired and can never work again, so it is
        // dropped. This call sees the refusal; the next ones see AuthorizationRequiredError instead of sending it
        // again. Other refusals (an app switched off, a wrong secret) say nothing about the token: it is kept.
        const spent = error instanceof RmApiError && error.code === 'INVALID_GRANT';
        if (spent && generation === this.#tokenGeneration && this.#token === cached) this.#token = { ...cached, refreshToken: '' };
        throw error;
      }
      // A token adopted meanwhile stays this client's; but the refresh token used here is spent all the same, so the
      // adoption it belonged to is still handed the rotated one (or its merchant would have to consent again).
      if (generation === this.#tokenGeneration) this.#cacheToken(token, issuedAtMs);
      const onRenewed = adopted.onRenewed;
      return { accessToken: token.accessToken, ...(onRenewed ? { saved: (async () => onRenewed(token, issuedAtMs))() } : {}) };
    }
    if (canRefresh) {
      try {
        return { accessToken: await this.#obtainToken({ grantType: 'refresh_token', refreshToken: cached.refreshToken }, generation) };
      } catch (error) {
        // A revoked or expired refresh token is routine; anything else (network, 5xx) is the caller's to see.
        const refused = error instanceof RmApiError && (error.httpStatus === 400 || error.httpStatus === 401);
        if (!refused) throw error;
        if (generation === this.#tokenGeneration) this.#token = undefined;
      }
    }
    return { accessToken: await this.#obtainToken({ grantType: 'client_credentials' }, generation) };
  }

  async #obtainToken(body: { grantType: GrantType; refreshToken?: string }, generation: number): Promise<string> {
    // Time is read before the request so the computed expiry errs early, never late.
    const issuedAtMs = this.#nowMs();
    const token = await this.#tokenRequest(body);
    // A token adopted while this request ran wins: this answer serves only the callers that were waiting for it.
    if (generation === this.#tokenGeneration) this.#cacheToken(token, issuedAtMs);
    return token.accessToken;
  }

  #cacheToken(token: TokenResponse, issuedAtMs: number): void {
    this.#token = {
      accessToken: token.accessToken,
      expiresAtMs: issuedAtMs + token.expiresIn * 1000,
      renewAtMs: usableUntilMs(issuedAtMs, token.expiresIn, this.#refreshSkewMs),
      refreshToken: typeof token.refreshToken === 'string' ? token.refreshToken : '',
      refreshUsableUntilMs:
        typeof token.refreshTokenExpiresIn === 'number' ? usableUntilMs(issuedAtMs, token.refreshTokenExpiresIn, this.#refreshSkewMs) : 0,
    };
  }

  async #tokenRequest(body: { grantType: GrantType; refreshToken?: string; code?: string; redirectUri?: string }): Promise<TokenResponse> {
    const basic = Buffer.from(`${this.#clientId}:${this.#clientSecret}`, 'utf8').toString('base64');
    const { response, rawText } = await this.#exchange(
      `${this.#oauthBaseUrl}/v1/token`,
      {
        method: 'POST',
        headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      },
      this.#timeoutMs,
    );
    const parsed = parseBody(rawText);
    if (response.status !== 200 || hasErrorEnvelope(parsed)) throw RmApiError.fromResponse(response.status, parsed, response.headers);
    if (!isTokenResponse(parsed)) {
      throw new RmApiError({
        code: 'INVALID_TOKEN_RESPONSE',
        message: 'INVALID_TOKEN_RESPONSE: token response lacks a string accessToken or a numeric expiresIn',
        httpStatus: response.status,
        body: parsed,
        headers: response.headers,
      });
    }
    return parsed;
  }

  #authorizeUrl(input: { redirectUri: string; scopes: string[]; state?: string }): string {
    const params = [
      'responseType=code',
      `clientId=${encodeURIComponent(this.#clientId)}`,
      `redirectUri=${encodeURIComponent(input.redirectUri)}`,
      // RM separates scopes with a bare comma, so only the scope names themselves are encoded.
      `scope=${input.scopes.map((scope) => encodeURIComponent(scope)).join(',')}`,
    ];
    if (input.state !== undefined) params.push(`state=${encodeURIComponent(input.state)}`);
    return `${this.#oauthBaseUrl}/authorize?${params.join('&')}`;
  }

  /** Low-level call to `${openApiBaseUrl}${path}`; authenticates, signs per options, throws RmApiError on non-200, returns parsed JSON. */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    // A 200 that is not a JSON object (a proxy's HTML page, a bare array) is no RM envelope: returning it would hand
    // the caller a string or array typed as the item.
    const isObject = response.body !== null && typeof response.body === 'object' && !Array.isArray(response.body);
    if (response.status !== 200 || !isObject || hasErrorEnvelope(response.body)) {
      throw RmApiError.fromResponse(response.status, response.body, response.headers);
    }
    return response.body as T;
  }

  /** Like request but never throws on HTTP status: returns { status, headers, body (parsed JSON or text), rawText }. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const first = await this.#sendOnce(method, path, options);
    // The server checks the token before anything else, so a refused token means the request did nothing: with the
    // cached token dropped (or an adopted one marked for renewal), it is sent once more, signed afresh.
    return first.cachedTokenRefused ? (await this.#sendOnce(method, path, options)).raw : first.raw;
  }

  async #sendOnce(method: string, path: string, options: RequestOptions): Promise<{ raw: RawResponse; cachedTokenRefused: boolean }> {
    // fetch upper-cases only some methods itself (not PATCH), so it is done here for all of them.
    const upperMethod = method.toUpperCase();
    const hasBody = options.body !== undefined;
    if (hasBody && (upperMethod === 'GET' || upperMethod === 'HEAD')) {
      // fetch cannot send a GET body, and signing one that is not sent would make the signature lie.
      throw new TypeError(`${upperMethod} requests cannot carry a body`);
    }
    // The URL is normalised first so the signed requestUrl is byte for byte what fetch puts on the wire.
    const requestUrl = new URL(`${this.#openApiBaseUrl}${appendQuery(path, options.query)}`).href;

    const timeoutMs = options.timeoutMs === undefined ? this.#timeoutMs : checkTimeoutMs(options.timeoutMs, 'options.timeoutMs');
    const headers = new Headers();
    const accessToken = options.accessToken === undefined ? await this.#accessTokenWithin(timeoutMs) : options.accessToken;
    if (accessToken !== null) headers.set('Authorization', `Bearer ${accessToken}`);
    if (hasBody) headers.set('Content-Type', 'application/json');
    if (options.idempotencyKey !== undefined) headers.set('Idempotency-Key', options.idempotencyKey);

    if (options.sign ?? this.#signByDefault) {
      if (this.#privateKey === undefined) throw new TypeError('Signing requested but the client has no privateKeyPem');
      const nonceStr = options.nonceStr ?? generateNonce();
      const timestamp = options.timestamp ?? this.#currentTimestamp();
      const { signature } = signRequest({
        body: options.body,
        method: upperMethod,
        requestUrl,
        nonceStr,
        timestamp,
        privateKey: this.#privateKey,
      });
      headers.set('X-Signature', signature);
      headers.set('X-Nonce-Str', nonceStr);
      headers.set('X-Timestamp', timestamp);
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);

    const { response, rawText } = await this.#exchange(
      requestUrl,
      { method: upperMethod, headers, ...(hasBody ? { body: JSON.stringify(options.body) } : {}) },
      timeoutMs,
    );
    const body = parseBody(rawText);
    // A cached token the server no longer accepts (revoked, server keys rotated) would otherwise be sent until its
    // expiry, which RM sets weeks ahead: forget it so the next call obtains another. Tokens passed in are the caller's.
    let cachedTokenRefused = false;
    if (response.status === 401 && options.accessToken === undefined && TOKEN_REFUSAL_CODES.has(RmApiError.fromResponse(response.status, body).code)) {
      // Every call the token was refused for is sent again, also when a call refused just before already replaced it.
      cachedTokenRefused = true;
      const cached = this.#token;
      if (cached?.accessToken === accessToken) {
        // An adopted token is renewed with its refresh token (the only way back to that merchant); any other is dropped.
        this.#token = this.#adopted === undefined ? undefined : { ...cached, renewAtMs: 0, expiresAtMs: 0 };
      }
    }
    return { raw: { status: response.status, headers: response.headers, body, rawText }, cachedTokenRefused };
  }

  /**
   * One fetch with its whole answer read, given up after `timeoutMs` (0 = never): the request is aborted and a
   * RequestTimeoutError thrown. The limit is also enforced without the fetch's help, so an injected fetch that ignores
   * the abort signal cannot hang the caller either.
   */
  async #exchange(url: string, init: RequestInit, timeoutMs: number): Promise<{ response: Response; rawText: string }> {
    const method = init.method ?? 'GET';
    // Redirects are not followed: a request is signed for its own URL (a 307/308 would re-send the body, signed for
    // the old one, to another), and a proxy's 302 to a login page is no RM answer. A 3xx reaches the caller as it is.
    const sent: RequestInit = { ...init, redirect: 'manual' };
    const run = async (signal?: AbortSignal) => {
      try {
        const response = await this.#fetch(url, signal === undefined ? sent : { ...sent, signal });
        return { response, rawText: await response.text() };
      } catch (error) {
        // The timeout's own abort is reported by the race below; anything else is the connection failing.
        if (error instanceof RequestTimeoutError || signal?.aborted === true) throw error;
        throw new NetworkError({ method, url, cause: error });
      }
    };
    if (timeoutMs === 0) return run();
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new RequestTimeoutError({ method, url, timeoutMs });
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const answered = run(controller.signal);
    // The fetch's own rejection after the abort is expected and already reported as the timeout.
    answered.catch(() => undefined);
    try {
      return await Promise.race([answered, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The access token, waited for at most `timeoutMs` (a call's own limit; 0 = no limit of its own). The token request is
   * shared with other calls and keeps the client's limit: a call with a tighter one stops waiting, the request goes on.
   */
  async #accessTokenWithin(timeoutMs: number): Promise<string> {
    const token = this.getAccessToken();
    if (timeoutMs === 0 || (this.#timeoutMs !== 0 && timeoutMs >= this.#timeoutMs)) return token;
    token.catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new RequestTimeoutError({ method: 'POST', url: `${this.#oauthBaseUrl}/v1/token`, timeoutMs })), timeoutMs);
    });
    try {
      return await Promise.race([token, timedOut]);
    } catch (error) {
      // The renewal outlasted this call's limit (a token endpoint that hangs): a token in hand that has not expired
      // still works, so the call goes on with it; the renewal goes on for later calls.
      const cached = this.#token;
      if (error instanceof RequestTimeoutError && this.#stillValid(cached)) return cached.accessToken;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A cached access token that has not expired yet (renewing early is the skew; this is the real expiry). */
  #stillValid(cached: CachedToken | undefined): cached is CachedToken {
    return cached !== undefined && this.#nowMs() < cached.expiresAtMs;
  }

  #currentTimestamp(): string {
    const nowMs = Math.floor(this.#nowMs());
    return String(this.#timestampUnit === 'milliseconds' ? nowMs : Math.floor(nowMs / 1000));
  }
}
