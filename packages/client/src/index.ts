// Owns the public surface of @tunai/client: the client, its errors, callback verification, the wire contract and signatures.
export { TunaiClient } from './client.js';
export type {
  AdoptTokenOptions,
  HttpMethod,
  RawResponse,
  RequestOptions,
  TimestampUnit,
  TunaiClientOptions,
  WriteOptions,
} from './client.js';
export { AuthorizationRequiredError, NetworkError, RequestTimeoutError, RmApiError, hasErrorEnvelope } from './errors.js';
export { verifyNotifyCallback } from './callbacks.js';
export * from './contract/index.js';
export * from './signature/index.js';
