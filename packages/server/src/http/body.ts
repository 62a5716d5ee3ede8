// Request bodies: raw text kept for signature checks, JSON parsed leniently (any method), size and type limits.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { limits } from '@tunai/client/contract';
import { CatalogError } from '../lib/catalog-error.js';

export type ParsedJson =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'malformed'; reason: string }
  | { kind: 'forbidden'; reason: string; value: unknown };

declare module 'fastify' {
  interface FastifyRequest {
    /** Body text exactly as received (undefined when there was none). */
    rawBody: string | undefined;
    json: ParsedJson;
  }
}

interface ReceivedBody {
  raw: string;
  contentType: string | undefined;
}

/** application/json, its `+json` relatives, `application/json;` (Java SDK), or no type at all. */
function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const essence = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || essence === 'text/json' || essence.endsWith('+json') || essence === '';
}

/** NUL has no meaning in any RM field and PostgreSQL text cannot hold it: refuse it at the edge. */
const nulCharacter = /\u0000|\\u0000/;

/** True when JSON text holds a NUL, raw or written as JSON's `\u0000` escape (bodies here, `filter` queries elsewhere). */
export function jsonTextHasNul(text: string): boolean {
  return nulCharacter.test(text);
}

/**
 * UTF-8 text cannot carry a lone UTF-16 surrogate, so one can only come from a JSON escape (`\ud800`). Such a string is
 * not Unicode text: stored, it turns into U+FFFD (differently on each database), so the answer and the row disagree.
 */
const surrogateEscape = /\\u[dD][89a-fA-F]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function holdsLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return loneSurrogate.test(value);
  if (Array.isArray(value)) return value.some(holdsLoneSurrogate);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, inner]) => loneSurrogate.test(key) || holdsLoneSurrogate(inner));
  }
  return false;
}

function hasLoneSurrogate(raw: string, value: unknown): boolean {
  return surrogateEscape.test(raw) && holdsLoneSurrogate(value);
}

/** How deep arrays and objects nest in JSON text, brackets inside strings excepted; stops counting past `stopAbove`. */
function nestingDepthOf(raw: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > stopAbove) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

function parseJson(raw: string): ParsedJson {
  if (raw.trim().length === 0) return { kind: 'none' };
  // Refused as if it did not parse: neither the signature check nor validation ever walks it.
  if (nestingDepthOf(raw, limits.jsonNestingDepthMax) > limits.jsonNestingDepthMax) {
    return { kind: 'malformed', reason: `arrays and objects nest deeper than ${limits.jsonNestingDepthMax} levels` };
  }
  try {
    // Refuse __proto__/constructor keys: they have no place in an RM payload and poison objects.
    const value: unknown = secureJson.parse(raw, undefined, { protoAction: 'error', constructorAction: 'error' });
    // Still parsed, so the signature check sees the body the client signed; refused at validation.
    if (jsonTextHasNul(raw)) return { kind: 'forbidden', reason: 'NUL characters are not allowed in the body', value };
    if (hasLoneSurrogate(raw, value)) {
      return { kind: 'forbidden', reason: 'strings must be valid Unicode: a lone surrogate (\\uD800-\\uDFFF without its pair) is not allowed', value };
    }
    return { kind: 'json', value };
  } catch (error) {
    return { kind: 'malformed', reason: error instanceof Error ? withoutSourceExcerpt(error.message) : 'not JSON' };
  }
}

/**
 * V8 quotes the text around a fault (`Unexpected token 'X', ..."authCode":X134850717"... is not valid JSON`, a short
 * body whole): the excerpt can be part of an auth code, refresh token or secret, and the refusal is answered, stored as
 * an Idempotency-Key answer and shown in tools. The reason keeps V8's words and the offending character, not the text.
 */
function withoutSourceExcerpt(message: string): string {
  if (!message.endsWith(' is not valid JSON')) return message;
  const token = /^Unexpected token '[\s\S]'(?=, )/u.exec(message);
  return token ? `${token[0]}: not valid JSON` : 'not valid JSON';
}

/**
 * Url-encoded form fields; a field given more than once keeps every value (an array), so no reader takes one of them
 * silently: the pages read such a field as empty (`field()`), which refuses it. A browser sends each field once.
 */
function formFields(raw: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of new URLSearchParams(raw)) {
    const earlier = fields[name];
    fields[name] = earlier === undefined ? value : Array.isArray(earlier) ? [...earlier, value] : [earlier, value];
  }
  return fields;
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/** Fastify skips bodies on GET/HEAD; RM's Go SDK sends JSON bodies on GETs and signs them, so read them here. */
function readStream(request: FastifyRequest, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    let refused = false;
    request.raw.on('data', (chunk: Buffer) => {
      if (refused) return;
      receivedBytes += chunk.length;
      if (receivedBytes > limitBytes) {
        // Keep draining (not destroying) the socket so the client still receives the 413.
        refused = true;
        chunks.length = 0;
        reject(new CatalogError('INVALID_REQUEST', `Request body exceeds ${limitBytes} bytes`, { httpStatus: 413 }));
        return;
      }
      chunks.push(chunk);
    });
    request.raw.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // The connection went before the body was complete: a refusal of the request (nobody is left to read it), not
    // a fault of ours.
    request.raw.on('error', () => reject(new CatalogError('INVALID_REQUEST', 'Invalid request: the connection closed before the request body was complete')));
  });
}

export function registerBodyHandling(server: FastifyInstance, bodyLimitBytes: number): void {
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', { parseAs: 'string', bodyLimit: bodyLimitBytes }, (request, body, done) => {
    done(null, { raw: body as string, contentType: request.headers['content-type'] } satisfies ReceivedBody);
  });
  server.decorateRequest('rawBody', undefined);
  server.decorateRequest('json', null as never);

  server.addHook('preValidation', async (request) => {
    if (request.is404) {
      // No route (or not this method): the not-found handler answers 404 or 405 whatever the body is, so a caller
      // learns first that the address is wrong rather than that its Content-Type is.
      request.rawBody = undefined;
      request.json = { kind: 'none' };
      return;
    }
    if (/%00/.test(request.raw.url ?? '')) throw new CatalogError('INVALID_REQUEST', 'Invalid request: NUL characters are not allowed in the URL');
    let received: ReceivedBody | undefined = request.body as ReceivedBody | undefined;
    if (received === undefined && (request.method === 'GET' || request.method === 'HEAD') && hasBody(request)) {
      received = { raw: await readStream(request, bodyLimitBytes), contentType: request.headers['content-type'] };
    }
    if (received === undefined || received.raw.length === 0) {
      request.rawBody = undefined;
      request.json = { kind: 'none' };
      return;
    }
    const formAllowed = (request.routeOptions.config as { acceptsForm?: boolean } | undefined)?.acceptsForm === true;
    if (formAllowed && received.contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      // HTML forms (the consent page) post url-encoded fields; only routes that opt in accept them.
      request.rawBody = received.raw;
      request.json = { kind: 'json', value: formFields(received.raw) };
      request.body = request.json.value;
      return;
    }
    if (!isJsonContentType(received.contentType)) {
      throw new CatalogError('INVALID_REQUEST', 'Content-Type must be application/json', { httpStatus: 415 });
    }
    request.rawBody = received.raw;
    request.json = parseJson(received.raw);
    request.body = request.json.kind === 'json' ? request.json.value : undefined;
  });
}

/**
 * The parsed JSON body for a handler; malformed JSON is a client error raised at validation time. A body that
 * parsed but holds what no field may (NUL, a lone surrogate) is a validation error, named with `validationCode` like schema
 * violations are (the OAuth endpoint's table has no VALIDATION_ERROR: it says INVALID_REQUEST).
 */
export function jsonBody(request: FastifyRequest, validationCode: 'VALIDATION_ERROR' | 'INVALID_REQUEST' = 'VALIDATION_ERROR'): unknown {
  if (request.json.kind === 'malformed') {
    throw new CatalogError('INVALID_REQUEST', `Malformed JSON body: ${request.json.reason}`);
  }
  if (request.json.kind === 'forbidden') {
    throw new CatalogError(validationCode, validationCode === 'VALIDATION_ERROR' ? `Validations error: ${request.json.reason}` : request.json.reason);
  }
  return request.json.kind === 'json' ? request.json.value : undefined;
}
