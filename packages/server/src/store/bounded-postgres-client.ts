// A pg client whose queries cannot wait forever: a query left unanswered past the bound closes its connection.
import { Socket } from 'node:net';
import pg from 'pg';

/**
 * How long a query may go unanswered, shared by every connection of one pool. Zero lifts the bound (migrations
 * run that way: under their lock an index on a big table may rightly take minutes).
 */
export interface QueryBound {
  ms: number;
}

/** The error a query (and every query queued behind it on that connection) fails with when the bound passes. */
export class QueryUnansweredError extends Error {
  constructor(limitMs: number) {
    super(`PostgreSQL sent no answer to a query within ${limitMs} ms; tunai closed that connection`);
    this.name = 'QueryUnansweredError';
  }
}

/**
 * pg can time a query out (`query_timeout`), but the query stays in flight on its connection, which goes back to the
 * pool still waiting for the answer: the next query on it waits too. A connection that went silent (a network path
 * that drops packets, a failover that left the old server unreachable, a proxy that stopped forwarding) is only
 * found out when the operating system gives up on it, after many minutes.
 *
 * This client opens its own socket (pg's public `stream` option), so it can close it when a query outlives the
 * bound. pg then fails every query on the connection and marks it unusable, and the pool drops it on release.
 * Kysely sends one query at a time per connection, so the bound is per statement.
 */
export function boundedClientClass(bound: QueryBound): typeof pg.Client {
  return class BoundedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      const socket = new Socket();
      super({ ...(typeof config === 'string' ? { connectionString: config } : config), stream: () => socket });
      const unbounded = this.query.bind(this) as (...args: unknown[]) => unknown;
      this.query = ((...args: unknown[]) => {
        const answer = unbounded(...args);
        const limitMs = bound.ms;
        if (limitMs > 0 && answer instanceof Promise) {
          const timer = setTimeout(() => socket.destroy(new QueryUnansweredError(limitMs)), limitMs);
          timer.unref();
          const settle = () => clearTimeout(timer);
          answer.then(settle, settle);
        }
        return answer;
      }) as pg.Client['query'];
    }
  };
}
