// A real node:http webhook receiver on 127.0.0.1 for tests: records every request and answers as each test plans.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../src/lib/logger.js';
import type { DeliveryDeps } from '../src/webhooks/deliver.js';
import type { TestServer } from './harness.js';

/** ok: 200; fail: 500 with a body; redirect: 302 to another path here; hang: never answers (until closed). */
export type Behaviour = 'ok' | 'fail' | 'redirect' | 'hang';

export interface ReceivedCallback {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  eventId: string;
}

export class WebhookReceiver {
  readonly requests: ReceivedCallback[] = [];
  /** Behaviours for the next requests, in order; `fallback` once they are used up. */
  plan: Behaviour[] = [];
  fallback: Behaviour = 'ok';
  /** Real delay before answering (widens race windows in concurrency tests). */
  answerDelayMs = 0;
  private server: Server | null = null;
  private readonly held: ServerResponse[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  port = 0;

  /** Listens on `port` (0: any); the same port again after stop() brings a "down" receiver back. */
  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        const header = req.headers['x-tunai-event-id'];
        this.requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), eventId: typeof header === 'string' ? header : '' });
        for (const waiter of [...this.waiters]) {
          if (this.requests.length >= waiter.count) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
        const behaviour = path.startsWith('/elsewhere') ? 'ok' : (this.plan.shift() ?? this.fallback);
        const answer = () => {
          if (behaviour === 'ok') res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
          else if (behaviour === 'fail') res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver down');
          else if (behaviour === 'redirect') res.writeHead(302, { location: `http://127.0.0.1:${this.port}/elsewhere` }).end();
          else this.held.push(res);
        };
        if (this.answerDelayMs > 0) setTimeout(answer, this.answerDelayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/notify'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves once `count` requests in total have arrived (real I/O; bounded by the caller's test timeout). */
  received(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Stops listening, dropping held requests: connections to the port are refused until start() again. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const res of this.held.splice(0)) res.destroy();
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** What a delivery worker of the test server's own would use (another worker on the same database). */
export function deliveryDeps(server: TestServer, timeoutMs: number): DeliveryDeps {
  let nonces = 0;
  return {
    storage: server.running.storage,
    clock: server.clock,
    ids: server.running.deps.ids,
    logger: createLogger('silent'),
    privateKey: server.running.serverKeys.privateKey,
    timeoutMs,
    outboundPolicy: server.config.outbound,
    random: () => 0.5,
    nonce: () => `nonce-${++nonces}`.padEnd(32, 'x'),
  };
}
