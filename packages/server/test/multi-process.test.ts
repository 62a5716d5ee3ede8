// Two `tunai serve` processes on one database: a nonce is spent once for both, and a change either side (or any
// other process, such as `tunai app|merchant deactivate`) commits is seen at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlaintext, generateNonce, parsePrivateKey, signPlaintext } from '@tunai/client/signature';
import type { Credentials } from '../src/cli/main.js';
import { openDatabase } from '../src/store/database.js';
import { killChildren, startServe, tunai, type ServerProcess } from './child-server.js';
import { forEachDialect, freshDatabase, type FreshDatabase } from './harness.js';

/** Both processes sit behind one public URL, as behind a load balancer, so one signature is valid at either. */
const publicUrl = 'http://gateway.test';

forEachDialect('two server processes on one database', (dialect) => {
  let database: FreshDatabase;
  let credentials: Credentials;
  let first: ServerProcess;
  let second: ServerProcess;
  let accessToken: string;
  let db: ReturnType<typeof openDatabase>['db'];

  before(async () => {
    database = await freshDatabase(dialect);
    const init = await tunai(['init', ...database.configArgs, '--json']);
    assert.equal(init.code, 0, init.stderr);
    credentials = JSON.parse(init.stdout) as Credentials;
    const env = { TUNAI_PUBLIC_URL: publicUrl };
    [first, second] = await Promise.all([startServe(database, { env }), startServe(database, { env })]);
    const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64');
    const token = await fetch(`${first.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grantType: 'client_credentials' }),
    });
    assert.equal(token.status, 200);
    accessToken = ((await token.json()) as { accessToken: string }).accessToken;
    db = openDatabase(database.target).db;
  });
  after(async () => {
    await killChildren();
    await db?.destroy();
    await database?.drop();
  });

  /** RM's headers for GET `path`, signed in the Go form for the shared public URL. */
  function signedGet(path: string, nonceStr = generateNonce()): Record<string, string> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const plaintext = buildPlaintext({ method: 'get', nonceStr, requestUrl: `${publicUrl}${path}`, signType: 'sha256', timestamp });
    return {
      authorization: `Bearer ${accessToken}`,
      'x-signature': `sha256 ${signPlaintext(plaintext, parsePrivateKey(credentials.privateKey))}`,
      'x-nonce-str': nonceStr,
      'x-timestamp': timestamp,
    };
  }

  async function get(server: ServerProcess, path: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server.url}${path}`, { headers });
    return { status: response.status, body: await response.json() };
  }

  /** A freshly signed GET /v3/merchant on each process in turn; returns both answers. */
  async function merchantOnBoth(): Promise<{ status: number; body: any }[]> {
    const answers = [];
    for (const server of [first, second]) answers.push(await get(server, '/v3/merchant', signedGet('/v3/merchant')));
    return answers;
  }

  async function assertBothServe(): Promise<void> {
    for (const answer of await merchantOnBoth()) assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }

  async function assertBothRefuse(code: string): Promise<void> {
    for (const answer of await merchantOnBoth()) assert.deepEqual([answer.status, answer.body.error?.code], [401, code]);
  }

  test('a nonce spent on one process is refused as SPAM by the other', async () => {
    const headers = signedGet('/v3/merchant');
    const firstTry = await get(first, '/v3/merchant', headers);
    assert.equal(firstTry.status, 200, JSON.stringify(firstTry.body));
    assert.equal(firstTry.body.item.id, credentials.merchantId);
    const replay = await get(second, '/v3/merchant', headers);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, 'SPAM');
  });

  test('30 copies of one signed request raced across both processes: exactly one 200', async () => {
    const headers = signedGet('/v3/user');
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => get(i % 2 === 0 ? first : second, '/v3/user', headers)));
    assert.equal(responses.filter((r) => r.status === 200).length, 1);
    for (const r of responses.filter((x) => x.status !== 200)) assert.deepEqual([r.status, r.body.error.code], [401, 'SPAM']);
  });

  test('distinct nonces raced across both processes all succeed', async () => {
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => get(i % 2 === 0 ? first : second, '/v3/merchant', signedGet('/v3/merchant'))));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
  });

  /** POST /v1/token (client credentials) on `server`: the status and the error code, if any. */
  async function tokenOn(server: ServerProcess): Promise<[number, string | undefined]> {
    const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64');
    const response = await fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grantType: 'client_credentials' }),
    });
    const body = (await response.json()) as { error?: { code: string } };
    return [response.status, body.error?.code];
  }

  test('an app deactivated by `tunai app deactivate` is refused by both at once, and works again once activated', async () => {
    // Warm both processes' caches first, so the refusal proves the change was noticed, not merely read fresh.
    await assertBothServe();
    const off = await tunai(['app', 'deactivate', credentials.clientId, ...database.configArgs, '--json']);
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(JSON.parse(off.stdout), { clientId: credentials.clientId, isActive: false });
    try {
      await assertBothRefuse('TOKEN_INVALID');
      assert.deepEqual(await tokenOn(second), [401, 'INACTIVE_CLIENT']);
      const stored = await db.selectFrom('client_apps').select('is_active').where('client_id', '=', credentials.clientId).executeTakeFirstOrThrow();
      assert.equal(Number(stored.is_active), 0);
    } finally {
      const on = await tunai(['app', 'activate', credentials.clientId, ...database.configArgs]);
      assert.equal(on.code, 0, on.stderr);
      assert.equal(on.stdout, `app ${credentials.clientId} is now active\n`);
    }
    await assertBothServe();
    assert.deepEqual(await tokenOn(first), [200, undefined]);
  });

  test('a merchant deactivated by `tunai merchant deactivate`: both refuse its tokens and issue none, until it is activated; its status is kept', async () => {
    await assertBothServe();
    const statusBefore = (await db.selectFrom('merchants').select('status').where('id', '=', credentials.merchantId).executeTakeFirstOrThrow()).status;
    assert.equal(statusBefore, 'VERIFIED');
    const off = await tunai(['merchant', 'deactivate', credentials.merchantId, ...database.configArgs, '--json']);
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(JSON.parse(off.stdout), { merchantId: credentials.merchantId, isActive: false });
    try {
      for (const answer of await merchantOnBoth()) assert.deepEqual([answer.status, answer.body.error?.code], [403, 'MERCHANT_INACTIVE']);
      assert.deepEqual(await tokenOn(first), [403, 'MERCHANT_INACTIVE']);
      assert.deepEqual(await tokenOn(second), [403, 'MERCHANT_INACTIVE']);
      const stored = await db.selectFrom('merchants').select(['is_active', 'status']).where('id', '=', credentials.merchantId).executeTakeFirstOrThrow();
      // isActive is the switch; status is the merchant's verification, which the switch does not touch.
      assert.deepEqual([Number(stored.is_active), stored.status], [0, 'VERIFIED']);
    } finally {
      const on = await tunai(['merchant', 'activate', credentials.merchantId, ...database.configArgs]);
      assert.equal(on.code, 0, on.stderr);
    }
    const served = await merchantOnBoth();
    for (const answer of served) assert.deepEqual([answer.status, answer.body.item?.isActive, answer.body.item?.status], [200, true, 'VERIFIED']);
    assert.deepEqual(await tokenOn(second), [200, undefined]);
  });

  test('activating an unknown merchant or app is refused with the catalog code and exit 1', async () => {
    const merchant = await tunai(['merchant', 'activate', '9999999999999999999', ...database.configArgs]);
    assert.deepEqual([merchant.code, merchant.stderr.split(':')[0]], [1, 'MERCHANT_NOT_FOUND']);
    const app = await tunai(['app', 'deactivate', '9999999999999999999', ...database.configArgs]);
    assert.deepEqual([app.code, app.stderr.split(':')[0]], [1, 'CLIENT_NOT_FOUND']);
    const missing = await tunai(['merchant', 'deactivate', ...database.configArgs]);
    assert.equal(missing.code, 2);
  });

  test('a merchant renamed by another process is served renamed by both on the next request', async () => {
    await assertBothServe();
    const companyName = `Renamed ${generateNonce().slice(0, 8)}`;
    await db.updateTable('merchants').set({ company_name: companyName }).where('id', '=', credentials.merchantId).execute();
    for (const read of await merchantOnBoth()) assert.deepEqual([read.status, read.body.item?.companyName], [200, companyName]);
  });

  test('a public key replaced by another process: signatures by the old key are refused at once', async () => {
    await assertBothServe();
    const { public_key_pem: originalPem } = await db
      .selectFrom('client_apps')
      .select('public_key_pem')
      .where('client_id', '=', credentials.clientId)
      .executeTakeFirstOrThrow();
    // Any other valid RSA key: the server's own public key will do, since nobody signs with its private half here.
    await db.updateTable('client_apps').set({ public_key_pem: credentials.serverPublicKey }).where('client_id', '=', credentials.clientId).execute();
    try {
      await assertBothRefuse('INVALID_REQUEST_SIGNATURE');
    } finally {
      await db.updateTable('client_apps').set({ public_key_pem: originalPem }).where('client_id', '=', credentials.clientId).execute();
    }
    await assertBothServe();
  });
});
