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
import { failureStreak } from '../src/lib/failure-streak.js';
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

test('a failing background job logs its streak: the first failure, a reminder per interval with the count, one recovery line', () => {
  const lines: { level: number; msg: string; failures?: number; failingForMs?: number; err?: { message: string } }[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()) }));
  let nowMs = 1_000;
  const streak = failureStreak({ logger, what: 'closed-loop tick', nowMs: () => nowMs, repeatEveryMs: 60_000 });
  streak.succeeded();
  assert.equal(lines.length, 0, 'a success outside a streak says nothing');
  for (let run = 1; run <= 150; run++) {
    streak.failed(new Error(`down ${run}`));
    nowMs += 1_000;
  }
  // Runs at 1 s apart for 150 s: the first failure at 0 s, reminders at 60 s and 120 s.
  assert.deepEqual(lines.map((line) => [line.level, line.msg, line.err?.message, line.failures]), [
    [50, 'closed-loop tick failed', 'down 1', undefined],
    [50, 'closed-loop tick still failing', 'down 61', 61],
    [50, 'closed-loop tick still failing', 'down 121', 121],
  ]);
  assert.equal(lines[2]?.failingForMs, 120_000, 'the reminder says how long the streak has lasted');
  streak.succeeded();
  streak.succeeded();
  assert.equal(lines.length, 4, 'one recovery line, however many successes follow');
  assert.deepEqual([lines[3]?.level, lines[3]?.msg, lines[3]?.failures, lines[3]?.failingForMs], [30, 'closed-loop tick recovered', 150, 150_000]);
  streak.failed(new Error('down again'));
  assert.equal(lines.at(-1)?.msg, 'closed-loop tick failed', 'a new streak is logged from its first failure');
});

test('a watched run counts once however often it is handed to watch(); how it ends is what is logged', async () => {
  const lines: { level: number; msg: string; failures?: number }[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()) }));
  const streak = failureStreak({ logger, what: 'outbox sweep', nowMs: () => 0, repeatEveryMs: 60_000 });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const slowFailure = Promise.reject(new Error('down'));
  for (let call = 0; call < 5; call++) streak.watch(slowFailure); // five interval calls joined one run
  streak.watch(Promise.reject(new Error('down again')));
  await settle();
  streak.watch(Promise.resolve());
  await settle();
  assert.deepEqual(lines.map((line) => [line.msg, line.failures]), [
    ['outbox sweep failed', undefined],
    ['outbox sweep recovered', 2],
  ], 'two runs failed, not six calls');
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
