// Sandbox-only helpers outside /v3: move the clock forward ("time travel"), run the closed loop or an outbox sweep now.
// Only the operator may: a caller on this machine, or one with TUNAI_SANDBOX_CONTROL_KEY when it is set.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { limits, type ItemResponse, type SandboxClock, type SandboxClosedLoopRun, type SandboxOutboxRun } from '@tunai/client/contract';
import { isLoopbackAddress } from '../../domain/outbound-url.js';
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
  /** SHA-256 of the operator's key (X-Sandbox-Key); null: only callers on this machine may use the controls. */
  controlKeySha256: Buffer | null;
  /** TUNAI_TRUST_PROXY: a proxy is in front, so a loopback peer proves nothing and the key is needed. */
  behindProxy: boolean;
}

/**
 * The controls act for every merchant on the database (a clock move cannot be undone), so they answer only the
 * operator: with TUNAI_SANDBOX_CONTROL_KEY set, a caller sending it; without one, a caller connected from this machine
 * itself. A request a proxy forwarded is not that, whatever it says: its X-Forwarded-For is the client's to write,
 * and a proxy on this machine connects from loopback for everyone. So a forwarded request, or any request when
 * TUNAI_TRUST_PROXY says a proxy is in front, needs the key.
 */
function assertOperator(request: FastifyRequest, controls: Pick<SandboxControls, 'controlKeySha256' | 'behindProxy'>): void {
  const refuse = (why: string): never => {
    throw new CatalogError('NOT_PERMITTED', `Not permitted: ${why}`, { httpStatus: 403 });
  };
  if (controls.controlKeySha256 !== null) {
    const sent = request.headers['x-sandbox-key'];
    if (typeof sent === 'string' && timingSafeEqual(createHash('sha256').update(sent, 'utf8').digest(), controls.controlKeySha256)) return;
    refuse('sandbox controls need the X-Sandbox-Key header with the key set in TUNAI_SANDBOX_CONTROL_KEY');
  }
  if (controls.behindProxy) refuse('behind a proxy (TUNAI_TRUST_PROXY) sandbox controls need TUNAI_SANDBOX_CONTROL_KEY');
  const forwarded = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
  if (forwarded || !isLoopbackAddress(request.socket.remoteAddress ?? '')) {
    refuse("sandbox controls answer only callers on the server's own machine; set TUNAI_SANDBOX_CONTROL_KEY to use them from elsewhere");
  }
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
    assertOperator(request, controls);
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
    assertOperator(request, controls);
    jsonBody(request);
    await controls.syncClock();
    return { item: { processed: await controls.runClosedLoop() }, code: 'SUCCESS' };
  });
  routes.add('POST', '/sandbox/outbox/run');
  // Everything due at the (moved) clock is attempted before it answers, at most webhookInFlightPerReceiverMax per
  // receiver; a receiver's other due events follow as its attempts end.
  server.post('/sandbox/outbox/run', async (request): Promise<ItemResponse<SandboxOutboxRun>> => {
    assertOperator(request, controls);
    jsonBody(request);
    await controls.syncClock();
    return { item: { attempted: await controls.runOutbox() }, code: 'SUCCESS' };
  });
}
