// The client's answers to failures a developer meets in production: connections that fail (typed NetworkError, and
// whether the request may have arrived), refusals that keep their X-Request-Id and Retry-After, a call's own time
// limit covering its token wait, redirects not followed, base URLs and ids checked before anything is sent, a token
// endpoint outage that does not fail calls while the token in hand still works, and a CSV report that is no CSV.
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listenLocal, type LocalServer } from './local-server.js';
import { NetworkError, RequestTimeoutError, RmApiError, TunaiClient, type TunaiClientOptions } from '../src/index.js';

const privateKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

/** Every request-target the fake server saw, and what it answers next (set per test). */
let seen: { method: string; url: string; authorization: string | undefined }[] = [];
let answer: Handler = () => undefined;
let local: LocalServer;
let tokenSerial = 0;

function sendJson(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(value));
}

function token(response: ServerResponse, expiresIn = 7_200): void {
  tokenSerial += 1;
  sendJson(response, 200, { accessToken: `access-${tokenSerial}`, tokenType: 'Bearer', expiresIn, refreshToken: `refresh-${tokenSerial}`, refreshTokenExpiresIn: 2_592_000 });
}

before(async () => {
  local = await listenLocal((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
      answer(request, response, Buffer.concat(chunks).toString('utf8'));
    });
  });
});
after(() => local.close());
beforeEach(() => {
  seen = [];
  answer = (request, response) => (request.url === '/v1/token' ? token(response) : sendJson(response, 200, { item: {}, code: 'SUCCESS' }));
});

function client(overrides: Partial<TunaiClientOptions> = {}): TunaiClient {
  return new TunaiClient({ clientId: 'c', clientSecret: 's', privateKeyPem, oauthBaseUrl: local.origin, openApiBaseUrl: local.origin, timeoutMs: 5_000, ...overrides });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('connection failures are NetworkError', () => {
  test('a refused connection: NETWORK_ERROR, ECONNREFUSED, and the request certainly never arrived', async () => {
    const closed = await listenLocal(() => undefined);
    const origin = closed.origin;
    await closed.close();
    const error = await rejection(client({ oauthBaseUrl: origin, openApiBaseUrl: origin }).merchant.get());
    assert.ok(error instanceof NetworkError, `got ${String(error)}`);
    assert.equal(error.code, 'NETWORK_ERROR');
    assert.equal(error.failure, 'ECONNREFUSED');
    assert.equal(error.requestMayHaveArrived, false);
    assert.deepEqual([error.method, error.url], ['POST', `${origin}/v1/token`]);
  });

  test('a connection dropped mid-answer after a payment was sent: NetworkError, and it may have arrived', async () => {
    answer = (request, response) => {
      if (request.url === '/v1/token') return token(response);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"item":');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    const error = await rejection(
      client().payment.quickPay({ authCode: '134850717797247290', order: { id: 'o1', title: 't', amount: 100, currencyType: 'MYR' }, ipAddress: '1.1.1.1', storeId: '1' }),
    );
    assert.ok(error instanceof NetworkError, `got ${String(error)}`);
    assert.equal(error.requestMayHaveArrived, true);
    assert.deepEqual([error.method, error.url], ['POST', `${local.origin}/v3/payment/quickpay`]);
    assert.ok(seen.some((s) => s.url === '/v3/payment/quickpay'), 'the payment did reach the server');
  });
});

describe('refusals keep their headers', () => {
  test('429 EXCEEDED_LIMIT: requestId and retryAfterSeconds from the answer', async () => {
    answer = (request, response) =>
      request.url === '/v1/token'
        ? token(response)
        : sendJson(response, 429, { error: { code: 'EXCEEDED_LIMIT', message: 'Rate limit exceeded' } }, { 'x-request-id': 'req-42', 'retry-after': '17' });
    const error = await rejection(client().merchant.get());
    assert.ok(error instanceof RmApiError);
    assert.deepEqual([error.code, error.httpStatus, error.requestId, error.retryAfterSeconds], ['EXCEEDED_LIMIT', 429, 'req-42', 17]);
    assert.equal(error.headers?.get('x-request-id'), 'req-42');
  });

  test('a token refusal names its request too; an answer without the headers leaves them undefined', async () => {
    answer = (request, response) => sendJson(response, 401, { error: { code: 'INVALID_CLIENT', message: 'bad' } }, { 'x-request-id': 'tok-1' });
    const refused = await rejection(client().oauth.clientCredentials());
    assert.ok(refused instanceof RmApiError);
    assert.deepEqual([refused.code, refused.requestId, refused.retryAfterSeconds], ['INVALID_CLIENT', 'tok-1', undefined]);
    answer = (request, response) => (request.url === '/v1/token' ? token(response) : sendJson(response, 400, { error: { code: 'VALIDATION_ERROR', message: 'x' } }));
    const plain = await rejection(client().merchant.get());
    assert.ok(plain instanceof RmApiError);
    assert.deepEqual([plain.requestId, plain.retryAfterSeconds], [undefined, undefined]);
  });
});

describe("a call's own time limit", () => {
  test('covers the token request it waits for: 200 ms, not the client-wide 5 s', async () => {
    answer = (request, response) => {
      if (request.url !== '/v1/token') return sendJson(response, 200, { item: {}, code: 'SUCCESS' });
      setTimeout(() => token(response), 1_500);
    };
    const tunai = client();
    const startedMs = performance.now();
    const error = await rejection(tunai.stores.create({ name: 'x', addressLine1: 'a', postCode: '1', city: 'c', state: 's', country: 'MY', countryCode: '60', phoneNumber: '1' }, { timeoutMs: 200 }));
    const tookMs = performance.now() - startedMs;
    assert.ok(error instanceof RequestTimeoutError, `got ${String(error)}`);
    assert.equal(error.url, `${local.origin}/v1/token`);
    assert.ok(tookMs < 1_200, `gave up after ${Math.round(tookMs)} ms`);
    assert.ok(!seen.some((s) => s.url === '/v3/store'), 'the store request was never sent');
    // The shared token request went on and is used by the next call.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await tunai.merchant.get();
    assert.equal(seen.filter((s) => s.url === '/v1/token').length, 1, 'one token request in all');
  });
});

describe('redirects are not followed', () => {
  test('a 307 is an RmApiError HTTP_307 and its target is never asked', async () => {
    answer = (request, response) => {
      if (request.url === '/v1/token') return token(response);
      if (request.url === '/elsewhere') return sendJson(response, 200, { item: { moved: true }, code: 'SUCCESS' });
      response.writeHead(307, { location: '/elsewhere' });
      response.end();
    };
    const error = await rejection(client().payment.refund({ transactionId: '1', refund: { type: 'FULL', currencyType: 'MYR', amount: 100 }, reason: 'r' }));
    assert.ok(error instanceof RmApiError, `got ${String(error)}`);
    assert.deepEqual([error.code, error.httpStatus], ['HTTP_307', 307]);
    assert.ok(!seen.some((s) => s.url === '/elsewhere'), 'the body was not re-sent to the new location');
  });
});

describe('checked before anything is sent', () => {
  test('base URLs: no scheme, a query or a fragment is refused at construction', () => {
    for (const bad of ['sb-open.revenuemonster.my', 'ftp://host', 'https://gw.example/rm?x=1', 'https://gw.example/rm#frag', '']) {
      assert.throws(() => client({ openApiBaseUrl: bad }), TypeError, `openApiBaseUrl ${JSON.stringify(bad)}`);
      assert.throws(() => client({ oauthBaseUrl: bad }), TypeError, `oauthBaseUrl ${JSON.stringify(bad)}`);
    }
  });

  test("the token endpoint's whole URL as the OAuth base posts to /v1/token, and /authorize sits beside it", async () => {
    const tunai = client({ oauthBaseUrl: `${local.origin}/v1/token` });
    await tunai.oauth.clientCredentials();
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/v1/token'],
    );
    assert.ok(tunai.oauth.authorizeUrl({ redirectUri: 'https://x', scopes: ['manage_store'] }).startsWith(`${local.origin}/authorize?`));
  });

  test('an id of "", "." or ".." is refused: a URL would resolve it to another endpoint', async () => {
    const tunai = client();
    for (const id of ['', '.', '..']) {
      assert.ok((await rejection(tunai.payment.transactionByOrderId(id))) instanceof TypeError, `order id ${JSON.stringify(id)}`);
      assert.ok((await rejection(tunai.stores.get(id))) instanceof TypeError, `store id ${JSON.stringify(id)}`);
      assert.ok((await rejection(tunai.payment.qrCodeTransactions(id))) instanceof TypeError, `code ${JSON.stringify(id)}`);
    }
    assert.equal(seen.length, 0, 'nothing was sent');
    // Dots inside an id are fine.
    await tunai.payment.transactionByOrderId('a.b..c');
    assert.ok(seen.some((s) => s.url === '/v3/payment/transaction/order/a.b..c'));
  });
});

describe('a token endpoint outage', () => {
  const okApi: Handler = (request, response) => sendJson(response, 200, { item: {}, code: 'SUCCESS' });
  /**
   * A client holding a 120 s token, then the token endpoint answering with `tokenAnswer` (undefined: it hangs), and the
   * client's clock moved 90 s: past the renewal point (60 s early), before the expiry. Returns the token's header.
   */
  async function pastRenewalPoint(tokenAnswer: ((response: ServerResponse) => void) | undefined) {
    const clock = { nowMs: 1_700_000_000_000 };
    const tunai = client({ nowMs: () => clock.nowMs });
    answer = (request, response) => (request.url === '/v1/token' ? token(response, 120) : okApi(request, response, ''));
    await tunai.merchant.get();
    const held = seen.find((s) => s.url === '/v3/merchant')?.authorization;
    answer = (request, response) => (request.url === '/v1/token' ? tokenAnswer?.(response) : okApi(request, response, ''));
    clock.nowMs += 90_000;
    seen = [];
    return { tunai, clock, held };
  }

  test('renewing fails (503) while the token in hand still works: the call goes out with it; past its expiry the outage is thrown', async () => {
    const { tunai, clock, held } = await pastRenewalPoint((response) => sendJson(response, 503, { error: { code: 'SYSTEM_ERROR', message: 'down' } }));
    await tunai.merchant.get();
    assert.deepEqual(
      seen.map((s) => [s.url, s.authorization ?? 'none']),
      [
        ['/v1/token', `Basic ${Buffer.from('c:s').toString('base64')}`],
        ['/v3/merchant', held],
      ],
      'a renewal was tried, then the call went out with the token in hand',
    );
    clock.nowMs += 31_000; // past the expiry
    seen = [];
    const error = await rejection(tunai.merchant.get());
    assert.ok(error instanceof RmApiError);
    assert.deepEqual([error.code, error.httpStatus], ['SYSTEM_ERROR', 503]);
    assert.ok(!seen.some((s) => s.url === '/v3/merchant'), 'an expired token is not sent');
  });

  test('a token endpoint that hangs during renewal: a call with its own short limit goes on with the valid token in hand', async () => {
    const { tunai, held } = await pastRenewalPoint(undefined);
    const startedMs = performance.now();
    await tunai.stores.delete('1', { timeoutMs: 200 });
    assert.ok(performance.now() - startedMs < 2_000, 'it did not wait for the client-wide limit');
    assert.equal(seen.find((s) => s.url === '/v3/store/1')?.authorization, held, 'sent with the token in hand');
  });

  test('a refusal of the credentials (401) is not an outage: it is thrown at once', async () => {
    const { tunai } = await pastRenewalPoint((response) => sendJson(response, 401, { error: { code: 'INACTIVE_CLIENT', message: 'off' } }));
    const error = await rejection(tunai.merchant.get());
    assert.ok(error instanceof RmApiError);
    assert.equal(error.code, 'INACTIVE_CLIENT');
    assert.ok(!seen.some((s) => s.url === '/v3/merchant'), 'the valid token is not used after a refusal');
  });
});

describe('settlementCsv', () => {
  test('a 200 whose body is JSON, or that says it is HTML, is not the report; CSV text is the report whatever its type', async () => {
    const input = { date: '2026-01-01', method: 'ALL' as const, region: 'MALAYSIA' as const, sequence: 1 };
    for (const [type, body] of [
      ['application/json', '{"item":{},"code":"SUCCESS"}'],
      ['text/html', '<html>login</html>'],
    ] as const) {
      answer = (request, response) => {
        if (request.url === '/v1/token') return token(response);
        response.writeHead(200, { 'content-type': type });
        response.end(body);
      };
      const error = await rejection(client().payment.settlementCsv(input as never));
      assert.ok(error instanceof RmApiError, `${type}: got ${String(error)}`);
      assert.equal(error.code, 'HTTP_200');
    }
    answer = (request, response) => {
      if (request.url === '/v1/token') return token(response);
      response.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' });
      response.end('H,1\n');
    };
    assert.equal(await client().payment.settlementCsv(input as never), 'H,1\n');
    answer = (request, response) => {
      if (request.url === '/v1/token') return token(response);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('H,2\n');
    };
    assert.equal(await client().payment.settlementCsv(input as never), 'H,2\n', 'CSV labelled JSON is still CSV');
  });
});
