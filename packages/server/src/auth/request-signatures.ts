// Verifies RM request signatures (X-Signature/X-Nonce-Str/X-Timestamp) tolerantly, and burns each nonce once.
import { limits } from '@tunai/client/contract';
import {
  buildPlaintext,
  canonicalJson,
  dataBase64,
  parseSignatureHeader,
  timestampToEpochMs,
  plaintextMatchingDigest,
  signatureBytesOf,
} from '@tunai/client/signature';
import type { SignatureOutcome, SignedRequestParts } from '../app/auth-ports.js';
import type { ClientAppRecord, Storage } from '../app/ports.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { Clock } from '../lib/clock.js';
import { publicKeyFromPem } from './key-cache.js';
import type { RsaWork } from './rsa-work.js';

export interface SignatureCheckDeps {
  storage: Storage;
  clock: Clock;
  timestampWindowSeconds: number;
  /** Opens signatures (the one RSA operation per request), on a worker thread in a running server. */
  rsa: RsaWork;
  /** Sandbox mode adds a debug block that shows what the server expected (never key material). */
  includeDebug: boolean;
  /**
   * The sandbox's shared clock: another process may have moved it within the last refresh. A timestamp ahead of the
   * window has the clock read again once before it is refused.
   */
  catchUpClock?: () => Promise<void>;
}

const nonceShape = /^[A-Za-z0-9_-]+$/;

export async function checkRequestSignature(
  deps: SignatureCheckDeps,
  app: ClientAppRecord,
  request: SignedRequestParts,
  required: boolean,
): Promise<SignatureOutcome> {
  const headerRemarks: Record<string, { currentValue: string; isValid: boolean; remark: string }> = {};
  const fail = (code: 'INVALID_REQUEST_SIGNATURE' | 'INVALID_TIMESTAMP' | 'SPAM' | 'CLIENT_NOT_SET_PUBLIC_KEY', message: string, extra?: object): never => {
    throw new CatalogError(code, message, {
      debug: deps.includeDebug ? { requestHeader: headerRemarks, ...(extra ?? {}) } : undefined,
    });
  };

  if (request.signatureHeader === undefined) {
    if (!required) return 'absent';
    headerRemarks['X-Signature'] = { currentValue: '', isValid: false, remark: 'required on this endpoint' };
    fail('INVALID_REQUEST_SIGNATURE', 'The request signature is invalid: X-Signature header is required on this endpoint');
  }
  if (!app.publicKeyPem) {
    fail('CLIENT_NOT_SET_PUBLIC_KEY', 'Developer application does not set public key: upload one before sending signed requests');
  }

  const signatureHeader = request.signatureHeader ?? '';
  const parsed = signatureHeader.length <= limits.signatureHeaderCharsMax ? parseSignatureHeader(signatureHeader) : null;
  headerRemarks['X-Signature'] = {
    currentValue: signatureHeader.slice(0, 64),
    isValid: parsed !== null,
    remark: parsed ? 'format ok' : 'must be "sha256 <base64 signature>"',
  };
  if (!parsed) fail('INVALID_REQUEST_SIGNATURE', 'The request signature is invalid: X-Signature must be "sha256 <base64>"');

  const nonce = request.nonceHeader ?? '';
  const nonceOk = nonce.length >= limits.nonceCharsMin && nonce.length <= limits.nonceCharsMax && nonceShape.test(nonce);
  headerRemarks['X-Nonce-Str'] = {
    currentValue: nonce.slice(0, limits.nonceCharsMax),
    isValid: nonceOk,
    remark: nonceOk ? 'format ok' : `must be ${limits.nonceCharsMin}-${limits.nonceCharsMax} letters or digits`,
  };
  if (!nonceOk) fail('INVALID_REQUEST_SIGNATURE', 'The request signature is invalid: X-Nonce-Str is missing or malformed');

  const timestamp = request.timestampHeader ?? '';
  const timestampMs = timestamp.length <= limits.timestampHeaderCharsMax ? timestampToEpochMs(timestamp) : null;
  let nowMs = deps.clock.nowMs();
  const windowMs = deps.timestampWindowSeconds * 1000;
  if (timestampMs !== null && timestampMs - nowMs > windowMs && deps.catchUpClock) {
    await deps.catchUpClock();
    nowMs = deps.clock.nowMs();
  }
  // Compared in milliseconds: rounding to whole seconds accepted a timestamp up to 0.5 s beyond the window, and
  // the nonce kept for the window could then lapse while a replay of the request still passed this check.
  const skewMs = timestampMs === null ? null : Math.abs(timestampMs - nowMs);
  const timestampOk = skewMs !== null && skewMs <= windowMs;
  headerRemarks['X-Timestamp'] = {
    currentValue: timestamp.slice(0, limits.timestampHeaderCharsMax),
    isValid: timestampOk,
    remark: timestampOk ? 'within window' : `must be unix seconds or milliseconds within ±${deps.timestampWindowSeconds} s of server time`,
  };
  if (timestampMs === null) fail('INVALID_TIMESTAMP', 'Could not authenticate - Timestamp: X-Timestamp is missing or not a number');
  if (!timestampOk) {
    fail('INVALID_TIMESTAMP', `Could not authenticate - Timestamp: X-Timestamp is ${(skewMs as number) / 1000} s away from server time; allowed ±${deps.timestampWindowSeconds} s`);
  }

  const signed = parsed as { signType: string; signature: string };
  const signatureBytes = signatureBytesOf(signed.signature);
  const digest = signatureBytes === null ? null : await deps.rsa.recoverDigest(signatureBytes, publicKeyFromPem(app.publicKeyPem as string));
  const matched =
    digest === null
      ? null
      : plaintextMatchingDigest(
          {
            method: request.method,
            rawBody: request.rawBody,
            parsedBody: request.parsedBody,
            nonceStr: nonce,
            timestamp,
            requestUrls: request.requestUrls,
            signType: signed.signType,
          },
          digest,
        );
  if (matched === null) {
    fail('INVALID_REQUEST_SIGNATURE', 'The request signature is invalid: it does not verify with the application public key', {
      preVerifyContent: expectedPlaintext(request, nonce, timestamp),
    });
  }

  // Only a valid signature burns its nonce, so garbage cannot block a client's future nonces.
  // Accepted timestamps lie within the window of now, so a replay passes the timestamp check until at most
  // now + 2 × window: the nonce is kept that long, and a margin more for processes whose clocks differ.
  const expiresAtMs = nowMs + deps.timestampWindowSeconds * 2 * 1000 + limits.nonceRetentionMarginMs;
  const fresh = await deps.storage.nonces.claim(app.clientId, nonce, nowMs, expiresAtMs);
  if (!fresh) {
    headerRemarks['X-Nonce-Str'] = { currentValue: nonce, isValid: false, remark: 'already used' };
    fail('SPAM', 'Duplicate request: X-Nonce-Str was already used by this application within the window');
  }
  return 'verified';
}

/** What RM's own server would have signed, shown to help developers find their mistake (sandbox only). */
function expectedPlaintext(request: SignedRequestParts, nonce: string, timestamp: string): Record<string, string> {
  let step1 = '';
  let data: string | undefined;
  if (request.parsedBody !== undefined) {
    step1 = canonicalJson(request.parsedBody);
    data = dataBase64(request.parsedBody);
  }
  const step3 = buildPlaintext({
    data,
    method: request.method,
    nonceStr: nonce,
    requestUrl: request.requestUrls[0],
    signType: 'sha256',
    timestamp,
  });
  return { step1, step2: data ?? '', step3 };
}
