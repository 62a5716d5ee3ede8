// Payer pages find their payment by an id in the URL, and that id is the page's only credential: a caller whose
// lookups keep finding nothing is refused for a while (429 EXCEEDED_LIMIT), so ids cannot be guessed at speed.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerKey } from '../domain/caller-address.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { MissLimiter } from '../lib/miss-limiter.js';
import { renderPayerError } from './payer-pages.js';

export interface PayerLookupHooks {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  onResponse: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

export interface PayerLookupGuard {
  /** For pages: the refusal is a readable page. */
  page: PayerLookupHooks;
  /** For the pages' JSON status polls: the refusal is RM's error envelope. */
  json: PayerLookupHooks;
}

/**
 * Route hooks that count each 404 a caller gets (no such checkout, QR code or wallet order, or its store is gone) and
 * refuse every lookup of a caller over the limit until its window ends, found or not, so the refusal tells nothing.
 * A lookup counts as a miss from the moment it starts and is forgiven when its answer is not a 404, so a burst sent
 * at once is held to the limit too (a lookup cut off before its answer stays counted).
 * The caller is request.ip: the socket's peer, or with TUNAI_TRUST_PROXY the address the proxy in front reports.
 */
export function payerLookupGuard(limiter: MissLimiter): PayerLookupGuard {
  /** Each allowed lookup is counted as a miss before it runs (see recordMiss); the window it was counted in. */
  const counted = new WeakMap<FastifyRequest, number>();
  const hooks = (refuse: (reply: FastifyReply, error: CatalogError) => FastifyReply): PayerLookupHooks => ({
    async onRequest(request, reply) {
      const caller = callerKey(request.ip);
      const waitMs = limiter.blockedForMs(caller);
      if (waitMs === 0) {
        counted.set(request, limiter.recordMiss(caller));
        return undefined;
      }
      const waitSeconds = Math.ceil(waitMs / 1_000);
      reply.header('retry-after', String(waitSeconds));
      return refuse(
        reply,
        new CatalogError('EXCEEDED_LIMIT', `Rate limit exceeded: too many payment pages not found from this address; try again in ${waitSeconds} s`),
      );
    },
    async onResponse(request, reply) {
      const windowStartMs = counted.get(request);
      if (windowStartMs !== undefined && reply.statusCode !== 404) limiter.forgive(callerKey(request.ip), windowStartMs);
    },
  });
  return {
    page: hooks(renderPayerError),
    json: hooks((reply, error) => reply.code(error.httpStatus).send({ error: { code: error.code, message: error.message } })),
  };
}
