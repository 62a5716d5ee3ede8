// Logs never carry credentials: tokens, refresh tokens, client secrets, signatures, authorization codes, keys.
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TunaiClient } from '@tunai/client';
import { allScopes } from '@tunai/client/contract';
import { createClientApp } from '../src/app/create-client-app.js';
import { createMerchant } from '../src/app/create-merchant.js';
import { ManualClock } from '../src/lib/clock.js';
import { loadConfig } from '../src/lib/config.js';
import { createIds } from '../src/lib/ids.js';
import { createLogger } from '../src/lib/logger.js';
import { openStorage, startServer, type RunningServer } from '../src/main.js';
import { forEachDialect, freshDatabase, testKeyPair, type FreshDatabase } from './harness.js';

test('the logger redacts credential fields wherever they appear', () => {
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  logger.info(
    {
      req: { headers: { authorization: 'Bearer SECRET-A', 'x-signature': 'sha256 SECRET-B' } },
      body: { clientSecret: 'SECRET-C', refreshToken: 'SECRET-D', code: 'SECRET-E', privateKey: 'SECRET-F' },
    },
    'request',
  );
  const text = lines.join('');
  for (const secret of ['SECRET-A', 'SECRET-B', 'SECRET-C', 'SECRET-D', 'SECRET-E', 'SECRET-F']) assert.ok(!text.includes(secret), secret);
  assert.match(text, /\[redacted\]/);
});

forEachDialect('server logs', (dialect) => test('a busy server at trace level logs no credential it handled', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  let database: FreshDatabase | undefined;
  let running: RunningServer | undefined;
  try {
    database = await freshDatabase(dialect);
    const clock = new ManualClock(Date.now());
    const config = loadConfig({ LOG_LEVEL: 'trace' }, { port: '0', host: '127.0.0.1' });
    running = await startServer({ config, clock, ids: createIds(clock), logger: createLogger('trace', sink), opened: await openStorage(database.target) });
    const keys = await testKeyPair();
    const merchant = await createMerchant(running.deps, { companyName: 'Log Test' });
    const { app, clientSecret } = await createClientApp(running.deps, {
      merchantId: merchant.merchant.id,
      publicKeyPem: keys.publicKeyPem,
      scopes: allScopes,
      redirectUris: ['https://partner.example/cb'],
    });
    const client = new TunaiClient({
      clientId: app.clientId,
      clientSecret,
      privateKeyPem: keys.privateKeyPem,
      oauthBaseUrl: running.url,
      openApiBaseUrl: running.url,
      nowMs: () => clock.nowMs(),
    });
    const token = await client.oauth.clientCredentials();
    const refreshed = await client.oauth.refresh(token.refreshToken);
    await client.merchant.get();
    const bad = await client.send('GET', '/v3/merchant', { headers: { 'x-signature': 'sha256 AAAA' } });
    assert.equal(bad.status, 401);
    const consent = await fetch(client.oauth.authorizeUrl({ redirectUri: 'https://partner.example/cb', scopes: ['get_user_profile'], state: 's' }));
    const ticket = /name="ticket" value="([^"]+)"/.exec(await consent.text())?.[1] ?? '';
    const approved = await fetch(`${running.url}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ticket, decision: 'approve' }).toString(),
      redirect: 'manual',
    });
    const code = new URL(approved.headers.get('location') ?? 'https://x/').searchParams.get('code') ?? '';
    assert.ok(code.length > 20);
    await client.oauth.authorizationCode(code, 'https://partner.example/cb');

    const text = lines.join('');
    assert.ok(text.length > 0, 'something was logged');
    for (const secret of [clientSecret, token.accessToken, token.refreshToken, refreshed.accessToken, refreshed.refreshToken, code, ticket]) {
      assert.ok(!text.includes(secret), 'a credential reached the log');
    }
    assert.ok(!text.includes('PRIVATE KEY'));
  } finally {
    await running?.close();
    await database?.drop();
  }
}));
