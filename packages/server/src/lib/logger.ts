// The pino logger with every credential-bearing field redacted, in logged objects and in logged URLs' query strings.
import { pino, type Logger, type DestinationStream } from 'pino';

/** Field names that hold a credential wherever they appear: top level or one level down (`body.refreshToken`). */
const credentialFields = ['authorization', 'clientSecret', 'privateKey', 'privateKeyPem', 'accessToken', 'refreshToken', 'ticket', 'signature', 'authCode'];

export const redactedPaths = [
  'req.headers.authorization',
  'req.headers["x-signature"]',
  'headers.authorization',
  'headers["x-signature"]',
  ...credentialFields,
  ...credentialFields.map((name) => `*.${name}`),
  // An OAuth code is `code` in a body, query or form. Elsewhere `code` names an error (err.code: ECONNRESET, 23505,
  // SQLITE_BUSY, INVALID_CODE), which an operator needs to read, so it is not redacted everywhere.
  'body.code',
  'query.code',
  'form.code',
  '*.body.code',
  '*.query.code',
  '*.form.code',
];

/**
 * Query parameters whose values are logged: those tunai's routes and pages read (paging, filters, the OAuth request,
 * payer pages) and no credential among them. Any other parameter's value is replaced, whatever its name: a caller
 * may put a credential under any name (`?Authorization=…`, `?apiKey=…`, `?client_assertion=…`), and a list of
 * credential names always misses one.
 */
const loggedParameters = new Set([
  'limit',
  'cursor',
  'filter',
  'status',
  'method',
  'region',
  'type',
  'checkoutId',
  'transactionId',
  'orderId',
  'merchantId',
  'storeId',
  'bankCode',
  'amount',
  'outcome',
  'order',
  // The QR list's sort (RM's `order[]=-createdAt`; names are compared decoded).
  'order[]',
  'responseType',
  'clientId',
  'redirectUri',
  'scope',
  'grantType',
  'grant_type',
]);

function decoded(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Every request is logged with its URL, and a caller may put anything in the query: an OAuth client sending
 * `?code=…&client_secret=…`, a link carrying `?accessToken=…` (RM's loyalty redirect does). Only the values of
 * loggedParameters are kept. A raw `#` (browsers never send one; a hand-made request may) ends the query for
 * parsing, so what follows it is replaced whole.
 */
export function redactUrl(url: unknown): unknown {
  if (typeof url !== 'string') return url;
  const hashStart = url.indexOf('#');
  const beforeHash = hashStart < 0 ? url : url.slice(0, hashStart);
  const fragment = hashStart < 0 ? '' : hashStart === url.length - 1 ? '#' : '#[redacted]';
  const queryStart = beforeHash.indexOf('?');
  if (queryStart < 0) return `${beforeHash}${fragment}`;
  const redacted = beforeHash
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      // A bare part (`?SECRET`, `?access_token%3DSECRET`) is kept only when it is one of our own names.
      if (equals < 0) return loggedParameters.has(decoded(pair)) ? pair : '[redacted]';
      const name = pair.slice(0, equals);
      // Some parsers split on `;` too: a kept value carrying one could smuggle another pair into the log.
      return loggedParameters.has(decoded(name)) && !pair.includes(';') ? pair : `${name}=[redacted]`;
    })
    .join('&');
  return `${beforeHash.slice(0, queryStart + 1)}${redacted}${fragment}`;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: redactedPaths, censor: '[redacted]' }, serializers: { url: redactUrl } }, destination);
}
