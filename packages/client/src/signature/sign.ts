// Owns RSA key parsing, RSASSA-PKCS1-v1_5/SHA-256 signing and verification, and the X-Signature/X-Timestamp/X-Nonce-Str header helpers.
import { Buffer } from 'node:buffer';
import { constants, createPrivateKey, createPublicKey, publicDecrypt, randomBytes, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { dataBase64 } from './canonical.js';
import { buildPlaintext } from './plaintext.js';

/** The only sign type RM defines; the header spells it lower-case but clh sends `SHA256`, so it is matched case-insensitively. */
export const SIGN_TYPE = 'sha256';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;
const BASE64_BODY = /^[A-Za-z0-9+/]+={0,2}$/;

type DerType = 'pkcs1' | 'pkcs8' | 'spki';

interface KeyText {
  /** The PEM label, or undefined when the caller pasted a bare base64 body. */
  label: string | undefined;
  der: Buffer;
}

/**
 * Pulls the DER bytes out of the many shapes merchants paste keys in: proper PEM, PEM whose newlines became spaces
 * or literal `\n` (environment variables), quoted PEM, or just the base64 body.
 */
function readKeyText(text: string): KeyText | null {
  let trimmed = text.trim();
  const first = trimmed.charAt(0);
  if ((first === '"' || first === "'") && trimmed.endsWith(first) && trimmed.length >= 2) {
    trimmed = trimmed.slice(1, -1).trim();
  }
  const block = PEM_BLOCK.exec(trimmed);
  const label = block?.[1];
  const rawBody = block === null ? trimmed : (block[2] ?? '');
  // Literal backslash escapes and any whitespace can never be part of base64, so they are noise from copy-pasting.
  const body = rawBody.replace(/\\[nrt]|\\|\s+/g, '');
  if (!BASE64_BODY.test(body)) return null;
  return { label, der: Buffer.from(body, 'base64') };
}

function derTypesFor(label: string | undefined, kind: 'private' | 'public'): DerType[] {
  if (kind === 'private') {
    if (label === 'RSA PRIVATE KEY') return ['pkcs1', 'pkcs8'];
    if (label === 'PRIVATE KEY' || label === undefined) return ['pkcs8', 'pkcs1'];
    return [];
  }
  if (label === 'RSA PUBLIC KEY') return ['pkcs1', 'spki'];
  if (label === 'PUBLIC KEY' || label === undefined) return ['spki', 'pkcs1'];
  return [];
}

function tryCreateKey(der: Buffer, type: DerType, kind: 'private' | 'public'): KeyObject | null {
  try {
    const key =
      kind === 'private'
        ? createPrivateKey({ key: der, format: 'der', type: type as 'pkcs1' | 'pkcs8' })
        : createPublicKey({ key: der, format: 'der', type: type as 'pkcs1' | 'spki' });
    // RM signatures are RSASSA-PKCS1-v1_5, so an EC or RSA-PSS key could never produce or check one.
    return key.asymmetricKeyType === 'rsa' ? key : null;
  } catch {
    return null;
  }
}

function parseKey(text: string, kind: 'private' | 'public'): KeyObject | null {
  const keyText = readKeyText(text);
  if (keyText === null) return null;
  // The label's own DER type is tried first; the other one rescues keys whose header was relabelled by hand.
  for (const type of derTypesFor(keyText.label, kind)) {
    const key = tryCreateKey(keyText.der, type, kind);
    if (key !== null) return key;
  }
  return null;
}

/** Parses an RSA private key (PKCS#1 or PKCS#8, PEM or bare base64). Throws Error('INVALID_PRIVATE_KEY'). */
export function parsePrivateKey(pem: string): KeyObject {
  const key = parseKey(pem, 'private');
  if (key === null) throw new Error('INVALID_PRIVATE_KEY');
  return key;
}

/** Parses an RSA public key (SPKI or PKCS#1, PEM or bare base64). Throws Error('INVALID_PUBLIC_KEY'). */
export function parsePublicKey(pem: string): KeyObject {
  const key = parseKey(pem, 'public');
  if (key === null) throw new Error('INVALID_PUBLIC_KEY');
  return key;
}

/** RSASSA-PKCS1-v1_5 with SHA-256 over the UTF-8 plaintext, as standard padded base64. */
export function signPlaintext(plaintext: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(plaintext, 'utf8'), privateKey).toString('base64');
}

/** Standard or URL-safe base64, padding optional; anything else cannot be a signature. */
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The bytes of a base64 (standard or URL-safe) signature, or null when it cannot be one. */
export function signatureBytesOf(signatureBase64: string): Buffer | null {
  if (!SIGNATURE_BASE64.test(signatureBase64)) return null;
  const signatureBytes = Buffer.from(signatureBase64, 'base64');
  return signatureBytes.length === 0 ? null : signatureBytes;
}

/** Checks a base64 signature over the UTF-8 plaintext; returns false instead of throwing on malformed input. */
export function verifyPlaintext(plaintext: string, signatureBase64: string, publicKey: KeyObject): boolean {
  const signatureBytes = signatureBytesOf(signatureBase64);
  if (signatureBytes === null) return false;
  try {
    return verify('sha256', Buffer.from(plaintext, 'utf8'), publicKey, signatureBytes);
  } catch {
    return false;
  }
}

/** DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1); the 32-byte digest follows it. */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * Recovers the SHA-256 digest a PKCS#1 v1.5 signature commits to, with one RSA public-key operation.
 * Comparing it with the digest of each candidate plaintext is the standard's own verification
 * (encode, then compare; RFC 8017 §8.2.2), and it lets the server test many candidate plaintexts
 * for the price of one RSA operation plus a hash each. Returns null when the signature is malformed.
 */
export function recoverDigestFromBytes(signatureBytes: Buffer, publicKey: KeyObject): Buffer | null {
  try {
    // publicDecrypt with PKCS#1 padding checks the 00 01 FF…FF 00 block-type-1 layout a signature uses.
    const encoded = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signatureBytes);
    if (encoded.length !== SHA256_DIGEST_INFO_PREFIX.length + 32) return null;
    if (!encoded.subarray(0, SHA256_DIGEST_INFO_PREFIX.length).equals(SHA256_DIGEST_INFO_PREFIX)) return null;
    return encoded.subarray(SHA256_DIGEST_INFO_PREFIX.length);
  } catch {
    return null;
  }
}

/**
 * Splits an X-Signature header `sha256 <b64>` on the first space.
 * Returns null when either part is missing, the signature contains whitespace, or the sign type is not sha256 in any case.
 * The sign type is returned as given because the client signed that exact spelling.
 */
export function parseSignatureHeader(header: string): { signType: string; signature: string } | null {
  const text = header.trim();
  const spaceIndex = text.indexOf(' ');
  if (spaceIndex <= 0) return null;
  const signType = text.slice(0, spaceIndex);
  const signature = text.slice(spaceIndex + 1).trim();
  if (signType.toLowerCase() !== SIGN_TYPE) return null;
  if (signature === '' || /\s/.test(signature)) return null;
  return { signType, signature };
}

/** Epoch values at or above this are milliseconds: 1e11 s is the year 5138, while 1e11 ms is 1973. */
const MILLISECONDS_THRESHOLD = 1e11;
const DECIMAL_TIMESTAMP = /^\d+(?:\.\d+)?$/;

/**
 * Normalises an X-Timestamp header to epoch milliseconds.
 * Go/php/kt send integer seconds, js sends milliseconds and py sends float seconds such as `1546931187.8109288`.
 */
export function timestampToEpochMs(timestamp: string): number | null {
  const text = timestamp.trim();
  if (!DECIMAL_TIMESTAMP.test(text)) return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) return null;
  const epochMs = value >= MILLISECONDS_THRESHOLD ? value : value * 1000;
  return Number.isFinite(epochMs) ? Math.round(epochMs) : null;
}

/** Signs a request exactly as RM's Go SDK does and returns the X-Signature value and the plaintext it covers. */
export function signRequest(input: {
  body?: unknown;
  method: string;
  requestUrl: string;
  nonceStr: string;
  timestamp: string;
  privateKey: KeyObject;
}): { signature: string; plaintext: string } {
  const plaintext = buildPlaintext({
    data: dataBase64(input.body),
    method: input.method,
    nonceStr: input.nonceStr,
    // Go skips empty pairs, so an empty URL leaves requestUrl out rather than signing `requestUrl=`.
    requestUrl: input.requestUrl === '' ? undefined : input.requestUrl,
    signType: SIGN_TYPE,
    timestamp: input.timestamp,
  });
  return { signature: `${SIGN_TYPE} ${signPlaintext(plaintext, input.privateKey)}`, plaintext };
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const NONCE_LENGTH = 32;
/** Bytes at or above 4 × 52 are discarded so that every letter is equally likely. */
const NONCE_BYTE_LIMIT = Math.floor(256 / NONCE_ALPHABET.length) * NONCE_ALPHABET.length;

/** A 32-letter [A-Za-z] nonce, the shape the Go SDK sends. */
export function generateNonce(): string {
  let nonce = '';
  while (nonce.length < NONCE_LENGTH) {
    for (const byte of randomBytes(NONCE_LENGTH * 2)) {
      if (byte < NONCE_BYTE_LIMIT && nonce.length < NONCE_LENGTH) {
        nonce += NONCE_ALPHABET.charAt(byte % NONCE_ALPHABET.length);
      }
    }
  }
  return nonce;
}
