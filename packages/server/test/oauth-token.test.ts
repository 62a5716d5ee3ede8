// POST /v1/token (client credentials, refresh rotation, errors), access-token checks on /v3, hashed storage and the client's token cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import type { TokenResponse } from '@tunai/client/contract';
import { createDeveloper, forEachDialect, startTestServer, testDatabaseUrl, type Developer, type TestServer } from './harness.js';

interface TokenCall {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  rawText: string;
}

function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64')}`;
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** POSTs /v1/token with exactly the given header and body text (null authorization sends none). */
async function postToken(
  server: TestServer,
  options: { authorization: string | null; body: string; contentType?: string },
): Promise<TokenCall> {
  const headers: Record<string, string> = { 'Content-Type': options.contentType ?? 'application/json' };
  if (options.authorization !== null) headers['Authorization'] = options.authorization;
  const response = await fetch(`${server.url}/v1/token`, { method: 'POST', headers, body: options.body });
  const rawText = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(rawText) as Record<string, unknown>;
  } catch {
    assert.fail(`token endpoint answered non-JSON: ${rawText}`);
  }
  return { status: response.status, headers: response.headers, body, rawText };
}

function grant(server: TestServer, dev: Developer, body: Record<string, unknown>): Promise<TokenCall> {
  return postToken(server, { authorization: basic(dev.clientId, dev.clientSecret), body: JSON.stringify(body) });
}

async function clientCredentials(server: TestServer, dev: Developer): Promise<TokenResponse> {
  const res = await grant(server, dev, { grantType: 'client_credentials' });
  assert.equal(res.status, 200, res.rawText);
  return res.body as unknown as TokenResponse;
}

async function refresh(server: TestServer, dev: Developer, refreshToken: string): Promise<TokenCall> {
  return grant(server, dev, { grantType: 'refresh_token', refreshToken });
}

function assertTokenError(res: TokenCall, status: number, code: string): void {
  assert.equal(res.status, status, res.rawText);
  const error = res.body['error'] as Record<string, unknown> | undefined;
  assert.ok(error, `expected an error envelope, got ${res.rawText}`);
  assert.equal(error['code'], code, res.rawText);
  assert.equal(typeof error['message'], 'string');
  assert.equal(res.body['accessToken'], undefined);
  assert.equal(res.body['refreshToken'], undefined);
}

function assertTokenShape(body: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(body).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'refreshTokenExpiresIn', 'tokenType']);
  assert.equal(typeof body['accessToken'], 'string');
  assert.equal(typeof body['refreshToken'], 'string');
  assert.equal(body['tokenType'], 'Bearer');
  assert.ok(Number.isInteger(body['expiresIn']), 'expiresIn must be a JSON integer');
  assert.ok(Number.isInteger(body['refreshTokenExpiresIn']), 'refreshTokenExpiresIn must be a JSON integer');
}

function jwtPayload(token: string): Record<string, unknown> {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'access token is a three-part JWT');
  return JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Calls a /v3 GET with an explicit token (signed by the app's key) and returns status and error code. */
async function callWith(dev: Developer, path: string, accessToken: string | null): Promise<{ status: number; code: unknown; body: unknown }> {
  const res = await dev.client.send('GET', path, { accessToken });
  const body = res.body as { code?: unknown; error?: { code?: unknown } };
  return { status: res.status, code: res.status === 200 ? body.code : body.error?.code, body: res.body };
}

/** Every stored row of the credential tables as text, read beneath the storage layer (driver or file bytes). */
async function storedText(server: TestServer): Promise<string> {
  const target = server.database.target;
  if (target.kind === 'sqlite') {
    return [target.filePath, `${target.filePath}-wal`]
      .filter((path) => existsSync(path))
      .map((path) => readFileSync(path).toString('latin1'))
      .join('\n');
  }
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    const schema = target.schema as string;
    const { rows } = await client.query<{ row: string }>(
      `select t::text as row from ${schema}.refresh_tokens t
       union all select t::text from ${schema}.client_apps t
       union all select t::text from ${schema}.authorization_codes t`,
    );
    return rows.map((r) => r.row).join('\n');
  } finally {
    await client.end();
  }
}

forEachDialect('POST /v1/token', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Token Test Sdn Bhd' });
  });
  after(() => server.close());

  describe('client_credentials', () => {
    test('returns exactly the five fields with integer lifetimes, Bearer type and the 7200 s default', async () => {
      const res = await grant(server, dev, { grantType: 'client_credentials' });
      assert.equal(res.status, 200, res.rawText);
      assertTokenShape(res.body);
      assert.equal(res.body['expiresIn'], 7200);
      assert.equal(res.body['refreshTokenExpiresIn'], 2_592_000);
      // Numbers on the wire, not strings (Go/Kotlin/PHP do arithmetic on them).
      assert.match(res.rawText, /"expiresIn":7200[,}]/);
      assert.match(res.rawText, /"refreshTokenExpiresIn":2592000[,}]/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const claims = jwtPayload(res.body['accessToken'] as string);
      assert.equal(claims['cid'], dev.clientId);
      assert.equal(claims['mid'], dev.merchant.merchant.id);
      assert.equal(claims['uid'], dev.merchant.user.id);
      assert.equal((claims['exp'] as number) - (claims['iat'] as number), 7200);
    });

    test('each grant issues a distinct access and refresh token', async () => {
      const a = await clientCredentials(server, dev);
      const b = await clientCredentials(server, dev);
      assert.notEqual(a.accessToken, b.accessToken);
      assert.notEqual(a.refreshToken, b.refreshToken);
    });

    test('the access token works on GET /v3/merchant', async () => {
      const token = await clientCredentials(server, dev);
      const res = await callWith(dev, '/v3/merchant', token.accessToken);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.code, 'SUCCESS');
      assert.equal((res.body as { item: { id: string } }).item.id, dev.merchant.merchant.id);
    });

    test('accepts the Java SDK form: "Content-Type: application/json;" with pretty-printed JSON', async () => {
      const res = await postToken(server, {
        authorization: basic(dev.clientId, dev.clientSecret),
        contentType: 'application/json;',
        body: '{\n  "grantType" : "client_credentials"\n}',
      });
      assert.equal(res.status, 200, res.rawText);
      assertTokenShape(res.body);
      assert.equal((await callWith(dev, '/v3/merchant', res.body['accessToken'] as string)).status, 200);
    });

    test('accepts "application/json; charset=utf-8"', async () => {
      const res = await postToken(server, {
        authorization: basic(dev.clientId, dev.clientSecret),
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify({ grantType: 'client_credentials' }),
      });
      assert.equal(res.status, 200, res.rawText);
      assertTokenShape(res.body);
    });
  });

  describe('client authentication', () => {
    const body = JSON.stringify({ grantType: 'client_credentials' });

    test('wrong secret → 401 INVALID_CLIENT', async () => {
      const res = await postToken(server, { authorization: basic(dev.clientId, `${dev.clientSecret}x`), body });
      assertTokenError(res, 401, 'INVALID_CLIENT');
    });

    test('the secret is compared exactly (a prefix or another app’s secret is refused)', async () => {
      const other = await createDeveloper(server);
      assertTokenError(await postToken(server, { authorization: basic(dev.clientId, dev.clientSecret.slice(0, -1)), body }), 401, 'INVALID_CLIENT');
      assertTokenError(await postToken(server, { authorization: basic(dev.clientId, other.clientSecret), body }), 401, 'INVALID_CLIENT');
      assertTokenError(await postToken(server, { authorization: basic(dev.clientId, ''), body }), 401, 'INVALID_CLIENT');
    });

    test('unknown client → 401 INVALID_CLIENT', async () => {
      const res = await postToken(server, { authorization: basic('1234567890123456789', dev.clientSecret), body });
      assertTokenError(res, 401, 'INVALID_CLIENT');
    });

    test('missing Authorization header → 401 INVALID_CLIENT', async () => {
      assertTokenError(await postToken(server, { authorization: null, body }), 401, 'INVALID_CLIENT');
    });

    test('malformed Basic headers → 401 INVALID_CLIENT', async () => {
      const credentials = Buffer.from(`${dev.clientId}:${dev.clientSecret}`).toString('base64');
      const malformed = [
        'Basic',
        'Basic ',
        'Basic !!!not-base64!!!',
        `Bearer ${credentials}`,
        credentials,
        `Basic ${Buffer.from(`${dev.clientId}${dev.clientSecret}`).toString('base64')}`, // no colon
        `Basic ${Buffer.from(`:${dev.clientSecret}`).toString('base64')}`, // empty client id
        `Basic ${credentials} extra`,
      ];
      for (const authorization of malformed) {
        const res = await postToken(server, { authorization, body });
        assert.equal(res.status, 401, `${authorization} → ${res.rawText}`);
        assertTokenError(res, 401, 'INVALID_CLIENT');
      }
    });
  });

  describe('request errors', () => {
    test('unsupported grantType → 400 UNSUPPORTED_GRANT_TYPE', async () => {
      for (const grantType of ['password', 'implicit', 'CLIENT_CREDENTIALS', '']) {
        const res = await grant(server, dev, { grantType });
        assertTokenError(res, 400, 'UNSUPPORTED_GRANT_TYPE');
      }
    });

    test('missing or non-string grantType → 400 INVALID_REQUEST (the OAuth table\'s InvalidRequest)', async () => {
      assertTokenError(await grant(server, dev, {}), 400, 'INVALID_REQUEST');
      assertTokenError(await grant(server, dev, { grant_type: 'client_credentials' }), 400, 'INVALID_REQUEST');
      assertTokenError(await grant(server, dev, { grantType: 1 }), 400, 'INVALID_REQUEST');
      assertTokenError(await grant(server, dev, { grantType: null }), 400, 'INVALID_REQUEST');
    });

    test('no body at all → 400 INVALID_REQUEST', async () => {
      const res = await postToken(server, { authorization: basic(dev.clientId, dev.clientSecret), body: '' });
      assertTokenError(res, 400, 'INVALID_REQUEST');
    });

    test('malformed JSON → 400 INVALID_REQUEST', async () => {
      for (const body of ['{"grantType":', '{grantType: "client_credentials"}', 'grantType=client_credentials']) {
        const res = await postToken(server, { authorization: basic(dev.clientId, dev.clientSecret), body });
        assertTokenError(res, 400, 'INVALID_REQUEST');
      }
    });

    test('refresh_token grant without refreshToken → 400 INVALID_REQUEST', async () => {
      assertTokenError(await grant(server, dev, { grantType: 'refresh_token' }), 400, 'INVALID_REQUEST');
    });

    test('unknown refresh token → 400 INVALID_GRANT', async () => {
      assertTokenError(await refresh(server, dev, 'not-a-real-refresh-token'), 400, 'INVALID_GRANT');
    });
  });

  describe('refresh_token rotation', () => {
    test('a refresh issues a new pair; the new refresh token works once; the old one is refused INVALID_GRANT', async () => {
      const first = await clientCredentials(server, dev);
      const r1 = await refresh(server, dev, first.refreshToken);
      assert.equal(r1.status, 200, r1.rawText);
      assertTokenShape(r1.body);
      assert.notEqual(r1.body['refreshToken'], first.refreshToken);
      assert.notEqual(r1.body['accessToken'], first.accessToken);
      assert.equal((await callWith(dev, '/v3/merchant', r1.body['accessToken'] as string)).status, 200);

      const second = r1.body['refreshToken'] as string;
      const r2 = await refresh(server, dev, second);
      assert.equal(r2.status, 200, r2.rawText);
      assertTokenShape(r2.body);
      assert.equal((await callWith(dev, '/v3/merchant', r2.body['accessToken'] as string)).status, 200);

      assertTokenError(await refresh(server, dev, second), 400, 'INVALID_GRANT');
      assertTokenError(await refresh(server, dev, first.refreshToken), 400, 'INVALID_GRANT');
    });

    test('re-presenting a rotated token revokes the family: the newest token is refused and stored revoked', async () => {
      const first = await clientCredentials(server, dev);
      const unrelated = await clientCredentials(server, dev);
      const r1 = await refresh(server, dev, first.refreshToken);
      assert.equal(r1.status, 200, r1.rawText);
      const newest = r1.body['refreshToken'] as string;

      // The rotated token comes back (it leaked): refused, and the whole family is revoked.
      assertTokenError(await refresh(server, dev, first.refreshToken), 400, 'INVALID_GRANT');
      assertTokenError(await refresh(server, dev, newest), 400, 'INVALID_GRANT');

      const now = server.clock.nowMs();
      const stored = await server.running.storage.refreshTokens.consume(sha256Hex(newest), dev.clientId, now);
      assert.equal(stored.kind, 'already-used');
      assert.notEqual(stored.record.revokedAtMs, null, 'newest token of the family is stored revoked');
      assert.equal(stored.record.usedAtMs, null, 'the newest token was never spent, only revoked');

      // Another family of the same app is untouched.
      const other = await refresh(server, dev, unrelated.refreshToken);
      assert.equal(other.status, 200, other.rawText);
    });

    test('a refresh token presented by another app → 400 INVALID_GRANT and no token', async () => {
      const other = await createDeveloper(server, { companyName: 'Someone Else' });
      const mine = await clientCredentials(server, dev);
      const res = await refresh(server, other, mine.refreshToken);
      assertTokenError(res, 400, 'INVALID_GRANT');
      // Another app's attempt does not spend it: the owner still refreshes once.
      const owner = await refresh(server, dev, mine.refreshToken);
      assert.equal(owner.status, 200, owner.rawText);
    });

    test('the refreshed access token keeps the original scopes', async () => {
      const limited = await createDeveloper(server, { scopes: ['get_merchant_profile', 'manage_store'] });
      const first = await clientCredentials(server, limited);
      const res = await refresh(server, limited, first.refreshToken);
      assert.equal(res.status, 200, res.rawText);
      const accessToken = res.body['accessToken'] as string;
      assert.deepEqual(jwtPayload(accessToken)['scp'], jwtPayload(first.accessToken)['scp']);
      assert.deepEqual([...(jwtPayload(accessToken)['scp'] as string[])].sort(), ['get_merchant_profile', 'manage_store']);
      assert.equal((await callWith(limited, '/v3/merchant', accessToken)).status, 200);
      assert.equal((await callWith(limited, '/v3/stores', accessToken)).status, 200);
      const denied = await callWith(limited, '/v3/user', accessToken);
      assert.equal(denied.status, 403);
      assert.equal(denied.code, 'CLIENT_NO_PERMISSION');
    });

    test('20 concurrent refreshes of the same token: exactly one succeeds, the rest get INVALID_GRANT', async () => {
      const first = await clientCredentials(server, dev);
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(server, dev, first.refreshToken)));
      const winners = results.filter((r) => r.status === 200);
      assert.equal(winners.length, 1, results.map((r) => `${r.status} ${r.rawText.slice(0, 80)}`).join('\n'));
      assertTokenShape((winners[0] as TokenCall).body);
      for (const loser of results.filter((r) => r.status !== 200)) assertTokenError(loser, 400, 'INVALID_GRANT');
    });

    test('concurrent re-use still revokes the family: the race winner’s new refresh token is refused too', async () => {
      // The 19 losers re-present a spent token, which revokes its family; that must include the winner's
      // successor however the requests interleave. Several rounds, since a lost race shows only sometimes.
      for (let round = 0; round < 8; round++) {
        const first = await clientCredentials(server, dev);
        const results = await Promise.all(Array.from({ length: 20 }, () => refresh(server, dev, first.refreshToken)));
        const winner = results.find((r) => r.status === 200);
        assert.ok(winner, 'one refresh wins');
        const successor = winner.body['refreshToken'] as string;
        const res = await refresh(server, dev, successor);
        assertTokenError(res, 400, 'INVALID_GRANT');
      }
    });
  });

  describe('access tokens on /v3', () => {
    test('missing Authorization → 401 TOKEN_INVALID', async () => {
      const res = await callWith(dev, '/v3/merchant', null);
      assert.equal(res.status, 401);
      assert.equal(res.code, 'TOKEN_INVALID');
    });

    test('non-Bearer or garbage Authorization → 401 TOKEN_INVALID', async () => {
      for (const authorization of ['Bearer', 'Bearer not.a.jwt', `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer abc def']) {
        const res = await dev.client.send('GET', '/v3/merchant', { accessToken: null, headers: { Authorization: authorization } });
        assert.equal(res.status, 401, `${authorization}: ${res.rawText}`);
        assert.equal((res.body as { error: { code: string } }).error.code, 'TOKEN_INVALID', authorization);
      }
    });

    test('the access token is an RS256 JWS over its first two parts, verifying under the server public key', async () => {
      const { accessToken } = await clientCredentials(server, dev);
      const [header, payload, signature] = accessToken.split('.') as [string, string, string];
      assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), {
        alg: 'RS256',
        kid: server.running.serverKeys.keyId,
        typ: 'JWT',
      });
      const serverPublicKey = createPublicKey(server.running.serverKeys.publicKeyPem);
      assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), serverPublicKey, Buffer.from(signature, 'base64url')));
      // Two tokens never share a signature: each carries its own jti.
      const again = await clientCredentials(server, dev);
      assert.notEqual(again.accessToken.split('.')[2], signature);
      assert.notEqual(jwtPayload(again.accessToken)['jti'], jwtPayload(accessToken)['jti']);
    });

    test('a token with a flipped signature character → 401 TOKEN_INVALID', async () => {
      const { accessToken } = await clientCredentials(server, dev);
      const [header, payload, signature] = accessToken.split('.') as [string, string, string];
      const i = Math.floor(signature.length / 2);
      const flipped = `${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`;
      const res = await callWith(dev, '/v3/merchant', `${header}.${payload}.${flipped}`);
      assert.equal(res.status, 401);
      assert.equal(res.code, 'TOKEN_INVALID');
      // The untouched token still works, so the refusal is the tampering.
      assert.equal((await callWith(dev, '/v3/merchant', accessToken)).status, 200);
    });

    test('a token with an altered payload (extra scope, other merchant) → 401 TOKEN_INVALID', async () => {
      const limited = await createDeveloper(server, { scopes: ['manage_store'] });
      const { accessToken } = await clientCredentials(server, limited);
      const [header, payload, signature] = accessToken.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      const widened = Buffer.from(JSON.stringify({ ...claims, scp: ['manage_store', 'get_merchant_profile'] })).toString('base64url');
      const res = await callWith(limited, '/v3/merchant', `${header}.${widened}.${signature}`);
      assert.equal(res.status, 401);
      assert.equal(res.code, 'TOKEN_INVALID');
      const moved = Buffer.from(JSON.stringify({ ...claims, mid: dev.merchant.merchant.id })).toString('base64url');
      const res2 = await callWith(limited, '/v3/stores', `${header}.${moved}.${signature}`);
      assert.equal(res2.status, 401);
      assert.equal(res2.code, 'TOKEN_INVALID');
    });

    test('an unsigned (alg none) token → 401 TOKEN_INVALID', async () => {
      const { accessToken } = await clientCredentials(server, dev);
      const payload = accessToken.split('.')[1] as string;
      const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const res = await callWith(dev, '/v3/merchant', `${none}.${payload}.`);
      assert.equal(res.status, 401);
      assert.equal(res.code, 'TOKEN_INVALID');
    });

    test('a token of an app limited to some scopes carries only those (403 CLIENT_NO_PERMISSION elsewhere)', async () => {
      const limited = await createDeveloper(server, { scopes: ['manage_store'] });
      const { accessToken } = await clientCredentials(server, limited);
      assert.deepEqual(jwtPayload(accessToken)['scp'], ['manage_store']);
      assert.equal((await callWith(limited, '/v3/stores', accessToken)).status, 200);
      for (const path of ['/v3/merchant', '/v3/merchant/subscriptions', '/v3/user']) {
        const res = await callWith(limited, path, accessToken);
        assert.equal(res.status, 403, path);
        assert.equal(res.code, 'CLIENT_NO_PERMISSION', path);
      }
    });
  });

  describe('stored credentials', () => {
    test('refresh tokens are stored only as SHA-256 digests', async () => {
      const token = await clientCredentials(server, dev);
      const storage = server.running.storage;
      const now = server.clock.nowMs();
      const plain = await storage.refreshTokens.consume(token.refreshToken, dev.clientId, now);
      assert.equal(plain.kind, 'missing', 'the raw refresh token is not a stored key');
      const text = await storedText(server);
      assert.ok(text.includes(sha256Hex(token.refreshToken)), 'the digest is stored (the scan sees stored rows)');
      assert.ok(!text.includes(token.refreshToken), 'the raw refresh token appears nowhere in the database');
      const hashed = await storage.refreshTokens.consume(sha256Hex(token.refreshToken), dev.clientId, now);
      assert.equal(hashed.kind, 'consumed');
      assert.ok(hashed.kind === 'consumed' && hashed.record.clientId === dev.clientId);
      // Spent through storage, so the HTTP refresh is now refused.
      assertTokenError(await refresh(server, dev, token.refreshToken), 400, 'INVALID_GRANT');
    });

    test('client secrets are stored only as SHA-256 digests', async () => {
      const fresh = await createDeveloper(server);
      const app = await server.running.storage.apps.get(fresh.clientId);
      assert.ok(app);
      assert.equal(app.clientSecretHash, sha256Hex(fresh.clientSecret));
      assert.notEqual(app.clientSecretHash, fresh.clientSecret);
      const text = await storedText(server);
      assert.ok(text.includes(app.clientSecretHash));
      assert.ok(!text.includes(fresh.clientSecret), 'the raw client secret appears nowhere in the database');
      // The digest itself is not a credential.
      const res = await postToken(server, { authorization: basic(fresh.clientId, app.clientSecretHash), body: '{"grantType":"client_credentials"}' });
      assertTokenError(res, 401, 'INVALID_CLIENT');
    });
  });
});

forEachDialect('token lifetimes', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect, { TUNAI_ACCESS_TOKEN_TTL_SECONDS: '120', TUNAI_REFRESH_TOKEN_TTL_SECONDS: '600' });
    dev = await createDeveloper(server);
  });
  after(() => server.close());

  test('TUNAI_ACCESS_TOKEN_TTL_SECONDS and TUNAI_REFRESH_TOKEN_TTL_SECONDS set expiresIn and refreshTokenExpiresIn', async () => {
    const res = await grant(server, dev, { grantType: 'client_credentials' });
    assert.equal(res.status, 200, res.rawText);
    assertTokenShape(res.body);
    assert.equal(res.body['expiresIn'], 120);
    assert.equal(res.body['refreshTokenExpiresIn'], 600);
    const claims = jwtPayload(res.body['accessToken'] as string);
    assert.equal((claims['exp'] as number) - (claims['iat'] as number), 120);
  });

  test('an access token works until expiresIn, then /v3/merchant → 401 TOKEN_EXPIRED', async () => {
    const { accessToken } = await clientCredentials(server, dev);
    server.clock.advanceMs(119_000);
    assert.equal((await callWith(dev, '/v3/merchant', accessToken)).status, 200);
    server.clock.advanceMs(2_000);
    const res = await callWith(dev, '/v3/merchant', accessToken);
    assert.equal(res.status, 401);
    assert.equal(res.code, 'TOKEN_EXPIRED');
  });

  test('a refresh token works before TUNAI_REFRESH_TOKEN_TTL_SECONDS and is INVALID_GRANT after', async () => {
    const a = await clientCredentials(server, dev);
    const b = await clientCredentials(server, dev);
    server.clock.advanceMs(599_000);
    const early = await refresh(server, dev, a.refreshToken);
    assert.equal(early.status, 200, early.rawText);
    server.clock.advanceMs(2_000);
    assertTokenError(await refresh(server, dev, b.refreshToken), 400, 'INVALID_GRANT');
  });

  test('the refresh-issued access token lasts the configured lifetime again', async () => {
    const first = await clientCredentials(server, dev);
    server.clock.advanceMs(100_000);
    const res = await refresh(server, dev, first.refreshToken);
    assert.equal(res.status, 200, res.rawText);
    assert.equal(res.body['expiresIn'], 120);
    server.clock.advanceMs(100_000);
    assert.equal((await callWith(dev, '/v3/merchant', res.body['accessToken'] as string)).status, 200);
    assert.equal((await callWith(dev, '/v3/merchant', first.accessToken)).code, 'TOKEN_EXPIRED');
  });
});

forEachDialect('client token cache', (dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(dialect);
  });
  after(() => server.close());

  test('getAccessToken reuses the token, then refreshes once the clock passes expiry - 60 s', async () => {
    const dev = await createDeveloper(server);
    const grants: string[] = [];
    const client = dev.clientWith({
      fetch: async (input, init) => {
        if (String(input).endsWith('/v1/token')) grants.push((JSON.parse(String(init?.body)) as { grantType: string }).grantType);
        return fetch(input, init);
      },
    });
    const first = await client.getAccessToken();
    assert.equal(await client.getAccessToken(), first);
    assert.equal((await client.merchant.get()).code, 'SUCCESS');
    assert.deepEqual(grants, ['client_credentials']);

    server.clock.advanceMs((7200 - 61) * 1000);
    assert.equal(await client.getAccessToken(), first, 'still cached 61 s before expiry');
    server.clock.advanceMs(1_000);
    const second = await client.getAccessToken();
    assert.notEqual(second, first);
    assert.deepEqual(grants, ['client_credentials', 'refresh_token']);
    assert.equal(await client.getAccessToken(), second);
    assert.equal((await client.merchant.get()).item.id, dev.merchant.merchant.id);
    assert.equal((await client.stores.list()).code, 'SUCCESS');
    assert.equal(grants.length, 2, 'no further token requests while the new token is fresh');
  });

  test('concurrent getAccessToken callers share one token request', async () => {
    const dev = await createDeveloper(server);
    let tokenRequests = 0;
    const client = dev.clientWith({
      fetch: async (input, init) => {
        if (String(input).endsWith('/v1/token')) tokenRequests += 1;
        return fetch(input, init);
      },
    });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => client.getAccessToken()));
    assert.equal(new Set(tokens).size, 1);
    assert.equal(tokenRequests, 1);
  });
});
