// The pino logger with every credential-bearing field redacted.
import { pino, type Logger, type DestinationStream } from 'pino';

export const redactedPaths = [
  'req.headers.authorization',
  'req.headers["x-signature"]',
  'headers.authorization',
  'headers["x-signature"]',
  '*.authorization',
  '*.clientSecret',
  '*.privateKey',
  '*.privateKeyPem',
  '*.accessToken',
  '*.refreshToken',
  '*.code',
  '*.ticket',
  '*.signature',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: redactedPaths, censor: '[redacted]' } }, destination);
}
