// The Fastify application: hook order stated once, routes registered, errors mapped to RM's envelope.
import type { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyInstance, type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { errorMessages, limits } from '@tunai/client/contract';
import type { OAuthService, OpenApiGuard } from '../app/auth-ports.js';
import type { PaymentDeps } from '../app/payment-deps.js';
import { CatalogError } from '../lib/catalog-error.js';
import { registerBodyHandling } from './body.js';
import { errorBody } from './envelope.js';
import { RouteTable } from './route-table.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMerchantRoutes } from './routes/merchant.js';
import { registerOAuthRoutes } from './routes/oauth.js';
import { registerCustomerScansRoutes } from './routes/customer-scans.js';
import { registerPaymentRoutes } from './routes/payments.js';
import { registerSandboxRoutes, type SandboxControls } from './routes/sandbox.js';
import { registerStoreRoutes } from './routes/stores.js';
import { registerToolRoutes, type SignSha256 } from './routes/tool.js';
import { registerUserRoutes } from './routes/user.js';
import { registerWebhookAdminRoutes } from './routes/webhooks-admin.js';

export interface HttpConfig {
  publicUrls: readonly string[];
  bodyLimitBytes: number;
  /** See Config.trustProxy. */
  trustProxy: boolean | readonly string[];
  /**
   * Time allowed to receive a whole request (Node's server.requestTimeout): a client that trickles its headers or body
   * is cut off. It does not bound a handler once the request has arrived; the longest one, QuickPay, waits at most
   * TUNAI_QUICKPAY_WAIT_MS for the wallet.
   */
  requestTimeoutMs: number;
}

export interface HttpDeps {
  app: PaymentDeps;
  /** Sandbox helpers (time travel, run the closed loop) are served only in sandbox mode. */
  sandbox: Omit<SandboxControls, 'clock'> | null;
  guard: OpenApiGuard;
  oauth: OAuthService;
  logger: Logger;
  config: HttpConfig;
  pingDatabase: () => Promise<void>;
  /** Draws a request id when the caller sent no usable X-Request-Id. */
  newRequestId: () => string;
  /** RSA signing off the event loop, for the signature tool. */
  signSha256: SignSha256;
}

export interface HttpServer {
  server: FastifyInstance;
  routes: RouteTable;
  /**
   * Shutdown: drops every connection whose request is still arriving (or that waits idle between requests). Node
   * stops timing requests out once closing starts, so an upload that never finishes would hold shutdown for ever.
   */
  dropArrivingRequests(): void;
}

/** The response Node has open on a socket (its request's handler is running), if any. */
function responseInProgress(socket: object): ServerResponse | null {
  return (socket as unknown as { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

/** Headers on every refusal: never cached, sniffed, framed or run as a document. */
const refusalHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
} as const;

/** A whole HTTP/1.1 answer in RM's envelope, for the socket-level refusals Node makes before a request exists. */
function rawErrorResponse(requestId: string, status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify(errorBody(code, message));
  const headers = [
    `HTTP/1.1 ${status} ${reason}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${requestId}`,
    ...Object.entries(refusalHeaders).map(([name, value]) => `${name}: ${value}`),
    'connection: close',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * The HTML pages (payer, sandbox wallet, consent). Their links are relative to their own path, so that they work
 * under whatever path a proxy serves tunai; reached with a trailing slash, a page is first sent to its own path.
 */
const pagePaths = new Set(['/checkout', '/payment/unified', '/payment/unified/result', '/sandbox/wallet', '/authorize']);

/** `../page?query` for a page asked for as `/…/page/?query` (one `../` per trailing slash); null for anything else. */
function canonicalPageLocation(rawUrl: string): string | null {
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === path || !pagePaths.has(trimmed)) return null;
  const lastSegment = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return `${'../'.repeat(path.length - trimmed.length)}${lastSegment}${queryAt < 0 ? '' : rawUrl.slice(queryAt)}`;
}

const requestIdShape = new RegExp(`^[A-Za-z0-9._:-]{1,${limits.requestIdCharsMax}}$`);

export function buildHttpServer(deps: HttpDeps): HttpServer {
  /** The caller's X-Request-Id when it is well-formed, or a fresh one. */
  const requestIdOf = (request: IncomingMessage): string => {
    const sent = request.headers['x-request-id'];
    return typeof sent === 'string' && requestIdShape.test(sent) ? sent : deps.newRequestId();
  };
  const server: FastifyInstance = Fastify({
    // Every answer names its request (X-Request-Id) and every log line of it carries the same reqId, so a merchant's
    // support question can be matched to the logs. A caller's own id is kept when it is well-formed, so one id can
    // follow a request through a proxy; a per-process counter (Fastify's default) would repeat across processes.
    requestIdHeader: false,
    genReqId: (request) => requestIdOf(request),
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimitBytes,
    // `true`: one proxy in front, so request.ip is the address that proxy saw (the last X-Forwarded-For entry), not the
    // first entry, which any caller can write itself when the proxy appends to the header (nginx, most load
    // balancers). A list: only those proxies are believed, so a caller reaching the port directly cannot name itself.
    trustProxy:
      deps.config.trustProxy === true ? (_address: string, hop: number) => hop === 0 : deps.config.trustProxy === false ? false : [...deps.config.trustProxy],
    requestTimeout: deps.config.requestTimeoutMs,
    return503OnClosing: true,
    // Node would refuse an HTTP/1.1 request without Host itself, with an empty 400; the onRequest hook below refuses
    // it in RM's envelope instead.
    http: { requireHostHeader: false },
    // One summary line per request (our onResponse hook) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // A longer path id still reaches its route, which answers with its own not-found code (no real id is this long).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: limits.pathParamCharsMax },
    // Requests Node's parser refuses (raw spaces or non-ASCII in the target, control characters in a header, headers
    // over 16 KiB) are answered in RM's envelope too, then the connection is closed: nothing after them can be trusted.
    clientErrorHandler: (error, socket) => {
      // A request on this socket is being answered (its handler is running): a refusal written now would reach the
      // client as that request's answer. Its own answer goes out, then the connection closes.
      const answering = responseInProgress(socket);
      const code = (error as NodeJS.ErrnoException).code;
      if (answering && answering.req.complete) {
        answering.shouldKeepAlive = false;
        answering.once('close', () => socket.destroy());
        return;
      }
      if (answering) {
        // Its headers arrived but its body did not, and now never will (the request timed out, the client sent FIN
        // mid-body, the chunks did not parse): its handler would wait for the rest for ever, holding the socket and
        // shutdown. The connection goes; the handler sees the request aborted and answers nobody.
        if (code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable && !answering.headersSent) {
          socket.write(rawErrorResponse(deps.newRequestId(), 408, 'Request Timeout', 'INVALID_REQUEST', 'Invalid request: the request was not received in time'));
        }
        return void socket.destroy();
      }
      if (!socket.writable) return void socket.destroy();
      if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        // The request did not arrive in time (or the process stalled while it arrived). Nothing more is read, so no
        // part of it that comes later can run after this refusal.
        socket.write(rawErrorResponse(deps.newRequestId(), 408, 'Request Timeout', 'INVALID_REQUEST', 'Invalid request: the request was not received in time'));
        return void socket.destroy();
      }
      socket.end(
        code === 'HPE_HEADER_OVERFLOW'
          ? rawErrorResponse(deps.newRequestId(), 431, 'Request Header Fields Too Large', 'INVALID_REQUEST', 'Invalid request: the request line and headers exceed 16 KiB')
          : rawErrorResponse(deps.newRequestId(), 400, 'Bad Request', 'INVALID_REQUEST', 'Invalid request: the HTTP request could not be parsed'),
      );
    },
    // Refusals Fastify makes before routing (bad percent-encoding, over-long parameters) get RM's envelope too.
    frameworkErrors: (error, _request, reply) => {
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        // No id is that long, so nothing can be found under it.
        return void (reply as FastifyReply).code(404).send(errorBody('API_ENDPOINT_NOT_FOUND', 'The api endpoint does not exist'));
      }
      void (reply as FastifyReply).code(error.statusCode ?? 400).send(errorBody('INVALID_REQUEST', `Invalid request: ${error.message}`));
    },
  });
  const routes = new RouteTable();

  // Hook order, once: (0) the request id echoed as X-Request-Id → (1) body limits and parsing, raw text kept → (2) route
  // handler, where /v3 routes run authenticate → signature → scope → Idempotency-Key → validate → use case → envelope
  // (see open-api.ts) → (3) error mapping.
  server.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // HTTP/1.1 requires Host (RFC 9112 §3.2); the signature's requestUrl and the payer pages' links are built from it.
    if (request.headers.host === undefined && request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor >= 1) {
      reply.header('connection', 'close');
      throw new CatalogError('INVALID_REQUEST', 'Invalid request: an HTTP/1.1 request must carry a Host header');
    }
    if (request.method === 'GET' || request.method === 'HEAD') {
      const canonical = canonicalPageLocation(request.raw.url ?? '/');
      if (canonical !== null) return reply.redirect(canonical, 308);
    }
  });
  registerBodyHandling(server, deps.config.bodyLimitBytes);
  server.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  const ctx = { server, guard: deps.guard, publicUrls: deps.config.publicUrls, routes, app: deps.app };
  registerHealthRoutes(server, routes, deps.pingDatabase);
  registerOAuthRoutes(server, routes, deps.oauth);
  registerToolRoutes(server, routes, deps.signSha256);
  registerMerchantRoutes(ctx, deps.app);
  registerStoreRoutes(ctx, deps.app);
  registerUserRoutes(ctx, deps.app);
  registerPaymentRoutes(ctx, deps.app);
  registerCustomerScansRoutes(ctx, deps.app);
  if (deps.sandbox) registerSandboxRoutes(server, routes, { clock: deps.app.clock, ...deps.sandbox });
  registerWebhookAdminRoutes(ctx, deps.app);

  // An Expect other than 100-continue is one this server cannot meet (RFC 9110 §10.1.1); Node would answer 417 with
  // no body, and here it is answered in RM's envelope. The request is not run.
  server.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify(errorBody('INVALID_REQUEST', `Invalid request: unsupported Expect header: ${String(request.headers.expect).slice(0, 64)}`));
    response.shouldKeepAlive = false;
    response.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestIdOf(request),
      ...refusalHeaders,
    });
    response.end(body);
  });

  // CONNECT (proxy tunnels) never reaches the router: Node hands over the socket. Nothing here is a proxy.
  server.server.on('connect', (_request, socket) => {
    socket.end(rawErrorResponse(deps.newRequestId(), 405, 'Method Not Allowed', 'METHOD_NOT_ALLOWED', 'Method not allowed: CONNECT; this is not a proxy'));
  });

  // Refusals carry refusalHeaders wherever they are answered (a refused form post to a payer page included). Answers
  // that succeed are left alone: they are the hot path, and pages set their own.
  // Once the server is closing, an answer still on its way tells the client not to reuse the connection, so the
  // client does not send its next request into a socket that is about to be closed.
  let closing = false;
  server.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  server.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode >= 400 && !reply.hasHeader('content-security-policy')) reply.headers(refusalHeaders);
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  const answerNotFound = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
    const allowed = routes.methodsFor(path);
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(errorBody('METHOD_NOT_ALLOWED', `Method not allowed: ${request.method} ${path} accepts ${allowed.join(', ')}`));
    }
    return reply.code(404).send(errorBody('API_ENDPOINT_NOT_FOUND', `The api endpoint does not exist: ${request.method} ${path}`));
  };
  server.setNotFoundHandler(async (request, reply) => answerNotFound(request, reply));

  server.setErrorHandler(async (error: FastifyError | CatalogError | Error, request, reply) => {
    // No route takes this request, and its body is over the limit (Fastify reads bodies before the not-found handler
    // runs): the address is what is wrong, so that is the answer. The rest of the body is not read; the connection goes.
    if (request.is404 && (error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') return answerNotFound(request, reply.header('connection', 'close'));
    if (error instanceof CatalogError) {
      return reply.code(error.httpStatus).send(errorBody(error.code, error.message, error.debug));
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(errorBody('INVALID_REQUEST', `Request body exceeds ${deps.config.bodyLimitBytes} bytes`));
    }
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send(errorBody('INVALID_REQUEST', 'Content-Type must be application/json'));
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own client errors (bad URL encoding, empty JSON body …) keep their status with a catalog code.
      return reply.code(status).send(errorBody('INVALID_REQUEST', `Invalid request: ${fastifyError.message}`));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL_ERROR', errorMessages.INTERNAL_ERROR));
  });

  const sockets = new Set<Socket>();
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const dropArrivingRequests = (): void => {
    for (const socket of sockets) {
      const answering = responseInProgress(socket);
      if (!answering || !answering.req.complete) socket.destroy();
    }
  };
  return { server, routes, dropArrivingRequests };
}
