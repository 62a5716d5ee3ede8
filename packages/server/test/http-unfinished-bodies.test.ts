// Requests whose body never finishes (a client that dies mid-upload, chunks that do not parse): the connection is
// dropped at once, nothing is logged as a fault, and the server still shuts down promptly. HEAD reads payer pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { limits } from '@tunai/client/contract';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer } from './harness.js';

/** Sends raw bytes, then (optionally) ends the sending side; resolves to what came back once the server closed. */
function sendAndAwaitClose(url: string, bytes: string, halfClose: boolean): Promise<{ answer: string; closed: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    // Real time bound for a test of "at once": a connection still open after it is the fault being tested.
    const bound = setTimeout(() => {
      socket.destroy();
      resolve({ answer: Buffer.concat(chunks).toString('utf8'), closed: false });
    }, 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => {
      clearTimeout(bound);
      resolve({ answer: Buffer.concat(chunks).toString('utf8'), closed: true });
    });
    socket.on('error', (error) => {
      clearTimeout(bound);
      reject(error);
    });
    socket.write(bytes, () => {
      if (halfClose) socket.end();
    });
  });
}

forEachDialect('HTTP requests whose body never finishes', (dialect) => {
  test('a body cut short by the client, or chunks that do not parse, close the connection at once; no 500, and shutdown is prompt', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString('utf8')), done()) });
    const server = await startTestServer(dialect, { LOG_LEVEL: 'info' }, { logDestination: sink });
    let closed = false;
    try {
      const cases = [
        { what: 'POST to an unknown route, 94 body bytes missing, then FIN', bytes: 'POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":', halfClose: true },
        { what: 'POST /v3/payment/refund, body short, then FIN', bytes: 'POST /v3/payment/refund HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":', halfClose: true },
        { what: 'GET with a chunked body whose chunk size is not hex', bytes: 'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n', halfClose: false },
        { what: 'GET with a chunked body cut off, then FIN', bytes: 'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', halfClose: true },
      ];
      for (const c of cases) {
        const { answer, closed: wasClosed } = await sendAndAwaitClose(server.url, c.bytes, c.halfClose);
        assert.ok(wasClosed, `${c.what}: the server closed the connection`);
        assert.ok(!/^HTTP\/1\.1 5/.test(answer), `${c.what}: no 5xx (${answer.slice(0, 40)})`);
      }
      assert.equal((await fetch(`${server.url}/health/live`)).status, 200, 'still serving');
      // Let the aborted handlers finish and log.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const faults = lines.filter((line) => {
        const entry = JSON.parse(line) as { level: number; statusCode?: number };
        return entry.level >= 50 || (entry.statusCode ?? 0) >= 500;
      });
      assert.deepEqual(faults, [], 'nothing was logged as a fault or answered 5xx');

      const started = Date.now();
      const closing = server.close().then(() => (closed = true));
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      assert.ok(closed, `the server shut down (waited ${Date.now() - started} ms)`);
    } finally {
      // Bounded, so a server that cannot shut down fails this test instead of holding the run.
      if (!closed) await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
  });

  test('shutdown drops a request still arriving after its grace period instead of waiting for it for ever', async () => {
    const server = await startTestServer(dialect);
    const { hostname, port } = new URL(server.url);
    const stalled = [
      'POST /v3/payment/refund HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
      'GET /health HTTP/1.1\r\nHost: x\r\nX-Half: ',
    ].map(
      (bytes) =>
        new Promise<void>((resolve) => {
          const socket = connect(Number(port), hostname, () => socket.write(bytes));
          socket.on('close', () => resolve());
          socket.on('error', () => resolve());
        }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, limits.shutdownArrivalGraceMs + 10_000))]);
    assert.ok(closed, `the server shut down with uploads stalled (after ${Date.now() - started} ms)`);
    await Promise.all(stalled);
  });

  test('HEAD on a payer page answers as GET does, without a body', async () => {
    const server = await startTestServer(dialect);
    try {
      const dev = await createDeveloper(server);
      const qr = (await dev.client.payment.createQrCode(qrCodeInput(dev.merchant.store.id, 'STATIC'))).item;
      for (const path of [`/payment/unified?code=${qr.code}`, '/payment/unified?code=unknown']) {
        const get = await fetch(`${server.url}${path}`, { redirect: 'manual' });
        const head = await fetch(`${server.url}${path}`, { method: 'HEAD', redirect: 'manual' });
        assert.equal(head.status, get.status, `${path}: HEAD ${head.status}, GET ${get.status}`);
        assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
        assert.equal(await head.text(), '', `${path}: HEAD has no body`);
      }
      assert.equal((await fetch(`${server.url}/payment/unified?code=${qr.code}`, { method: 'HEAD' })).status, 200);
    } finally {
      await server.close();
    }
  });
});
