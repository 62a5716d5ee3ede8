// Audit reproductions for @tunai/client over real HTTP: a recording node:http server plays RM (or tunai) and answers as each test plans.
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listenLocal, verifiedPlaintext, type LocalServer, type Recorded } from './local-server.js';
import { RmApiError, TunaiClient, type TunaiClientOptions } from '../src/index.js';

interface Canned {
  status: number;
  body: string;
  contentType?: string;
}

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

let recorded: Recorded[] = [];
let tokenQueue: Canned[] = [];
let apiQueue: Canned[] = [];
let tokenSerial = 0;
let local: LocalServer;
let origin = '';

const json = (status: number, value: unknown): Canned => ({ status, body: JSON.stringify(value) });
const tokenBody = (n: number, expiresIn = 7200) => ({
  accessToken: `access-${n}`,
  tokenType: 'Bearer',
  expiresIn,
  refreshToken: `refresh-${n}`,
  refreshTokenExpiresIn: 2_592_000,
});

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    recorded.push(entry);
    let reply: Canned;
    if (entry.url.endsWith('/v1/token')) reply = tokenQueue.shift() ?? json(200, tokenBody(++tokenSerial));
    else reply = apiQueue.shift() ?? json(200, { item: {}, code: 'SUCCESS' });
    res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' });
    res.end(reply.body);
  });
}

const apiRequests = () => recorded.filter((r) => !r.url.endsWith('/v1/token'));
const tokenRequests = () => recorded.filter((r) => r.url.endsWith('/v1/token'));

function makeClient(overrides: Partial<TunaiClientOptions> = {}): TunaiClient {
  return new TunaiClient({ clientId: 'client-1', clientSecret: 'secret', privateKeyPem, oauthBaseUrl: origin, openApiBaseUrl: origin, ...overrides });
}

before(async () => {
  local = await listenLocal(handle);
  origin = local.origin;
});
after(() => local.close());
beforeEach(() => {
  recorded = [];
  tokenQueue = [];
  apiQueue = [];
});

describe('responses that are not RM envelopes', () => {
  it('a 200 whose body is not JSON (a proxy or captive page) is an RmApiError, not a string typed as the item', async () => {
    apiQueue.push({ status: 200, body: '<html>maintenance</html>', contentType: 'text/html' });
    const client = makeClient();
    await assert.rejects(client.merchant.get(), (error: unknown) => {
      assert.ok(error instanceof RmApiError, `got ${typeof error}: ${String(error)}`);
      assert.equal(error.httpStatus, 200);
      assert.equal(error.body, '<html>maintenance</html>');
      return true;
    });
  });

  it('a 200 whose JSON is not an object (an array, a number) is an RmApiError too', async () => {
    apiQueue.push(json(200, [1, 2]));
    await assert.rejects(makeClient().merchant.get(), RmApiError);
  });
});

describe('token cache after the server refuses the token', () => {
  it('a 401 TOKEN_INVALID or TOKEN_EXPIRED for the cached token: a new token is fetched and the call sent again, once, signed afresh', async () => {
    for (const code of ['TOKEN_INVALID', 'TOKEN_EXPIRED']) {
      recorded = [];
      const client = makeClient();
      await client.merchant.get();
      assert.equal(tokenRequests().length, 1);
      apiQueue.push(json(401, { error: { code, message: 'refused' } }));
      const answer = await client.merchant.get();
      assert.equal(answer.code, 'SUCCESS', `${code}: the call succeeds on its second sending`);
      assert.equal(tokenRequests().length, 2, `${code}: a new token was requested after the refusal`);
      const [first, refused, resent] = apiRequests();
      assert.equal(refused?.headers.authorization, first?.headers.authorization);
      assert.notEqual(resent?.headers.authorization, refused?.headers.authorization, `${code}: the new token is used`);
      assert.notEqual(resent?.headers['x-nonce-str'], refused?.headers['x-nonce-str'], `${code}: signed afresh`);
      assert.equal(apiRequests().length, 3);
    }
  });

  it('calls refused together are all sent again, sharing one new token', async () => {
    const client = makeClient();
    await client.merchant.get();
    for (let i = 0; i < 3; i++) apiQueue.push(json(401, { error: { code: 'TOKEN_EXPIRED', message: 'Token expired' } }));
    const answers = await Promise.all([client.merchant.get(), client.merchant.get(), client.merchant.get()]);
    assert.deepEqual(answers.map((a) => a.code), ['SUCCESS', 'SUCCESS', 'SUCCESS']);
    assert.equal(tokenRequests().length, 2, 'one new token for the three');
    assert.equal(apiRequests().length, 7, 'the first call, three refused and three resent');
  });

  it('a second refusal in a row is the caller\'s: no loop', async () => {
    const client = makeClient();
    await client.merchant.get();
    apiQueue.push(json(401, { error: { code: 'TOKEN_INVALID', message: 'Invalid token' } }));
    apiQueue.push(json(401, { error: { code: 'TOKEN_INVALID', message: 'Invalid token' } }));
    await assert.rejects(client.merchant.get(), { code: 'TOKEN_INVALID' });
    assert.equal(apiRequests().length, 3, 'the first call, the refused one and its one resend');
    assert.equal(tokenRequests().length, 2);
  });

  it('other 401s (a bad signature) are not sent again', async () => {
    const client = makeClient();
    apiQueue.push(json(401, { error: { code: 'INVALID_REQUEST_SIGNATURE', message: 'bad' } }));
    await assert.rejects(client.merchant.get(), { code: 'INVALID_REQUEST_SIGNATURE' });
    assert.equal(apiRequests().length, 1);
  });

  it('a 401 for a token the caller passed explicitly leaves the cache alone', async () => {
    const client = makeClient();
    await client.merchant.get();
    apiQueue.push(json(401, { error: { code: 'TOKEN_INVALID', message: 'Invalid token' } }));
    await assert.rejects(client.request('GET', '/v3/merchant', { accessToken: 'someone-elses' }), { code: 'TOKEN_INVALID' });
    await client.merchant.get();
    assert.equal(tokenRequests().length, 1);
  });
});

describe('short token lifetimes', () => {
  it('a token that lives no longer than refreshSkewSeconds (tunai allows 60 s) is still reused for a while, not renewed on every call', async () => {
    let nowMs = 1_700_000_000_000;
    const client = makeClient({ nowMs: () => nowMs });
    tokenQueue.push(json(200, { ...tokenBody(901, 60), refreshTokenExpiresIn: 600 }));
    await client.merchant.get();
    nowMs += 1_000;
    await client.merchant.get();
    nowMs += 1_000;
    await client.merchant.get();
    assert.equal(tokenRequests().length, 1, 'three calls within two seconds of a 60 s token share it');
    assert.deepEqual(new Set(apiRequests().map((r) => r.headers.authorization)), new Set(['Bearer access-901']));
    // Renewed before it runs out, with the refresh token while that is still good.
    nowMs += 40_000;
    await client.merchant.get();
    assert.equal(tokenRequests().length, 2);
    assert.match(tokenRequests()[1]?.body ?? '', /"grantType":"refresh_token"/);
  });
});

describe('endpoint coverage', () => {
  it('the /admin/webhooks endpoints tunai serves have typed methods (list, get, resend) on the right paths', async () => {
    const client = makeClient() as unknown as { webhooks?: Record<string, (...args: unknown[]) => Promise<unknown>> };
    assert.equal(typeof client.webhooks?.['list'], 'function', 'client.webhooks.list');
    assert.equal(typeof client.webhooks?.['get'], 'function', 'client.webhooks.get');
    assert.equal(typeof client.webhooks?.['resend'], 'function', 'client.webhooks.resend');
    apiQueue.push(json(200, { items: [], code: 'SUCCESS', meta: { count: 0 } }));
    await client.webhooks?.['list']?.({ status: 'FAILED', limit: 2, cursor: 'aWQ6MQ' });
    await client.webhooks?.['get']?.('1234567890123456789');
    await client.webhooks?.['resend']?.('1234567890123456789');
    assert.deepEqual(
      apiRequests().map((r) => `${r.method} ${r.url}`),
      [
        'GET /admin/webhooks?limit=2&cursor=aWQ6MQ&status=FAILED',
        'GET /admin/webhooks/1234567890123456789',
        'POST /admin/webhooks/1234567890123456789/resend',
      ],
    );
    for (const r of apiRequests()) assert.match(String(r.headers['x-signature']), /^sha256 /);
  });
});

describe('base URLs and what the server verifies', () => {
  it('a base URL with a path prefix and trailing slashes: the request goes under the prefix and the signature verifies against the URL received', async () => {
    const client = makeClient({ openApiBaseUrl: `${origin}/gw/rm//`, oauthBaseUrl: `${origin}/auth/` });
    await client.payment.transactions({ filter: { status: "it's <SUCCESS> & *" }, limit: 5 });
    assert.equal(tokenRequests()[0]?.url, '/auth/v1/token');
    const got = apiRequests()[0];
    assert.ok(got);
    assert.match(got.url, /^\/gw\/rm\/v3\/payment\/transactions\?/);
    const matched = verifiedPlaintext(got, origin, keys.publicKey);
    assert.ok(matched, 'the server-side verifier finds the plaintext');
  });
});
