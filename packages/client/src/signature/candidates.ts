// Owns the server's tolerant signature check: the bounded, ordered set of plaintexts any official SDK could have signed.
import { createHash, type KeyObject } from 'node:crypto';
import { canonicalJson, canonicalJsonUnwrapped, dataBase64, utf8Base64 } from './canonical.js';
import type { CanonicalVariant } from './canonical.js';
import { buildPlaintext } from './plaintext.js';
import { recoverDigestFromBytes, signatureBytesOf } from './sign.js';

/** Everything the server knows about a received request, to verify its signature tolerantly. */
export interface ReceivedRequest {
  /** The HTTP method as received, e.g. 'DELETE'. */
  method: string;
  /** The exact body text as received; undefined or '' when there is none. */
  rawBody: string | undefined;
  /** JSON.parse(rawBody) when it parsed, else undefined. */
  parsedBody: unknown;
  nonceStr: string;
  /** The X-Timestamp header verbatim, because the client signed its own spelling (ms, seconds or float seconds). */
  timestamp: string;
  /** Absolute URL candidates built by the caller, most likely first. */
  requestUrls: string[];
  /** The sign type from X-Signature, as given. */
  signType: string;
}

/** URL candidates beyond this many are ignored so a request can never cost more than a fixed number of candidate hashes. */
export const MAX_REQUEST_URL_CANDIDATES = 16;
/** Method spellings tried: lower-case, upper-case (clh) and `get` for DELETE (js deleteStore bug). */
export const MAX_METHOD_VARIANTS = 3;
/**
 * Data forms tried per method: go, unsortedArrays, noHtmlEscape, python, php, php without the top-level array wrap,
 * the raw body, and the three empty-body forms (omitted, `e30=`, '').
 */
export const MAX_DATA_VARIANTS = 10;
/** Upper bound on the plaintexts one request can yield: 16 × 3 × 10 = 480 SHA-256 hashes after the one RSA operation (typically far fewer after de-duplication). */
export const MAX_CANDIDATES = MAX_REQUEST_URL_CANDIDATES * MAX_METHOD_VARIANTS * MAX_DATA_VARIANTS;

const OTHER_VARIANTS: readonly CanonicalVariant[] = ['unsortedArrays', 'noHtmlEscape', 'python', 'php'];

function isEmptyContainer(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === 'object' && Object.keys(value).length === 0;
}

/**
 * Yields the `data` values to try, most likely first; undefined means "omit the pair".
 * It is a generator so the costlier serialisations only run when the cheaper guesses have already failed.
 */
function* dataForms(req: ReceivedRequest): Generator<string | undefined> {
  const trimmedRaw = req.rawBody?.trim() ?? '';
  const parsed = req.parsedBody;
  const hasParsed = parsed !== undefined;
  if (hasParsed) {
    yield dataBase64(parsed);
    for (const variant of OTHER_VARIANTS) {
      const json = canonicalJson(parsed, variant);
      // No SDK signs a literal `null` body; they all drop `data` instead, which the empty forms cover.
      if (json !== 'null') yield utf8Base64(json);
    }
    // PHP's json_encode leaves a list bare, so a top-level array is also tried without mxj's {"object":…} wrap.
    if (Array.isArray(parsed)) yield utf8Base64(canonicalJsonUnwrapped(parsed, 'php'));
  }
  // py, kt and java send exactly the bytes they signed, so the body itself is a candidate even when it did not parse.
  if (trimmedRaw !== '') yield utf8Base64(trimmedRaw);
  const bodyAbsent = trimmedRaw === '' && !hasParsed;
  if (bodyAbsent || parsed === null || isEmptyContainer(parsed)) {
    yield undefined;
    yield utf8Base64('{}');
    yield '';
  }
}

/** Caches a generator's items so every URL and method can reuse the data forms computed for the first one. */
function memoise<T>(source: Iterator<T>): (index: number) => { value: T } | undefined {
  const items: T[] = [];
  let done = false;
  return (index) => {
    while (!done && items.length <= index) {
      const next = source.next();
      if (next.done === true) done = true;
      else items.push(next.value);
    }
    return index < items.length ? { value: items[index] as T } : undefined;
  };
}

function methodVariants(method: string): string[] {
  const upper = method.toUpperCase();
  const variants = [method.toLowerCase(), upper];
  if (upper === 'DELETE') variants.push('get');
  return variants;
}

/**
 * Yields candidate plaintexts, most likely first and without duplicates, lazily so verification stops at the first match.
 * Order: per URL, per method spelling (lower, upper, `get` for DELETE), per data form (see dataForms).
 * At most MAX_CANDIDATES strings are produced; an empty requestUrls yields nothing because every SDK signs a URL.
 */
export function* candidatePlaintexts(req: ReceivedRequest): Generator<string> {
  const dataAt = memoise(dataForms(req));
  const methods = methodVariants(req.method);
  const seen = new Set<string>();
  for (const requestUrl of req.requestUrls.slice(0, MAX_REQUEST_URL_CANDIDATES)) {
    for (const method of methods) {
      for (let index = 0; index < MAX_DATA_VARIANTS; index++) {
        const data = dataAt(index);
        if (data === undefined) break;
        const plaintext = buildPlaintext(
          {
            data: data.value,
            method,
            nonceStr: req.nonceStr,
            // Go skips empty pairs, so an empty URL candidate means the pair was left out.
            requestUrl: requestUrl === '' ? undefined : requestUrl,
            signType: req.signType,
            timestamp: req.timestamp,
          },
          { lowerCaseMethod: false },
        );
        if (seen.has(plaintext)) continue;
        seen.add(plaintext);
        yield plaintext;
      }
    }
  }
}

/**
 * The candidate plaintext whose SHA-256 is the digest recovered from the signature (recoverDigestFromBytes), or
 * null. The signature is opened once, with one RSA operation, wherever the caller likes (a server does it on a
 * worker thread); each candidate then costs one SHA-256, which is what makes trying every SDK's form affordable.
 */
export function plaintextMatchingDigest(req: ReceivedRequest, digest: Buffer): string | null {
  // The same candidates as candidatePlaintexts, data form first: `data=…&` leads every plaintext, so it is hashed
  // once per form and each URL and method spelling continues from a copy of that hash state. A body of 1 MiB is
  // then hashed ten times at most, not 480.
  const requestUrls = [...new Set(req.requestUrls.slice(0, MAX_REQUEST_URL_CANDIDATES))];
  const methods = methodVariants(req.method);
  const seenData = new Set<string | undefined>();
  let forms = 0;
  for (const data of dataForms(req)) {
    if (++forms > MAX_DATA_VARIANTS) break;
    if (seenData.has(data)) continue;
    seenData.add(data);
    const head = data === undefined ? '' : `data=${data}&`;
    // Without a data pair there is nothing to share: a fresh hash per candidate (a signed GET's usual case).
    const headHash = head === '' ? null : createHash('sha256').update(head, 'utf8');
    for (const requestUrl of requestUrls) {
      for (const method of methods) {
        const rest = buildPlaintext(
          { method, nonceStr: req.nonceStr, requestUrl: requestUrl === '' ? undefined : requestUrl, signType: req.signType, timestamp: req.timestamp },
          { lowerCaseMethod: false },
        );
        const hash = headHash === null ? createHash('sha256') : headHash.copy();
        if (hash.update(rest, 'utf8').digest().equals(digest)) return head + rest;
      }
    }
  }
  return null;
}

/** Both steps on the calling thread: the plaintext a base64 signature verifies for, or null. */
export function verifyReceivedRequest(req: ReceivedRequest, signatureBase64: string, publicKey: KeyObject): string | null {
  const signatureBytes = signatureBytesOf(signatureBase64);
  const digest = signatureBytes === null ? null : recoverDigestFromBytes(signatureBytes, publicKey);
  return digest === null ? null : plaintextMatchingDigest(req, digest);
}
