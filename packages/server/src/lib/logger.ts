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

/** Query parameters whose value is a credential (OAuth's snake_case names and RM's camelCase ones alike). */
const credentialParameter = /token|secret|password|signature|ticket|^code$|auth_?code|private_?key/i;

function decoded(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Every request is logged with its URL, and a caller may put anything in the query: an OAuth client sending
 * `?code=…&client_secret=…`, a link carrying `?accessToken=…` (RM's loyalty redirect does). Those values are replaced.
 */
export function redactUrl(url: unknown): unknown {
  if (typeof url !== 'string') return url;
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const hashStart = url.indexOf('#', queryStart);
  const query = url.slice(queryStart + 1, hashStart < 0 ? undefined : hashStart);
  const redacted = query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      return equals >= 0 && credentialParameter.test(decoded(name)) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, queryStart + 1)}${redacted}${hashStart < 0 ? '' : url.slice(hashStart)}`;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: redactedPaths, censor: '[redacted]' }, serializers: { url: redactUrl } }, destination);
}
