// Route: POST /v1/token — RM's OAuth token endpoint (client credentials, refresh token, authorization code).
import type { FastifyInstance } from 'fastify';
import { TokenRequest } from '@tunai/client/contract';
import type { OAuthService } from '../../app/auth-ports.js';
import { jsonBody } from '../body.js';
import type { RouteTable } from '../route-table.js';
import { validate } from '../validate.js';

export function registerOAuthRoutes(server: FastifyInstance, routes: RouteTable, oauth: OAuthService): void {
  routes.add('POST', '/v1/token');
  server.post('/v1/token', async (request, reply) => {
    const authorization = request.headers.authorization;
    const body = validate(TokenRequest, jsonBody(request, 'INVALID_REQUEST'), 'body', 'INVALID_REQUEST');
    const token = await oauth.token(authorization, body);
    // Tokens are credentials: no cache may keep them (RFC 6749 §5.1).
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return token;
  });
}
