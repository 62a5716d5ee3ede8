// The sandbox clock's offset lives in the database: every `tunai serve` on it runs at one sandbox time, and a
// restarted process starts at the time already reached.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TunaiClient } from '@tunai/client';
import { limits } from '@tunai/client/contract';
import { advanceClock, clientFor, initialisedDatabase, killHard, startClockedServe, waitFor, type ClockedServer, type InitialisedDatabase } from './child-server.js';
import { forEachDialect } from './harness.js';

async function sandboxNowMs(server: ClockedServer): Promise<number> {
  const response = await fetch(`${server.url}/sandbox/clock`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return (JSON.parse(text) as { item: { nowMs: number } }).item.nowMs;
}

async function moveClock(server: ClockedServer, advanceSeconds: number): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}/sandbox/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceSeconds }),
  });
  return { status: response.status, body: await response.json() };
}

forEachDialect('sandbox clock shared through the database', (dialect) => {
  let world: InitialisedDatabase;
  before(async () => {
    world = await initialisedDatabase(dialect);
  });
  after(async () => {
    await world.close();
  });

  const storedOffsetMs = async (): Promise<number> =>
    Number((await world.db.selectFrom('sandbox_clock').select('offset_ms').where('name', '=', 'offset').executeTakeFirstOrThrow()).offset_ms);

  test('a move on one process reaches the other: its /sandbox routes at once, its closed loop within a refresh', async () => {
    // A's closed loop is off: only B's background loop can reverse the payment, and only if B sees the moved time.
    const a = await startClockedServe(world.database, { TUNAI_QUICKPAY_WAIT_MS: '0', TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    const b = await startClockedServe(world.database, { TUNAI_QUICKPAY_WAIT_MS: '0', TUNAI_CLOSED_LOOP_INTERVAL_MS: '50' });
    try {
      const orderId = `shared-clock-${dialect}`;
      const paid = await clientFor(world.credentials, a).send('POST', '/v3/payment/quickpay', {
        body: {
          authCode: '134850717797241002', // user paying forever: reversed at 45 s
          order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 },
          ipAddress: '127.0.0.1',
          storeId: world.credentials.storeId,
        },
      });
      assert.equal(paid.status, 200, paid.rawText);
      assert.equal((paid.body as { item: { status: string } }).item.status, 'IN_PROCESS', paid.rawText);

      const offsetBeforeMs = await storedOffsetMs();
      await advanceClock(a, 60);
      assert.equal(await storedOffsetMs(), offsetBeforeMs + 60_000, 'the move is stored');
      const bNowMs = await sandboxNowMs(b);
      assert.ok(Math.abs(bNowMs - (Date.now() + a.offsetMs)) < 2_000, `B's clock reads the moved time (${bNowMs - Date.now()} ms ahead)`);

      // Real time stays well under the 45 s deadline: B's loop reverses it because its clock moved with A's.
      const startedMs = Date.now();
      const row = await waitFor("B's closed loop to reverse the payment at the moved time", async () => {
        const found = await world.db.selectFrom('payment_transactions').select(['status', 'error_code']).where('order_id', '=', orderId).executeTakeFirstOrThrow();
        return found.status === 'REVERSED' ? found : undefined;
      });
      assert.ok(Date.now() - startedMs < 15_000, 'reversed long before the deadline in real time');
      assert.equal(row.error_code, 'PAYMENT_TIMEOUT');
    } finally {
      await killHard(a);
      await killHard(b);
    }
  });

  test('a restarted process runs at the sandbox time already reached, and signed calls at that time pass', async () => {
    const first = await startClockedServe(world.database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    // Past the ±300 s signature window: a process back at real time would refuse a client signing at the moved time.
    await advanceClock(first, 900);
    await killHard(first);

    const restarted = await startClockedServe(world.database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    try {
      const nowMs = await sandboxNowMs(restarted);
      assert.ok(Math.abs(nowMs - (Date.now() + restarted.offsetMs)) < 2_000, `restarted ${nowMs - Date.now()} ms ahead, expected ${restarted.offsetMs}`);
      assert.ok(restarted.offsetMs >= 900_000, 'the offset includes the move made before the restart');
      const merchant = await clientFor(world.credentials, restarted).send('GET', '/v3/merchant');
      assert.equal(merchant.status, 200, merchant.rawText);
    } finally {
      await killHard(restarted);
    }
  });

  test('a call signed at the moved time reaches another process at once, before its next refresh', async () => {
    const a = await startClockedServe(world.database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    const b = await startClockedServe(world.database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    try {
      const client = clientFor(world.credentials, b);
      await client.getAccessToken();
      for (let round = 0; round < 3; round++) {
        // Past the ±300 s window each time, so B passes the call only if it reads the move when the call comes.
        await advanceClock(a, 400);
        const merchant = await client.send('GET', '/v3/merchant');
        assert.equal(merchant.status, 200, `round ${round}: ${merchant.rawText}`);
      }
      // A timestamp beyond the moved time (and its window) is still refused, after the extra read.
      const ahead = new TunaiClient({
        clientId: world.credentials.clientId,
        clientSecret: world.credentials.clientSecret,
        privateKeyPem: world.credentials.privateKey,
        oauthBaseUrl: b.url,
        openApiBaseUrl: b.url,
        nowMs: () => Date.now() + b.offsetMs + 400_000,
      });
      const refused = await ahead.send('GET', '/v3/merchant');
      assert.equal(refused.status, 401, refused.rawText);
      assert.equal((refused.body as { error: { code: string } }).error.code, 'INVALID_TIMESTAMP');
    } finally {
      await killHard(a);
      await killHard(b);
    }
  });

  test('moves made at once on two processes add up', async () => {
    const a = await startClockedServe(world.database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    const b = await startClockedServe(world.database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    try {
      const offsetBeforeMs = await storedOffsetMs();
      const moves = await Promise.all(Array.from({ length: 12 }, (_, i) => moveClock(i % 2 === 0 ? a : b, 1)));
      assert.deepEqual(moves.map((m) => m.status), Array(12).fill(200), JSON.stringify(moves.map((m) => m.body)));
      assert.equal(await storedOffsetMs(), offsetBeforeMs + 12_000, 'no move was lost');
      for (const server of [a, b]) {
        const aheadMs = (await sandboxNowMs(server)) - Date.now();
        assert.ok(Math.abs(aheadMs - (offsetBeforeMs + 12_000)) < 2_000, `each process reads the sum (${aheadMs} ms ahead)`);
      }
    } finally {
      await killHard(a);
      await killHard(b);
    }
  });

  test('the clock stops 20 years ahead of the wall clock: a move past that is refused and changes nothing', async () => {
    const server = await startClockedServe(world.database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    try {
      const offsetMaxMs = limits.sandboxClockOffsetSecondsMax * 1000;
      await world.db.updateTable('sandbox_clock').set({ offset_ms: offsetMaxMs - 500_000 }).where('name', '=', 'offset').execute();
      const refused = await moveClock(server, 501);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'VALIDATION_ERROR');
      assert.match(refused.body.error.message, /^Validations error: .*20 years/);
      assert.equal(await storedOffsetMs(), offsetMaxMs - 500_000, 'nothing was stored');

      const atMax = await moveClock(server, 500);
      assert.equal(atMax.status, 200, JSON.stringify(atMax.body));
      assert.equal(await storedOffsetMs(), offsetMaxMs);
      assert.ok(Math.abs(atMax.body.item.nowMs - (Date.now() + offsetMaxMs)) < 2_000, 'the answer shows the moved time');
      assert.match(atMax.body.item.now, /^20[4-9]\d-/, `two decades on, still this century: ${atMax.body.item.now}`);
    } finally {
      await killHard(server);
    }
  });
});
