// A lean HTTP/1.1 load generator for the bench: pre-rendered requests over keep-alive connections, one in flight each.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  host: string;
  port: number;
  connections: number;
  /**
   * The requests to send, already rendered to bytes. `cycle` sends them round and round until the duration ends
   * (for requests that may repeat); `once` sends each exactly once and ends when all are answered (signed requests,
   * whose nonces are single-use).
   */
  requests: readonly Buffer[];
  mode: { kind: 'cycle'; durationSeconds: number } | { kind: 'once' };
}

export interface LoadResult {
  requestsTotal: number;
  durationSeconds: number;
  /** Each answered request's latency, in answer order. */
  latenciesMs: Float64Array;
  non2xx: number;
}

/** Renders one request; the body, when given, is sent with its Content-Length. */
export function renderRequest(method: string, path: string, host: string, headers: Record<string, string>, body?: string): Buffer {
  const bodyBytes = body === undefined ? null : Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`, 'connection: keep-alive'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (bodyBytes) lines.push(`content-length: ${bodyBytes.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
  return bodyBytes ? Buffer.concat([head, bodyBytes]) : head;
}

const headerEnd = Buffer.from('\r\n\r\n');
const contentLengthPattern = /\r\ncontent-length:\s*(\d+)/i;

/**
 * The length of the first complete response in `buffer` and its status, or null while it is incomplete.
 * The server under test always answers with Content-Length (Fastify does for every reply the bench asks for).
 */
function completeResponse(buffer: Buffer): { length: number; status: number } | null {
  const end = buffer.indexOf(headerEnd);
  if (end < 0) return null;
  const head = buffer.toString('latin1', 0, end);
  const match = contentLengthPattern.exec(head);
  if (!match) throw new Error(`response without content-length: ${head.split('\r\n')[0]}`);
  const length = end + 4 + Number(match[1]);
  if (buffer.length < length) return null;
  return { length, status: Number(head.slice(9, 12)) };
}

/** The latency below which `fraction` of the requests fall, over one or more runs. */
export function latencyPercentileMs(runs: readonly Float64Array[], fraction: number): number {
  const all = new Float64Array(runs.reduce((sum, run) => sum + run.length, 0));
  let offset = 0;
  for (const run of runs) {
    all.set(run, offset);
    offset += run.length;
  }
  return percentile(all.sort(), fraction);
}

function percentile(sortedMs: Float64Array, fraction: number): number {
  if (sortedMs.length === 0) return 0;
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor(sortedMs.length * fraction))] as number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { requests, mode } = options;
  if (requests.length === 0) throw new Error('no requests to send');
  const latencyCapacity = mode.kind === 'once' ? requests.length : 1 << 20;
  let latenciesMs = new Float64Array(latencyCapacity);
  let answered = 0;
  let next = 0;
  let non2xx = 0;
  let startedMs = 0;
  let deadlineMs = Infinity;
  let endedMs = 0;

  const takeNext = (): Buffer | null => {
    if (mode.kind === 'once') return next < requests.length ? (requests[next++] as Buffer) : null;
    if (performance.now() >= deadlineMs) return null;
    return requests[next++ % requests.length] as Buffer;
  };

  const drive = (socket: Socket): Promise<void> =>
    new Promise((resolve, reject) => {
      let pending: Buffer = Buffer.alloc(0);
      let sentAtMs = 0;
      const sendNext = () => {
        const request = takeNext();
        if (!request) {
          socket.end();
          resolve();
          return;
        }
        sentAtMs = performance.now();
        socket.write(request);
      };
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const response = completeResponse(pending);
        if (!response) return;
        pending = pending.subarray(response.length);
        const nowMs = performance.now();
        if (answered === latenciesMs.length) {
          const grown = new Float64Array(latenciesMs.length * 2);
          grown.set(latenciesMs);
          latenciesMs = grown;
        }
        latenciesMs[answered++] = nowMs - sentAtMs;
        endedMs = nowMs;
        if (response.status < 200 || response.status > 299) non2xx++;
        sendNext();
      });
      // A broken connection fails the whole run: a bench with lost requests has nothing to report.
      socket.on('error', reject);
      sendNext();
    });

  const sockets = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: options.host, port: options.port, noDelay: true }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  startedMs = performance.now();
  endedMs = startedMs;
  if (mode.kind === 'cycle') deadlineMs = startedMs + mode.durationSeconds * 1000;
  await Promise.all(sockets.map(drive));
  return {
    requestsTotal: answered,
    durationSeconds: (endedMs - startedMs) / 1000,
    latenciesMs: latenciesMs.slice(0, answered),
    non2xx,
  };
}
