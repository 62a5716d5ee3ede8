// Test helper for the client suites: a plain HTTP server on a free loopback port, answering as each suite decides,
// and the server-side check of what a client sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { verifyReceivedRequest } from '../src/index.js';

export interface LocalServer {
  server: Server;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  origin: string;
  /** Drops open connections (a suite may leave hung answers) and stops listening. */
  close(): Promise<void>;
}

export async function listenLocal(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<LocalServer> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A request as the local server received it. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** The plaintext the server-side verifier finds for a recorded signed request at `origin`, or null. */
export function verifiedPlaintext(got: Recorded, origin: string, publicKey: KeyObject): string | null {
  return verifyReceivedRequest(
    {
      method: got.method,
      rawBody: got.body,
      parsedBody: undefined,
      nonceStr: String(got.headers['x-nonce-str']),
      timestamp: String(got.headers['x-timestamp']),
      requestUrls: [`${origin}${got.url}`],
      signType: 'sha256',
    },
    String(got.headers['x-signature']).slice('sha256 '.length),
    publicKey,
  );
}
