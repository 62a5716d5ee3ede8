// Declares /v3 routes with their guard in one visible order: authenticate → signature → scope → handler.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '@tunai/client/contract';
import type { AuthContext, OpenApiGuard } from '../app/auth-ports.js';
import { hasScope } from '../domain/scopes.js';
import { CatalogError } from '../lib/catalog-error.js';
import { requestUrlCandidates } from './request-urls.js';
import type { RouteTable } from './route-table.js';

export interface OpenApiRouteOptions {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  scope: Scope;
  /** Payment routes require a signature; elsewhere it is verified only when present (or the app demands it). */
  signature: 'required' | 'when-present';
  handler: (request: FastifyRequest, auth: AuthContext, reply: FastifyReply) => Promise<unknown>;
}

export interface OpenApiContext {
  server: FastifyInstance;
  guard: OpenApiGuard;
  publicUrls: readonly string[];
  routes: RouteTable;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
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
          signatureHeader: header(request, 'x-signature'),
          nonceHeader: header(request, 'x-nonce-str'),
          timestampHeader: header(request, 'x-timestamp'),
          requestUrls: requestUrlCandidates(request, ctx.publicUrls),
        },
        options.signature === 'required',
      );
      if (!hasScope(auth.scopes, options.scope)) {
        throw new CatalogError('CLIENT_NO_PERMISSION', `Developer application does not have permission to access: scope ${options.scope} is required`);
      }
      return options.handler(request, auth, reply);
    },
  });
}
