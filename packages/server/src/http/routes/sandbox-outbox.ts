// Sandbox-only: run one outbox delivery sweep now (tests and developers after moving the sandbox clock).
import type { FastifyInstance } from 'fastify';
import type { RouteTable } from '../route-table.js';

export function registerSandboxOutboxRoutes(server: FastifyInstance, routes: RouteTable, runOutbox: () => Promise<number>): void {
  routes.add('POST', '/sandbox/outbox/run');
  // The sweep starts after this request arrived, so everything due at the (moved) clock is attempted before it answers.
  server.post('/sandbox/outbox/run', async () => ({ item: { attempted: await runOutbox() }, code: 'SUCCESS' }));
}
