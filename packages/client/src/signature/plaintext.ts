// Owns the `key=value&…` plaintext that RM request signatures are computed over.

/** The pairs that make up a signing plaintext; `data` is base64 (or '' for the php empty-array form), undefined to omit it. */
export interface PlaintextParts {
  data?: string | undefined;
  method: string;
  nonceStr: string;
  requestUrl?: string | undefined;
  signType: string;
  timestamp: string;
}

/** The plaintext keys in bytewise order, which is the order every SDK emits them in. */
const PLAINTEXT_KEYS = ['data', 'method', 'nonceStr', 'requestUrl', 'signType', 'timestamp'] as const;

/**
 * Builds `[data=<b64>&]method=<m>&nonceStr=…&[requestUrl=…&]signType=…&timestamp=…`.
 * Values are not URL-encoded because no SDK encodes them; only undefined values are omitted, so `data=''` yields `data=`.
 * The method is lower-cased unless `lowerCaseMethod` is false, which the server uses to try clh's upper-case form.
 */
export function buildPlaintext(parts: PlaintextParts, options: { lowerCaseMethod?: boolean } = {}): string {
  const values: Record<(typeof PLAINTEXT_KEYS)[number], string | undefined> = {
    data: parts.data,
    method: options.lowerCaseMethod === false ? parts.method : parts.method.toLowerCase(),
    nonceStr: parts.nonceStr,
    requestUrl: parts.requestUrl,
    signType: parts.signType,
    timestamp: parts.timestamp,
  };
  const pairs: string[] = [];
  for (const key of PLAINTEXT_KEYS) {
    const value = values[key];
    if (value !== undefined) pairs.push(`${key}=${value}`);
  }
  return pairs.join('&');
}
