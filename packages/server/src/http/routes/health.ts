// Routes: GET /health (database reachable) and GET /health/live (process up; also the benchmark floor).
import type { FastifyInstance } from 'fastify';
import type { RouteTable } from '../route-table.js';

export function registerHealthRoutes(server: FastifyInstance, routes: RouteTable, ping: () => Promise<void>): void {
  routes.add('GET', '/health/live');
  server.get('/health/live', async () => ({ status: 'ok' }));
  routes.add('GET', '/health');
  server.get('/health', async (_request, reply) => {
    try {
      await ping();
      return { status: 'ok', database: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: 'unreachable' });
    }
  });
}
