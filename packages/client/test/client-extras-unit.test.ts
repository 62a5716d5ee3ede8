// Unit tests for the client's request timeouts, RM-docs base URLs, adopted authorization-code tokens and sandbox helpers.
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listenLocal, verifiedPlaintext, type LocalServer, type Recorded } from './local-server.js';
import {
  AuthorizationRequiredError,
  RequestTimeoutError,
  RmApiError,
  TunaiClient,
  type TokenResponse,
  type TunaiClientOptions,
} from '../src/index.js';

/** A planned answer: a response, no answer at all, headers then a body that never ends, or an answer held until released. */
type Plan =
  | { kind: 'reply'; status: number; body: string }
  | { kind: 'hang' }
  | { kind: 'hang-body' }
  | { kind: 'hold'; released: Promise<{ status: number; body: string }> };

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

let recorded: Recorded[] = [];
let tokenPlans: Plan[] = [];
let apiPlans: Plan[] = [];
let tokenSerial = 0;
/** Responses left open by hang plans; ended after each test. */
let open: ServerResponse[] = [];
let local: LocalServer;
let origin = '';

const reply = (status: number, value: unknown): Plan => ({ kind: 'reply', status, body: JSON.stringify(value) });
const tokenBody = (name: string, expiresIn = 7200, refreshTokenExpiresIn = 2_592_000): TokenResponse => ({
  accessToken: `access-${name}`,
  tokenType: 'Bearer',
  expiresIn,
  refreshToken: `refresh-${name}`,
  refreshTokenExpiresIn,
});

function isTokenUrl(url: string): boolean {
  return url.endsWith('/v1/token');
}

function answer(res: ServerResponse, plan: Plan): void {
  if (plan.kind === 'hang') {
    open.push(res);
    return;
  }
  if (plan.kind === 'hang-body') {
    open.push(res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"item":');
    return;
  }
  if (plan.kind === 'hold') {
    void plan.released.then((r) => answer(res, { kind: 'reply', ...r }));
    return;
  }
  res.writeHead(plan.status, { 'content-type': 'application/json' });
  res.end(plan.body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    recorded.push(entry);
    if (isTokenUrl(entry.url)) answer(res, tokenPlans.shift() ?? reply(200, tokenBody(`cc${++tokenSerial}`)));
    else answer(res, apiPlans.shift() ?? reply(200, { item: {}, code: 'SUCCESS' }));
  });
}

const tokenRequests = () => recorded.filter((r) => isTokenUrl(r.url));
const apiRequests = () => recorded.filter((r) => !isTokenUrl(r.url));
const grants = () => tokenRequests().map((r) => (JSON.parse(r.body) as { grantType: string }).grantType);
const bearers = () => apiRequests().map((r) => r.headers.authorization);

function makeClock(startMs = 1_700_000_000_000) {
  let nowMs = startMs;
  return { nowMs: () => nowMs, advanceSeconds: (seconds: number) => void (nowMs += seconds * 1000) };
}

function makeClient(overrides: Partial<TunaiClientOptions> = {}): TunaiClient {
  return new TunaiClient({ clientId: 'client-1', clientSecret: 'secret', privateKeyPem, oauthBaseUrl: origin, openApiBaseUrl: origin, ...overrides });
}

/** A fetch that records each URL and init and answers 200 with a token or an empty item, without any network. */
function recordingFetch() {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fake: typeof fetch = async (input, init) => {
    const url = String(input);
    calls.push({ url, init });
    const body = isTokenUrl(url) ? tokenBody('fake') : { item: {}, code: 'SUCCESS' };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { calls, fake };
}

function assertVerifies(got: Recorded): void {
  assert.ok(verifiedPlaintext(got, origin, keys.publicKey), `the signature covers the URL received: ${origin}${got.url}`);
}

before(async () => {
  local = await listenLocal(handle);
  origin = local.origin;
});
after(() => local.close());
beforeEach(() => {
  recorded = [];
  tokenPlans = [];
  apiPlans = [];
});
afterEach(() => {
  for (const res of open) res.destroy();
  open = [];
});

describe('request timeout', () => {
  it('a hung API call is aborted after timeoutMs with a RequestTimeoutError (not an RmApiError)', async () => {
    const client = makeClient({ timeoutMs: 150 });
    await client.getAccessToken();
    apiPlans.push({ kind: 'hang' });
    const startedMs = Date.now();
    await assert.rejects(client.merchant.get(), (error: unknown) => {
      assert.ok(error instanceof RequestTimeoutError, `got ${String(error)}`);
      assert.ok(!(error instanceof RmApiError));
      assert.equal(error.code, 'REQUEST_TIMEOUT');
      assert.equal(error.name, 'RequestTimeoutError');
      assert.equal(error.timeoutMs, 150);
      assert.equal(error.method, 'GET');
      assert.equal(error.url, `${origin}/v3/merchant`);
      return true;
    });
    const tookMs = Date.now() - startedMs;
    assert.ok(tookMs >= 140 && tookMs < 2_000, `gave up after ${tookMs} ms`);
    // The client is fine afterwards.
    await client.merchant.get();
  });

  it('headers without the rest of the body also time out', async () => {
    const client = makeClient({ timeoutMs: 150 });
    apiPlans.push({ kind: 'hang-body' });
    await assert.rejects(client.merchant.get(), RequestTimeoutError);
  });

  it('a hung shared token request fails every waiting caller, and the next call asks again', async () => {
    const client = makeClient({ timeoutMs: 150 });
    tokenPlans.push({ kind: 'hang' });
    const results = await Promise.allSettled([client.getAccessToken(), client.merchant.get(), client.user.get()]);
    assert.equal(tokenRequests().length, 1, 'the callers shared one token request');
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof RequestTimeoutError, String(result.reason));
      assert.equal(result.reason.url, `${origin}/v1/token`);
      assert.equal(result.reason.method, 'POST');
    }
    assert.equal(apiRequests().length, 0);
    await client.merchant.get();
    assert.deepEqual(grants(), ['client_credentials', 'client_credentials']);
    assert.equal(bearers()[0], `Bearer access-cc${tokenSerial}`);
  });

  it('a timed-out refresh is not papered over with client_credentials; the next call refreshes again', async () => {
    const clock = makeClock();
    const client = makeClient({ timeoutMs: 150, nowMs: clock.nowMs });
    await client.getAccessToken();
    clock.advanceSeconds(7200);
    tokenPlans.push({ kind: 'hang' });
    await assert.rejects(client.getAccessToken(), RequestTimeoutError);
    await client.getAccessToken();
    assert.deepEqual(grants(), ['client_credentials', 'refresh_token', 'refresh_token']);
  });

  it('per-call timeoutMs overrides the client, and 0 means no limit', async () => {
    const client = makeClient({ timeoutMs: 0 });
    await client.getAccessToken();
    apiPlans.push({ kind: 'hang' });
    await assert.rejects(client.request('GET', '/v3/merchant', { timeoutMs: 100 }), { code: 'REQUEST_TIMEOUT', timeoutMs: 100 });
    const { calls, fake } = recordingFetch();
    await makeClient({ timeoutMs: 0, fetch: fake }).merchant.get();
    assert.equal(calls.length, 2);
    for (const call of calls) assert.equal(call.init?.signal, undefined, `${call.url} runs without a signal`);
  });

  it('every fetch, token and API, carries an abort signal by default', async () => {
    const { calls, fake } = recordingFetch();
    await makeClient({ fetch: fake }).merchant.get();
    assert.deepEqual(
      calls.map((c) => c.url),
      [`${origin}/v1/token`, `${origin}/v3/merchant`],
    );
    for (const call of calls) assert.ok(call.init?.signal instanceof AbortSignal, `${call.url} carries a signal`);
  });

  it('the default limit is 90 s', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let signal: AbortSignal | undefined;
    const hanging: typeof fetch = (_input, init) => {
      signal = init?.signal ?? undefined;
      return new Promise<Response>(() => undefined);
    };
    const client = makeClient({ fetch: hanging });
    const pending = client.request('GET', '/v3/merchant', { accessToken: 'given' });
    const outcome = pending.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await Promise.resolve();
    t.mock.timers.tick(89_999);
    assert.equal(signal?.aborted, false);
    t.mock.timers.tick(1);
    assert.equal(signal?.aborted, true);
    const error = await outcome;
    assert.ok(error instanceof RequestTimeoutError);
    assert.equal(error.timeoutMs, 90_000);
  });

  it('a fetch that ignores the abort signal still cannot hang the caller', async () => {
    const deaf: typeof fetch = () => new Promise<Response>(() => undefined);
    const client = makeClient({ fetch: deaf, timeoutMs: 100 });
    await assert.rejects(client.getAccessToken(), RequestTimeoutError);
  });

  it('refuses a negative, non-finite or too long timeoutMs', () => {
    for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      assert.throws(() => makeClient({ timeoutMs }), TypeError, String(timeoutMs));
    }
    assert.doesNotThrow(() => makeClient({ timeoutMs: 2 ** 31 - 1 }));
  });
});

describe('base URLs as RM documents them', () => {
  it('openApiBaseUrl …/v3 and oauthBaseUrl …/v1 reach /v3/… and /v1/token once, and the signature covers the URL sent', async () => {
    for (const [openApiBaseUrl, oauthBaseUrl] of [
      [`${origin}/v3`, `${origin}/v1`],
      [`${origin}/v3/`, `${origin}/v1//`],
      [origin, `${origin}/`],
    ] as const) {
      recorded = [];
      const client = makeClient({ openApiBaseUrl, oauthBaseUrl });
      await client.payment.transactions({ limit: 5, filter: { status: 'SUCCESS' } });
      await client.tool.generateSignature({} as never);
      assert.equal(tokenRequests()[0]?.url, '/v1/token', oauthBaseUrl);
      const [transactions, tool] = apiRequests();
      assert.ok(transactions && tool);
      assert.match(transactions.url, /^\/v3\/payment\/transactions\?limit=5&filter=/, openApiBaseUrl);
      assert.equal(tool.url, '/tool/signature/generate');
      assertVerifies(transactions);
      assert.equal(client.oauth.authorizeUrl({ redirectUri: 'https://m.example/cb', scopes: ['a'] }).split('?')[0], `${origin}/authorize`);
    }
  });

  it('other path prefixes stay; only one trailing version segment is dropped', async () => {
    const client = makeClient({ openApiBaseUrl: `${origin}/gw/v3`, oauthBaseUrl: `${origin}/auth/v1` });
    await client.merchant.get();
    assert.equal(tokenRequests()[0]?.url, '/auth/v1/token');
    const got = apiRequests()[0];
    assert.equal(got?.url, '/gw/v3/merchant');
    assertVerifies(got as Recorded);

    recorded = [];
    await makeClient({ openApiBaseUrl: `${origin}/v3/v3`, oauthBaseUrl: `${origin}/v1/v1` }).merchant.get();
    assert.equal(tokenRequests()[0]?.url, '/v1/v1/token');
    assert.equal(apiRequests()[0]?.url, '/v3/v3/merchant');
  });

  it('base URLs are trimmed of surrounding white space (a newline read from a file) and the version segment matched in any case', async () => {
    const { calls, fake } = recordingFetch();
    await makeClient({ fetch: fake, openApiBaseUrl: ' https://gw.example/V3\n', oauthBaseUrl: 'https://o.example/v1/ \n' }).merchant.get();
    assert.deepEqual(
      calls.map((c) => c.url),
      ['https://o.example/v1/token', 'https://gw.example/v3/merchant'],
    );
  });

  it('refreshSkewSeconds must be a number of seconds from 0', () => {
    for (const refreshSkewSeconds of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      assert.throws(() => makeClient({ refreshSkewSeconds }), /refreshSkewSeconds must be a number of seconds from 0/);
    }
    assert.doesNotThrow(() => makeClient({ refreshSkewSeconds: 0 }));
  });

  it('a segment that merely ends in v3, or a host named v3, is not touched', async () => {
    const { calls, fake } = recordingFetch();
    await makeClient({ fetch: fake, openApiBaseUrl: 'https://gw.example/apiv3', oauthBaseUrl: 'http://v1' }).merchant.get();
    await makeClient({ fetch: fake, openApiBaseUrl: 'http://v3:8080', oauthBaseUrl: 'https://o.example/xv1' }).merchant.get();
    assert.deepEqual(
      calls.map((c) => c.url),
      ['http://v1/v1/token', 'https://gw.example/apiv3/v3/merchant', 'https://o.example/xv1/v1/token', 'http://v3:8080/v3/merchant'],
    );
  });
});

describe('adopted authorization-code tokens', () => {
  it('an adopted token is used by later calls instead of client_credentials', async () => {
    const client = makeClient();
    tokenPlans.push(reply(200, tokenBody('consent')));
    const token = await client.oauth.authorizationCode('code-1', 'https://m.example/cb');
    client.adoptToken(token);
    await client.merchant.get();
    await client.stores.list();
    assert.deepEqual(grants(), ['authorization_code']);
    assert.deepEqual(bearers(), ['Bearer access-consent', 'Bearer access-consent']);
    assert.equal(await client.getAccessToken(), 'access-consent');
  });

  it('is renewed with its refresh token, and onRenewed hands over each rotated token', async () => {
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs });
    const renewed: { token: TokenResponse; issuedAtMs: number }[] = [];
    client.adoptToken(tokenBody('consent'), { onRenewed: (token, issuedAtMs) => void renewed.push({ token, issuedAtMs }) });
    clock.advanceSeconds(7200 - 60);
    tokenPlans.push(reply(200, tokenBody('consent-2')));
    await Promise.all([client.merchant.get(), client.user.get()]);
    assert.equal(tokenRequests().length, 1, 'concurrent callers share the refresh');
    assert.deepEqual(JSON.parse(tokenRequests()[0]?.body ?? ''), { grantType: 'refresh_token', refreshToken: 'refresh-consent' });
    assert.deepEqual(bearers(), ['Bearer access-consent-2', 'Bearer access-consent-2']);
    assert.deepEqual(renewed, [{ token: tokenBody('consent-2'), issuedAtMs: clock.nowMs() }]);
  });

  it('an onRenewed that throws fails only the call that started the refresh; calls that joined it go ahead with the new token', async () => {
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs });
    client.adoptToken(tokenBody('consent'), {
      onRenewed: () => {
        throw new Error('token store is down');
      },
    });
    clock.advanceSeconds(7200 - 60);
    tokenPlans.push(reply(200, tokenBody('consent-2')));
    const outcomes = await Promise.allSettled([client.merchant.get(), client.user.get(), client.stores.list()]);
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as Error).message : 'ok')),
      ['token store is down', 'ok', 'ok'],
    );
    assert.equal(tokenRequests().length, 1, 'one refresh for all three');
    assert.deepEqual(bearers(), ['Bearer access-consent-2', 'Bearer access-consent-2'], 'the two that joined were sent with the new token');
    await client.merchant.get();
    assert.deepEqual(bearers().at(-1), 'Bearer access-consent-2', 'the new token is kept');
  });

  it('a refused refresh is thrown, never replaced by client_credentials; a spent one is not sent again', async () => {
    for (const status of [400, 401]) {
      recorded = [];
      const clock = makeClock();
      const client = makeClient({ nowMs: clock.nowMs });
      client.adoptToken(tokenBody('consent'));
      clock.advanceSeconds(7200);
      tokenPlans.push(reply(status, { error: { code: 'INVALID_GRANT', message: 'Refresh token was already used or revoked' } }));
      await assert.rejects(client.merchant.get(), { name: 'RmApiError', code: 'INVALID_GRANT', httpStatus: status });
      await assert.rejects(client.merchant.get(), AuthorizationRequiredError);
      assert.deepEqual(grants(), ['refresh_token'], 'the spent refresh token was sent once');
      assert.equal(apiRequests().length, 0);
    }
  });

  it('a refresh refused for the app (INACTIVE_CLIENT), not the token, keeps the token for the next call', async () => {
    recorded = [];
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs });
    client.adoptToken(tokenBody('consent'));
    clock.advanceSeconds(7200);
    const refusal = reply(401, { error: { code: 'INACTIVE_CLIENT', message: 'Client mode is inactive' } });
    tokenPlans.push(refusal, refusal);
    await assert.rejects(client.merchant.get(), { code: 'INACTIVE_CLIENT' });
    await assert.rejects(client.merchant.get(), { code: 'INACTIVE_CLIENT' });
    assert.deepEqual(grants(), ['refresh_token', 'refresh_token']);
  });

  it('with no usable refresh token left, calls throw AuthorizationRequiredError without asking for a token', async () => {
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs });
    client.adoptToken(tokenBody('consent', 100, 200));
    clock.advanceSeconds(500);
    await assert.rejects(client.merchant.get(), (error: unknown) => {
      assert.ok(error instanceof AuthorizationRequiredError);
      assert.equal(error.code, 'AUTHORIZATION_REQUIRED');
      return true;
    });
    const noRefresh = makeClient({ nowMs: clock.nowMs });
    noRefresh.adoptToken({ ...tokenBody('consent', 100), refreshToken: '' });
    clock.advanceSeconds(100);
    await assert.rejects(noRefresh.getAccessToken(), AuthorizationRequiredError);
    assert.equal(recorded.length, 0);
  });

  it('a stored token adopted with its issuedAtMs expires on schedule', async () => {
    const clock = makeClock();
    const client = makeClient({ nowMs: clock.nowMs });
    client.adoptToken(tokenBody('stored'), { issuedAtMs: clock.nowMs() - 7200_000 });
    await client.merchant.get();
    assert.deepEqual(grants(), ['refresh_token']);
    assert.deepEqual(bearers(), [`Bearer access-cc${tokenSerial}`]);
  });

  it('a 401 TOKEN_INVALID for the adopted token leads to its refresh, not to client_credentials, and the call is sent again with it', async () => {
    const client = makeClient();
    client.adoptToken(tokenBody('consent'));
    apiPlans.push(reply(401, { error: { code: 'TOKEN_INVALID', message: 'Invalid token' } }));
    tokenPlans.push(reply(200, tokenBody('consent-2')));
    await client.merchant.get();
    assert.deepEqual(grants(), ['refresh_token']);
    assert.deepEqual(bearers(), ['Bearer access-consent', 'Bearer access-consent-2']);
  });

  it('a client_credentials request still running when a token is adopted does not replace it', async () => {
    const client = makeClient();
    let release: (r: { status: number; body: string }) => void = () => undefined;
    tokenPlans.push({ kind: 'hold', released: new Promise((resolve) => (release = resolve)) });
    const early = client.getAccessToken();
    while (tokenRequests().length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    client.adoptToken(tokenBody('consent'));
    release({ status: 200, body: JSON.stringify(tokenBody('owner')) });
    assert.equal(await early, 'access-owner', 'the caller that asked before the adoption gets its answer');
    await client.merchant.get();
    assert.deepEqual(bearers(), ['Bearer access-consent']);
    assert.deepEqual(grants(), ['client_credentials']);
  });

  it('refuses something that is not a token response', () => {
    assert.throws(() => makeClient().adoptToken({ accessToken: 'x' } as unknown as TokenResponse), TypeError);
  });
});

describe('sandbox helpers', () => {
  it('clock, advanceClock, runClosedLoop and runOutbox hit /sandbox/* with no token and no signature', async () => {
    const client = makeClient();
    const clock = { now: '2026-12-07T00:00:00.000Z', nowMs: 1_796_601_600_000 };
    apiPlans.push(
      reply(200, { item: clock, code: 'SUCCESS' }),
      reply(200, { item: { ...clock, nowMs: clock.nowMs + 90_000 }, code: 'SUCCESS' }),
      reply(200, { item: { processed: 3 }, code: 'SUCCESS' }),
      reply(200, { item: { attempted: 2 }, code: 'SUCCESS' }),
    );
    assert.deepEqual((await client.sandbox.clock()).item, clock);
    assert.equal((await client.sandbox.advanceClock(90)).item.nowMs, clock.nowMs + 90_000);
    assert.equal((await client.sandbox.runClosedLoop()).item.processed, 3);
    assert.equal((await client.sandbox.runOutbox()).item.attempted, 2);
    assert.deepEqual(
      recorded.map((r) => `${r.method} ${r.url} ${r.body}`),
      ['GET /sandbox/clock ', 'POST /sandbox/clock {"advanceSeconds":90}', 'POST /sandbox/closed-loop/run ', 'POST /sandbox/outbox/run '],
    );
    for (const r of recorded) {
      assert.equal(r.headers.authorization, undefined);
      assert.equal(r.headers['x-signature'], undefined);
    }
  });

  it('a refusal (fixed clock, production server) is an RmApiError', async () => {
    apiPlans.push(reply(403, { error: { code: 'NOT_PERMITTED', message: 'Not permitted: this server runs on a fixed clock' } }));
    await assert.rejects(makeClient().sandbox.advanceClock(1), { name: 'RmApiError', code: 'NOT_PERMITTED' });
  });
});

// A fetch of its own (no local server): the refresh's answer is held until a second token has been adopted.
const jsonResponse = (status: number, value: unknown) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

describe('adopted token renewal racing another adoption', () => {
  it('a refresh of adopted token A that answers after token B was adopted still hands A’s rotated token to A’s onRenewed', async () => {
    let nowMs = 1_700_000_000_000;
    const tokenBodies: string[] = [];
    let releaseToken: (token: TokenResponse) => void = () => undefined;
    const tokenAnswer = new Promise<TokenResponse>((resolve) => (releaseToken = resolve));
    const bearers: (string | null)[] = [];
    const fake: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.endsWith('/v1/token')) {
        tokenBodies.push(String(init?.body));
        return jsonResponse(200, await tokenAnswer);
      }
      bearers.push(new Headers(init?.headers).get('authorization'));
      return jsonResponse(200, { item: {}, code: 'SUCCESS' });
    };
    const client = new TunaiClient({
      clientId: 'c',
      clientSecret: 's',
      oauthBaseUrl: 'http://tunai.test',
      openApiBaseUrl: 'http://tunai.test',
      signing: 'never',
      nowMs: () => nowMs,
      fetch: fake,
    });
    const renewedA: TokenResponse[] = [];
    const renewedB: TokenResponse[] = [];
    client.adoptToken(tokenBody('A'), { onRenewed: (token) => void renewedA.push(token) });
    nowMs += 7200_000;
    // A's access token has expired: this call refreshes it with refresh-A, which the server then rotates (spends).
    const call = client.merchant.get();
    while (tokenBodies.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    client.adoptToken(tokenBody('B'), { onRenewed: (token) => void renewedB.push(token) });
    releaseToken(tokenBody('A2'));
    await call;
    assert.deepEqual(JSON.parse(tokenBodies[0] ?? '{}'), { grantType: 'refresh_token', refreshToken: 'refresh-A' }, 'A was refreshed');
    // The client now acts for B, as adoptToken promises.
    await client.merchant.get();
    assert.equal(bearers.at(-1), 'Bearer access-B', 'later calls use the token adopted last');
    assert.equal(renewedB.length, 0, 'B was not renewed');
    // refresh-A is spent at the server; unless A's owner is told of refresh-A2, A's merchant must consent again.
    assert.deepEqual(
      renewedA.map((t) => t.refreshToken),
      ['refresh-A2'],
      'onRenewed of the adoption whose refresh token was used receives the rotated token',
    );
  });
});
