// Outbound POSTs to merchant URLs: resolved addresses checked at connect time, whole-request timeout, no redirects, capped body read.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { limits } from '@tunai/client/contract';
import { errorExcerpt, isDelivered } from '../domain/outbox.js';
import { guardsAddresses, outboundUrlProblem, refusedAddressKind, type OutboundPolicy } from '../domain/outbound-url.js';

/** Resolves a host name to every address it has (the system resolver by default; tests may name their own hosts). */
export type ResolveAll = (hostname: string, family: LookupOptions['family']) => Promise<LookupAddress[]>;

export const systemResolveAll: ResolveAll = (hostname, family) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family: family ?? 0, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

/** The refusal recorded when a host name resolves into space the policy refuses. */
export class ForbiddenAddressError extends Error {
  override readonly name = 'ForbiddenAddressError';
  readonly code = 'ETUNAI_FORBIDDEN_ADDRESS';
}

/**
 * A `lookup` for node:net that refuses a host with any address the policy refuses (link-local and metadata; loopback
 * and private networks outside sandbox mode). The socket connects to the very addresses checked here, so a name cannot
 * pass the check and then re-resolve elsewhere (no DNS-rebinding gap). IP literals never reach a lookup (node connects
 * to them directly); outboundUrlProblem has judged those already.
 */
export function guardedLookup(resolveAll: ResolveAll, policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname, options.family).then(
      (addresses) => {
        for (const { address } of addresses) {
          const kind = refusedAddressKind(address, policy);
          if (kind === null) continue;
          callback(new ForbiddenAddressError(`refused: ${hostname} resolves to ${address}, ${kind}`), '', 0);
          return;
        }
        const first = addresses[0];
        if (!first) {
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

export interface OutboundPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The whole request: connect, send, and the status line back. */
  timeoutMs: number;
  /** Which guarded ranges the target may reach (TUNAI_OUTBOUND_ALLOW_LINK_LOCAL, TUNAI_OUTBOUND_ALLOW_PRIVATE). */
  policy: OutboundPolicy;
  resolveAll?: ResolveAll;
}

export interface OutboundResult {
  /** The receiver's status; null when no response came (refused, unreachable, timed out). */
  httpStatus: number | null;
  /** '' on a 2xx; otherwise the status and a body excerpt, or the network error. */
  error: string;
  durationMs: number;
}

/** Enough of a receiver's error body to explain it; the rest is never read. */
const bodyBytesMax = limits.webhookErrorCharsMax * 4;

function describeError(error: unknown): string {
  if (error instanceof AggregateError) {
    // Happy-eyeballs connects report one error per address tried, with an empty message of their own.
    const inner = error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).filter((m) => m !== '');
    if (inner.length > 0) return [...new Set(inner)].join('; ');
  }
  if (error instanceof Error) return error.message || String((error as NodeJS.ErrnoException).code ?? error.name);
  return String(error);
}

/** POSTs once and reports what happened; never throws (every failure is an outcome to record). */
export function postOutbound(post: OutboundPost): Promise<OutboundResult> {
  const startedAt = performance.now();
  const elapsedMs = () => Math.round(performance.now() - startedAt);
  const problem = outboundUrlProblem(post.url, post.policy);
  if (problem !== null) return Promise.resolve({ httpStatus: null, error: `refused: the target URL ${problem}`, durationMs: 0 });
  const url = new URL(post.url);
  const payload = Buffer.from(post.body, 'utf8');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise((resolve) => {
    let settled = false;
    let status: number | null = null;
    const chunks: Buffer[] = [];
    let bytesRead = 0;
    const outcome = (): string => {
      if (status === null) return '';
      if (isDelivered(status)) return '';
      const excerpt = errorExcerpt(Buffer.concat(chunks).subarray(0, bodyBytesMax).toString('utf8'));
      return errorExcerpt(excerpt === '' ? `HTTP ${status}` : `HTTP ${status}: ${excerpt}`);
    };
    const finish = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Nothing more is read or sent: the socket goes (no keep-alive, so nothing lingers).
      request.destroy();
      resolve({ httpStatus: status, error: error ?? outcome(), durationMs: elapsedMs() });
    };
    const request = send(
      url,
      {
        method: 'POST',
        headers: { ...post.headers, 'Content-Length': String(payload.length) },
        // A fresh connection per attempt: no pooled socket outlives the address check or the process's shutdown.
        agent: false,
        // Host names are resolved and checked whenever the policy refuses anything; with everything allowed, node resolves.
        ...(guardsAddresses(post.policy) ? { lookup: guardedLookup(post.resolveAll ?? systemResolveAll, post.policy) } : {}),
      },
      (response: IncomingMessage) => {
        status = response.statusCode ?? null;
        // A 2xx status line is the delivery; its body does not matter. Redirects are answers too: never followed.
        if (isDelivered(status)) return finish(null);
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          bytesRead += chunk.length;
          if (bytesRead >= bodyBytesMax) finish(null);
        });
        response.on('end', () => finish(null));
        response.on('error', () => finish(null));
      },
    );
    const timer = setTimeout(() => {
      // A status already received stands; otherwise the receiver did not answer in time.
      finish(status === null ? `timed out after ${post.timeoutMs} ms` : null);
    }, post.timeoutMs);
    request.on('error', (error) => finish(status === null ? describeError(error) : null));
    request.end(payload);
  });
}
