// Every limit tunai enforces, in one place, each with the reason it exists (tests check max and max+1).
export const limits = {
  /** Largest request body accepted; RM payloads are small JSON documents, so 1 MiB is generous. */
  requestBodyBytesMax: 1_048_576,
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
  /** Tool endpoints take keys in the body; 16 KiB fits an RSA-8192 PEM. */
  pemCharsMax: 16_384,
} as const;
