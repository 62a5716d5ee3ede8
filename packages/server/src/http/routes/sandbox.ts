// Sandbox-only helpers outside /v3: move the clock forward ("time travel"), run the closed loop or an outbox sweep now.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { limits, type ItemResponse, type SandboxClock, type SandboxClosedLoopRun, type SandboxOutboxRun } from '@tunai/client/contract';
import { isoFromMs, type Clock } from '../../lib/clock.js';
import { CatalogError } from '../../lib/catalog-error.js';
import { jsonBody } from '../body.js';
import type { RouteTable } from '../route-table.js';
import { validate } from '../validate.js';

const AdvanceClockRequest = Type.Object(
  { advanceSeconds: Type.Integer({ minimum: 1, maximum: limits.sandboxClockAdvanceSecondsMax }) },
  { additionalProperties: false },
);

export interface SandboxControls {
  clock: Clock;
  /**
   * Moves the clock forward for every process on the database: 'fixed' when this server's clock cannot be moved,
   * 'too-far' when it would end more than limits.sandboxClockOffsetSecondsMax ahead of the wall clock.
   */
  advanceClock(deltaMs: number): Promise<'moved' | 'fixed' | 'too-far'>;
  /** Reads the shared offset now, so a route acts at the time another process moved the clock to. */
  syncClock(): Promise<void>;
  runClosedLoop: () => Promise<number>;
  /** One webhook delivery sweep that starts after the call. */
  runOutbox: () => Promise<number>;
}

export function registerSandboxRoutes(server: FastifyInstance, routes: RouteTable, controls: SandboxControls): void {
  const clockView = (): ItemResponse<SandboxClock> => {
    const nowMs = controls.clock.nowMs();
    return { item: { now: isoFromMs(nowMs), nowMs }, code: 'SUCCESS' };
  };
  routes.add('GET', '/sandbox/clock');
  server.get('/sandbox/clock', async () => {
    await controls.syncClock();
    return clockView();
  });
  routes.add('POST', '/sandbox/clock');
  server.post('/sandbox/clock', async (request) => {
    const input = validate(AdvanceClockRequest, jsonBody(request));
    const moved = await controls.advanceClock(input.advanceSeconds * 1000);
    if (moved === 'fixed') throw new CatalogError('NOT_PERMITTED', 'Not permitted: this server runs on a fixed clock');
    if (moved === 'too-far') {
      const years = Math.round(limits.sandboxClockOffsetSecondsMax / 31_536_000);
      throw new CatalogError('VALIDATION_ERROR', `Validations error: the sandbox clock may run at most ${years} years ahead of the wall clock`);
    }
    return clockView();
  });
  routes.add('POST', '/sandbox/closed-loop/run');
  // These take no body, but one that is not JSON is refused like anywhere else.
  server.post('/sandbox/closed-loop/run', async (request): Promise<ItemResponse<SandboxClosedLoopRun>> => {
    jsonBody(request);
    await controls.syncClock();
    return { item: { processed: await controls.runClosedLoop() }, code: 'SUCCESS' };
  });
  routes.add('POST', '/sandbox/outbox/run');
  // Everything due at the (moved) clock is attempted before it answers, at most webhookInFlightPerReceiverMax per
  // receiver; a receiver's other due events follow as its attempts end.
  server.post('/sandbox/outbox/run', async (request): Promise<ItemResponse<SandboxOutboxRun>> => {
    jsonBody(request);
    await controls.syncClock();
    return { item: { attempted: await controls.runOutbox() }, code: 'SUCCESS' };
  });
}
