// Every limit tunai enforces, in one place, each with the reason it exists (tests check max and max+1).
export const limits = {
  /** Largest request body accepted; RM payloads are small JSON documents, so 1 MiB is generous. */
  requestBodyBytesMax: 1_048_576,
  /**
   * Deepest nesting of arrays and objects in a JSON body. RM payloads nest three or four levels; the canonical
   * serialisers the signature check runs recurse once per level, so thousands of levels would exhaust the stack.
   */
  jsonNestingDepthMax: 32,
  /** Page size for list endpoints: default when `limit` is absent, and the most one page may hold. */
  pageSizeDefault: 20,
  pageSizeMax: 100,
  /** A JSON `filter` query parameter longer than this is not a filter a client needs. */
  filterQueryCharsMax: 2_000,
  /** Stores per merchant (catalog STORE_MAXIMUM says "Maximum store allowed to create is 10"). */
  storesPerMerchantMax: 10,
  /** Store text fields: generous for real addresses, small enough to keep rows bounded. */
  storeNameCharsMax: 100,
  storeAddressLineCharsMax: 200,
  storePostCodeCharsMax: 16,
  storePlaceCharsMax: 100,
  countryCodeDigitsMax: 4,
  phoneNumberDigitsMax: 20,
  /** Signature headers: nonces run 32–64 chars in the SDKs; anything beyond 128 is not a nonce. */
  nonceCharsMax: 128,
  nonceCharsMin: 8,
  signatureHeaderCharsMax: 2_048,
  timestampHeaderCharsMax: 32,
  /**
   * A spent nonce is kept for twice the timestamp window from its first use, plus this: a request is accepted while
   * its signed timestamp is within the window, so a byte-identical replay stays refused for as long as it could
   * pass the timestamp check, even between processes whose clocks differ by a few seconds.
   */
  nonceRetentionMarginMs: 5_000,
  /**
   * X-Request-Id a caller sends is kept (and echoed) when it is at most this long and made of letters, digits and
   * `._:-`: enough for a UUID or a trace id, and nothing that could mislead a log reader. Otherwise tunai draws one.
   */
  requestIdCharsMax: 128,
  /** Default allowed clock skew for X-Timestamp (configurable); RM documents ±120 s, we are kinder. */
  timestampWindowSecondsDefault: 300,
  /** OAuth lifetimes: RM's documented default access token is 2 h; refresh tokens last 30 days. */
  accessTokenTtlSecondsDefault: 7_200,
  refreshTokenTtlSecondsDefault: 2_592_000,
  /** Authorization codes are short-lived and single use. */
  authorizationCodeTtlSeconds: 300,
  /** Kotlin reads expiresIn as Int: never emit more than 2^31-1. */
  tokenTtlSecondsMax: 2_147_483_647,
  redirectUriCharsMax: 2_048,
  oauthStateCharsMax: 512,
  scopeParamCharsMax: 512,
  /**
   * A leaked refresh token's family is revoked in passes until one finds nothing left; each further pass needs a
   * rotation racing the last one, so a few passes are plenty and the bound only stops an endless loop.
   */
  familyRevokePassesMax: 16,
  /** While the server closes, idle keep-alive sockets are dropped this often, so shutdown ends soon after the last answer. */
  shutdownIdleSweepMs: 50,
  /** On shutdown, a request whose bytes are still arriving this long after closing began is dropped (it never ends). */
  shutdownArrivalGraceMs: 5_000,
  /** Tool endpoints take keys in the body; 16 KiB fits an RSA-8192 PEM (the modulus bound below refuses it anyway). */
  pemCharsMax: 16_384,
  /**
   * The RSA moduli tunai works with (app keys, the signature tools; the verify tool takes smaller keys too, as RM's
   * example does). RM's keys are 2048-bit and its generate example 1024-bit. Below 496 bits a SHA-256 signature block does not fit at all; above, the cost of a signature
   * grows with the cube of the modulus, so an RSA-16384 key (which fits in pemCharsMax) took ~0.3 s per signature
   * on this machine.
   */
  rsaModulusBitsMin: 1_024,
  rsaModulusBitsMax: 4_096,
  /**
   * `/tool/signature/generate` needs no credentials but shares the RSA worker with every token and request check:
   * one tool signature at a time per process, this many more waiting, and beyond that 429 EXCEEDED_LIMIT. A flood
   * then delays other RSA work by at most one tool signature (~3 ms for a 4096-bit key) per batch.
   */
  toolSignaturesWaitingMax: 8,
  /**
   * The payer pages (checkout, Transaction QR, sandbox wallet) find their payment by the id in their URL, and that id
   * is all a payer needs: a checkout id is RM's 19 digits, of which ~20 bits are random after the millisecond. A caller
   * (an IPv4 address, an IPv6 /64) whose lookups find nothing this many times in a window is refused every lookup,
   * 429 EXCEEDED_LIMIT, until its window ends: ~4,300 guesses a day per address instead of thousands a second. A
   * payer who mistypes a link a few times is far from it; a page's own polls find their payment and never count.
   */
  payerLookupMissesMax: 30,
  payerLookupMissWindowMs: 600_000,
  /** Callers whose misses are remembered at once, per process (~100 bytes each); the oldest window goes first. */
  payerLookupCallersMax: 50_000,
  /**
   * A caller's lookups under way count against its miss budget (so a burst cannot exceed it); one refused only for
   * those, not for misses, is told to retry after this.
   */
  payerLookupBusyRetryMs: 1_000,

  /** Payment order fields, as the spec states them ("max: 24", "max: 32", "max: 600", "max 128"). */
  orderIdCharsMax: 24,
  orderTitleCharsMax: 32,
  orderDetailCharsMax: 600,
  orderAdditionalDataCharsMax: 128,
  /** The spec's minimum order: RM 0.10. */
  paymentAmountMinorMin: 10,
  /** RM 1,000,000 per payment: beyond any wallet's per-transaction limit, and far below 2^53. */
  paymentAmountMinorMax: 100_000_000,
  /** Auth codes: digits, 10–64 characters (RM documents 18 but its own Alipay example is longer; see upstream notes). */
  authCodeCharsMin: 10,
  authCodeCharsMax: 64,
  terminalIdCharsMax: 64,
  /** A voucher code sent with a payment (RM's codes are short; this only bounds what is read). */
  voucherCodeCharsMax: 64,
  /** An IPv6 address in text is at most 45 characters. */
  ipAddressCharsMax: 45,
  refundReasonCharsMax: 256,
  /**
   * How long a request waits for a PostgreSQL connection (a free one in the pool, or a new one) before it fails
   * with 500 instead of hanging: a database that accepts connections but never answers cannot hold requests forever.
   */
  databaseConnectTimeoutMsDefault: 10_000,
  databaseConnectTimeoutMsMax: 600_000,
  /**
   * PostgreSQL ends a tunai session that sits inside a transaction this long without sending its next statement.
   * tunai never waits on anything outside the database within a transaction, so only a frozen process (stopped,
   * paused with its container or VM, or with a blocked event loop) gets there. Ending its transaction releases the
   * rows it locked, so the other processes carry on.
   */
  databaseIdleInTransactionMsDefault: 30_000,
  databaseIdleInTransactionMsMax: 3_600_000,
  /**
   * A PostgreSQL query that gets no answer this long closes its connection: the request fails with 500 instead of
   * holding a connection forever on a database that went silent mid-query. Longer than the idle-in-transaction bound,
   * so a query waiting on rows a frozen process holds sees them freed first. Migrations are not bounded.
   */
  databaseQueryTimeoutMsDefault: 60_000,
  databaseQueryTimeoutMsMax: 3_600_000,
  /**
   * PostgreSQL connections one tunai process keeps at most. Several processes on one database each keep their own, so
   * processes × this must stay below the server's max_connections (PostgreSQL's default is 100).
   */
  databasePoolMaxDefault: 10,
  databasePoolMaxMax: 1_000,
  /**
   * How long a SQLite query waits for a write lock another process holds before its request fails with 500. The
   * wait is asynchronous: the process serves everything that does not need its database meanwhile.
   */
  sqliteBusyWaitMs: 5_000,
  /** A one-time setup claim (the demo merchant) older than this is taken over: its process died before finishing. */
  setupClaimLapseMs: 60_000,
  /** How long POST /v3/payment/quickpay waits for a final upstream result before answering IN_PROCESS (configurable). */
  quickPayWaitMsDefault: 30_000,
  /** A merchant may reverse a payment for 15 minutes after it was created (RM: "about 15 min"). */
  reverseWindowMs: 900_000,
  /** How long POST /v3/payment/reverse waits for a closed-loop step already in flight to finish. */
  reverseWaitMsMax: 10_000,
  /** A worker's claim on a payment step; longer than any upstream call may take, so only a crashed worker's claim lapses. */
  paymentStepLeaseMs: 60_000,
  /** An unanswered refund is retried (same refund id) after this long. */
  refundRetryMs: 5_000,
  /** How often the closed loop looks for due payments by default (configurable; 0 turns the loop off). */
  closedLoopIntervalMsDefault: 1_000,
  /** While a background job (closed-loop tick, outbox sweep) keeps failing, one reminder line per this long. */
  backgroundFailureLogRepeatMs: 60_000,
  /** TUNAI_SANDBOX_CONTROL_KEY: long enough not to be guessed, short enough for a header. */
  sandboxControlKeyCharsMin: 16,
  sandboxControlKeyCharsMax: 256,
  /** Sandbox time travel moves the clock at most a year per call. */
  sandboxClockAdvanceSecondsMax: 31_536_000,
  /**
   * …and at most 20 years ahead of the wall clock in all (beyond a 10-year QR code's expiry): ids begin with a
   * two-digit year (RM's form), so past 2099 they would no longer sort by time.
   */
  sandboxClockOffsetSecondsMax: 630_720_000,
  /** Each process reads the shared sandbox clock offset this often (the /sandbox routes read it at once). */
  sandboxClockRefreshMs: 1_000,
  /** Spent nonces and Idempotency-Keys are purged by the sandbox time of a move at least this old (every process has read it). */
  sandboxClockSettleMs: 10_000,
  /** Online checkout: RM's default lifetime is 600 s (go SDK expiresInSeconds); a merchant may ask for 60 s to 1 day. */
  checkoutTtlSecondsDefault: 600,
  checkoutTtlSecondsMin: 60,
  checkoutTtlSecondsMax: 86_400,
  /** redirectUrl and notifyUrl: a URL longer than this is not one a browser or server handles well. */
  urlCharsMax: 2_048,
  /** A path segment the router still matches to its route (beyond it: 404 API_ENDPOINT_NOT_FOUND). */
  pathParamCharsMax: 2_048,
  /** Checkout method lists: there are a dozen wallets; 32 entries leaves room for repeats and bare names. */
  methodListEntriesMax: 32,
  layoutVersionCharsMax: 8,
  /** Transaction QR: DYNAMIC expiry in days (RM: "days from now"); a fixed date at most ten years ahead. */
  qrExpiryDaysMax: 3_650,
  qrExpiryMsMax: 315_360_000_000,
  /** What a PERMANENT QR reports as its expiry (the spec's example value). */
  qrPermanentExpiresAt: '2050-12-31T23:59:59Z',
  /** A payer who scanned a QR has this long to confirm in the wallet before the payment is reversed. */
  qrPayerWindowMs: 300_000,
  /** Notify webhooks: a 2xx within the timeout is a delivery; then retries on the documented schedule. */
  webhookTimeoutMsDefault: 10_000,
  webhookTimeoutMsMax: 60_000,
  /** Delays before attempts 2, 3, …: 10 s, 30 s, 1 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 16 h (12 attempts, ~32 h). */
  webhookRetryDelaysMs: [10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 57_600_000],
  /** Each retry delay is spread by ±20 % so receivers that come back are not hit by every sender at once. */
  webhookJitterRatio: 0.2,
  /** A worker's claim on one delivery: longer than the timeout, so only a crashed worker's claim lapses. */
  webhookLeaseMs: 90_000,
  /** How often the outbox is swept for due deliveries by default (configurable; 0 turns the sweep off). */
  outboxIntervalMsDefault: 1_000,
  /** Deliveries started per sweep. */
  outboxBatchMax: 50,
  /**
   * Notify attempts one process has in flight at once. Sweeps no longer wait for the attempts they start, so without a
   * cap a crowd of receivers that never answer would hold an open socket (a file descriptor, under the usual 1 024
   * limit) and a lease each for up to webhookTimeoutMsMax. Twice outboxBatchMax: a whole batch of hanging receivers
   * still leaves room for a whole batch of prompt ones; beyond the cap, due events wait for a free slot (or another
   * process, whose claims are its own).
   */
  webhookInFlightMax: 100,
  /**
   * …of which at most this many to one receiver (a URL's origin): a receiver that never answers holds these slots for
   * one timeout each, and every other receiver keeps the rest.
   */
  webhookInFlightPerReceiverMax: 10,
  /** Recorded error text per attempt (a receiver's body excerpt or the network error). */
  webhookErrorCharsMax: 500,
  /** Settlement report sequence numbers: RM issues one report per day and method, sequence counts re-issues. */
  settlementSequenceMax: 9_999,
  /**
   * Idempotency-Key (tunai's addition, outside RM's shapes): visible ASCII, as long as the IETF draft's examples and
   * Stripe's 255; a UUID or an order id with a suffix fits many times over.
   */
  idempotencyKeyCharsMax: 255,
  /** A key's first answer is replayed for a day: longer than any client keeps retrying one call. */
  idempotencyKeyTtlMs: 86_400_000,
  /**
   * How long a request holds its key: well beyond the longest request (QuickPay waits 30 s for the wallet by default),
   * so a retry can tell a request still running from one whose process died. Neither is ever run a second time, and a
   * request that outlives the lease still stores its answer for later retries.
   */
  idempotencyLeaseMs: 120_000,
} as const;

/**
 * An order id: visible ASCII, but not `.` or `..`, which a URL path cannot carry as a segment (URL parsers resolve
 * them, even percent-encoded), so `GET /v3/payment/transaction/order/:orderId` could never find such an order.
 */
export const orderIdPattern = '^(?!\\.{1,2}$)[\\x21-\\x7e]+$';
