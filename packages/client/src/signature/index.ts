// Owns the public surface of the RM request-signature module.
export { canonicalJson, canonicalJsonUnwrapped, compareKeysBytewise, dataBase64, utf8Base64 } from './canonical.js';
export type { CanonicalVariant } from './canonical.js';
export { buildPlaintext } from './plaintext.js';
export type { PlaintextParts } from './plaintext.js';
export {
  SIGN_TYPE,
  generateNonce,
  parsePrivateKey,
  parsePublicKey,
  parseSignatureHeader,
  signPlaintext,
  signRequest,
  timestampToEpochMs,
  verifyPlaintext,
  recoverDigestFromBytes,
  signatureBytesOf,
} from './sign.js';
export {
  MAX_CANDIDATES,
  MAX_DATA_VARIANTS,
  MAX_METHOD_VARIANTS,
  MAX_REQUEST_URL_CANDIDATES,
  candidatePlaintexts,
  plaintextMatchingDigest,
  verifyReceivedRequest,
} from './candidates.js';
export type { ReceivedRequest } from './candidates.js';
