// Declares /v3 routes with their guard in one visible order: authenticate → signature → scope → handler.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '@tunai/client/contract';
import { canonicalJsonUnwrapped } from '@tunai/client/signature';
import type { AuthContext, OpenApiGuard } from '../app/auth-ports.js';
import type { AppDeps } from '../app/deps.js';
import {
  finishIdempotentRequest,
  idempotencyLeaseMs,
  startIdempotentRequest,
  type IdempotentAnswer,
  type IdempotentRequest,
} from '../app/idempotent-request.js';
import type { PaymentDeps } from '../app/payment-deps.js';
import { hasScope } from '../domain/scopes.js';
import { CatalogError } from '../lib/catalog-error.js';
import { errorBody } from './envelope.js';
import { requestUrlCandidates } from './request-urls.js';
import type { RouteTable } from './route-table.js';

export interface OpenApiRouteOptions {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  scope: Scope;
  /** Payment routes require a signature; elsewhere it is verified only when present (or the app demands it). */
  signature: 'required' | 'when-present';
  /**
   * A POST that changes nothing and streams its answer (the settlement report): Idempotency-Key has no effect there, as
   * on GET. Every other POST, PATCH and DELETE runs once per key.
   */
  readOnly?: boolean;
  handler: (request: FastifyRequest, auth: AuthContext, reply: FastifyReply) => Promise<unknown>;
}

export interface OpenApiContext {
  server: FastifyInstance;
  guard: OpenApiGuard;
  publicUrls: readonly string[];
  routes: RouteTable;
  /** Storage, clock and ids for the Idempotency-Key use case; the QuickPay wait sets how long a key is held. */
  app: PaymentDeps;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * X-Signature as `sha256 <base64>` (every SDK); or, as three of RM's own curl examples send it, the bare base64 with
 * the type in `X-Signature-Type: sha256`, read as the same thing. Any other type is left for the check to refuse.
 */
function signatureHeader(request: FastifyRequest): string | undefined {
  const signature = header(request, 'x-signature');
  const signType = header(request, 'x-signature-type');
  if (signature === undefined || signType === undefined || /\s/.test(signature.trim())) return signature;
  return `${signType.trim()} ${signature.trim()}`;
}

export function openApiRoute(ctx: OpenApiContext, options: OpenApiRouteOptions): void {
  ctx.routes.add(options.method, options.url);
  ctx.server.route({
    method: options.method,
    url: options.url,
    handler: async (request, reply) => {
      const auth = await ctx.guard.authenticate(header(request, 'authorization'));
      await ctx.guard.checkSignature(
        auth,
        {
          method: request.method,
          rawBody: request.rawBody,
          parsedBody: request.json.kind === 'json' || request.json.kind === 'forbidden' ? request.json.value : undefined,
          signatureHeader: signatureHeader(request),
          nonceHeader: header(request, 'x-nonce-str'),
          timestampHeader: header(request, 'x-timestamp'),
          requestUrls: requestUrlCandidates(request, ctx.publicUrls),
        },
        options.signature === 'required',
      );
      if (!hasScope(auth.scopes, options.scope)) {
        throw new CatalogError('CLIENT_NO_PERMISSION', `Developer application does not have permission to access: scope ${options.scope} is required`);
      }
      const idempotencyKey = header(request, 'idempotency-key');
      if (idempotencyKey === undefined || options.method === 'GET' || options.readOnly === true) {
        return options.handler(request, auth, reply);
      }
      const idempotent = {
        clientId: auth.principal.clientId,
        key: idempotencyKey,
        fingerprint: requestFingerprint(request, auth),
        leaseMs: idempotencyLeaseMs(ctx.app.payments.quickPayWaitMs),
      };
      return answerOnce(ctx.app, idempotent, request, reply, () => options.handler(request, auth, reply));
    },
  });
}

/** Canonical JSON (keys sorted at every depth), a top-level array left bare: unlike the signature's form, `[…]` and `{"object":[…]}` stay apart. */
const canonical = (value: unknown): string => canonicalJsonUnwrapped(value, 'go');

/**
 * The request a key stands for, as the handler sees it: method, the merchant acted for, the route with its decoded
 * parameters, the parsed query (names sorted, repeated values in order) and the body in canonical JSON. So a retry
 * re-signed with a new nonce and timestamp, its query in another order, a trailing slash, a percent-encoded id or
 * other whitespace is the same request; anything the handler would see differently is not. The merchant is part of
 * it because a token names the merchant an app acts for: one app's key must never hand one merchant another's answer.
 */
function requestFingerprint(request: FastifyRequest, auth: AuthContext): string {
  const json = request.json;
  const body = json.kind === 'json' ? `json ${canonical(json.value)}` : json.kind === 'none' ? 'none' : `raw ${request.rawBody ?? ''}`;
  const named = [request.method, auth.principal.merchantId, request.routeOptions.url ?? request.url, canonical(request.params ?? {}), canonical(request.query ?? {})];
  return createHash('sha256').update(JSON.stringify(named)).update('\n').update(body).digest('hex');
}

const jsonType = 'application/json; charset=utf-8';

/**
 * Runs the handler once per key: the first answer (success or a refusal, as the exact JSON text sent) is stored before
 * it is sent, and a retry gets it again with `Idempotent-Replayed: true`.
 */
async function answerOnce(
  deps: AppDeps,
  idempotent: IdempotentRequest,
  request: FastifyRequest,
  reply: FastifyReply,
  handler: () => Promise<unknown>,
): Promise<unknown> {
  const start = await startIdempotentRequest(deps, idempotent);
  if (start.kind === 'replay') {
    return reply.code(start.answer.httpStatus).header('idempotent-replayed', 'true').type(jsonType).send(start.answer.body);
  }
  const finish = async (answer: IdempotentAnswer | null): Promise<void> => {
    try {
      await finishIdempotentRequest(deps, idempotent, start.claimId, answer);
    } catch (error) {
      // The outcome stands and is answered. The key is left as claimed: once its lease lapses a retry is told the first
      // request ended without a stored answer, and is never run a second time.
      request.log.warn({ err: error }, 'idempotency answer not stored');
    }
  };
  let result: unknown;
  try {
    result = await handler();
  } catch (error) {
    await finish(
      error instanceof CatalogError
        ? { httpStatus: error.httpStatus, body: JSON.stringify(errorBody(error.code, error.message, error.debug)), code: error.code }
        : null,
    );
    throw error;
  }
  if (result === undefined || reply.sent) {
    // Nothing this layer can store was answered (no handler with a key does this today): refuse replays safely.
    await finish(null);
    return result;
  }
  const body = JSON.stringify(result);
  await finish({ httpStatus: reply.statusCode, body, code: null });
  return reply.type(jsonType).send(body);
}
