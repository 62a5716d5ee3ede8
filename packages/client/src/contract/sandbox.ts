// tunai's sandbox helpers outside /v3 (sandbox mode only; RM has no such endpoints): what they answer as `item`.
import { Type, type Static } from '@sinclair/typebox';

/** `GET`/`POST /sandbox/clock`: the server's (sandbox, movable) clock. */
export const SandboxClock = Type.Object({
  /** ISO 8601 UTC. */
  now: Type.String(),
  /** The same instant, epoch ms. */
  nowMs: Type.Integer(),
});
export type SandboxClock = Static<typeof SandboxClock>;

/** `POST /sandbox/closed-loop/run`: how many payment steps (queries, reversals at the deadline) the run took. */
export const SandboxClosedLoopRun = Type.Object({ processed: Type.Integer() });
export type SandboxClosedLoopRun = Static<typeof SandboxClosedLoopRun>;

/** `POST /sandbox/outbox/run`: how many notify deliveries the sweep attempted. */
export const SandboxOutboxRun = Type.Object({ attempted: Type.Integer() });
export type SandboxOutboxRun = Static<typeof SandboxOutboxRun>;
