// Owns verification of RM-style notify callbacks (webhooks), which are signed without a requestUrl.
import { dataBase64, utf8Base64 } from './signature/canonical.js';
import { buildPlaintext } from './signature/plaintext.js';
import { parsePublicKey, parseSignatureHeader, verifyPlaintext } from './signature/sign.js';

type HeaderBag = Record<string, string | string[] | undefined> | Headers;

/** Reads one header case-insensitively; a header repeated with different values is ambiguous and reads as absent. */
function readHeader(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (Array.isArray(value)) values.push(...value);
    else values.push(value);
  }
  const first = values[0];
  if (first === undefined || values.some((value) => value !== first)) return undefined;
  return first;
}

/**
 * Verifies an RM-style notify callback: X-Signature "sha256 <b64>" over
 * `data=<b64 go-canonical body>&method=post&nonceStr=<X-Nonce-Str>&signType=sha256&timestamp=<X-Timestamp>` (no requestUrl),
 * with the server public key PEM. Headers case-insensitive. Returns false on any malformation.
 * It does not judge the timestamp's age: the caller owns the clock and the replay policy.
 */
export function verifyNotifyCallback(input: {
  rawBody: string;
  headers: Record<string, string | string[] | undefined> | Headers;
  serverPublicKeyPem: string;
  method?: string;
}): boolean {
  try {
    const signatureHeader = readHeader(input.headers, 'x-signature');
    const nonceStr = readHeader(input.headers, 'x-nonce-str')?.trim();
    const timestamp = readHeader(input.headers, 'x-timestamp')?.trim();
    if (signatureHeader === undefined || nonceStr === undefined || timestamp === undefined) return false;
    if (nonceStr === '' || timestamp === '') return false;
    const parsedSignature = parseSignatureHeader(signatureHeader);
    if (parsedSignature === null) return false;

    const trimmedBody = input.rawBody.trim();
    let body: unknown;
    if (trimmedBody !== '') {
      try {
        body = JSON.parse(trimmedBody) as unknown;
      } catch {
        return false;
      }
    }
    const publicKey = parsePublicKey(input.serverPublicKeyPem);
    const method = (input.method ?? 'post').toLowerCase();
    // RM signs the Go canonical form; a sender that signed its exact bytes is also accepted, as the server does for requests.
    const dataForms = new Set<string | undefined>([dataBase64(body)]);
    if (trimmedBody !== '') dataForms.add(utf8Base64(trimmedBody));
    for (const data of dataForms) {
      const plaintext = buildPlaintext({ data, method, nonceStr, signType: parsedSignature.signType, timestamp });
      if (verifyPlaintext(plaintext, parsedSignature.signature, publicKey)) return true;
    }
    return false;
  } catch {
    // Bad keys and other malformed input are a failed verification, never an exception in a webhook handler.
    return false;
  }
}
