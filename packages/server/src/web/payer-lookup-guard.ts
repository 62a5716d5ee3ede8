// Payer pages find their payment by an id in the URL, and that id is the page's only credential: a caller whose
// lookups keep finding nothing is refused for a while (429 EXCEEDED_LIMIT), so ids cannot be guessed at speed.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerKey } from '../domain/caller-address.js';
import { CatalogError } from '../lib/catalog-error.js';
import type { MissLimiter } from '../lib/miss-limiter.js';
import { renderPayerError } from './payer-pages.js';

export interface PayerLookupHooks {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
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
 * A caller's lookups under way count against the same budget as its misses, so a burst sent at once is held to the
 * limit too; a burst that finds its pages is told to wait a second, not that it found nothing.
 * The caller is request.ip: the socket's peer, or with TUNAI_TRUST_PROXY the address the proxy in front reports.
 */
export function payerLookupGuard(limiter: MissLimiter): PayerLookupGuard {
  const hooks = (refuse: (reply: FastifyReply, error: CatalogError) => FastifyReply): PayerLookupHooks => ({
    async onRequest(request, reply) {
      const caller = callerKey(request.ip);
      const started = limiter.start(caller);
      if (started.allowed) {
        // 'close' comes for every answer, sent or cut off; an answer cut off before it was sent told nothing.
        reply.raw.once('close', () => limiter.finish(caller, reply.raw.headersSent && reply.statusCode === 404));
        return undefined;
      }
      const waitSeconds = Math.ceil(started.waitMs / 1_000);
      reply.header('retry-after', String(waitSeconds));
      const why =
        started.reason === 'misses'
          ? `too many payment pages not found from this address; try again in ${waitSeconds} s`
          : `too many payment page lookups at once from this address; try again in ${waitSeconds} s`;
      return refuse(reply, new CatalogError('EXCEEDED_LIMIT', `Rate limit exceeded: ${why}`));
    },
  });
  return {
    page: hooks(renderPayerError),
    // Thrown, so the application's error handler answers it in RM's envelope like any other refusal.
    json: hooks((_reply, error) => {
      throw error;
    }),
  };
}
