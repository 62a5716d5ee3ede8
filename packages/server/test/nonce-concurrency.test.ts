// Nonces under concurrency: a replayed request racing itself succeeds exactly once; distinct nonces all succeed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateNonce } from '@tunai/client/signature';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

forEachDialect('nonce claims under concurrency', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server);
    await dev.client.getAccessToken();
  });
  after(() => server.close());

  test('40 concurrent copies of one signed request: exactly one 200, the rest 401 SPAM', async () => {
    const nonceStr = generateNonce();
    const timestamp = String(Math.floor(server.clock.nowMs() / 1000));
    const responses = await Promise.all(
      Array.from({ length: 40 }, () => dev.client.send('GET', '/v3/merchant', { nonceStr, timestamp })),
    );
    const statuses = responses.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1);
    for (const r of responses.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 401);
      assert.equal((r.body as { error: { code: string } }).error.code, 'SPAM');
    }
  });

  test('60 concurrent requests with distinct nonces all succeed, and each nonce is then spent', async () => {
    const timestamp = String(Math.floor(server.clock.nowMs() / 1000));
    const nonces = Array.from({ length: 60 }, () => generateNonce());
    const responses = await Promise.all(nonces.map((nonceStr) => dev.client.send('GET', '/v3/user', { nonceStr, timestamp })));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    const replays = await Promise.all(nonces.slice(0, 5).map((nonceStr) => dev.client.send('GET', '/v3/user', { nonceStr, timestamp })));
    assert.deepEqual(replays.map((r) => r.status), [401, 401, 401, 401, 401]);
  });
});
