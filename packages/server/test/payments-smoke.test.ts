// Smoke: QuickPay happy path, user-paying closed loop, refund, reverse and the ledger check on both databases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLedger } from '../src/app/check-ledger.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

forEachDialect('payments smoke', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server);
  });
  after(async () => server.close());

  const body = (authCode: string, orderId: string, amount = 100) => ({
    authCode,
    order: { id: orderId, title: 'title', detail: 'desc', additionalData: 'x', currencyType: 'MYR', amount },
    ipAddress: '8.8.8.8',
    storeId: dev.merchant.store.id,
  });

  test('immediate success, refund, ledger clean', async () => {
    const paid = await dev.client.payment.quickPay(body('134850717797240000', 'o-1'));
    assert.equal(paid.item.status, 'SUCCESS');
    assert.equal(paid.item.balanceAmount, 100);
    assert.equal(paid.item.method, 'WECHATPAY');
    const refunded = await dev.client.payment.refund({
      transactionId: paid.item.transactionId,
      refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 30 },
      reason: 'r',
    });
    assert.equal(refunded.item.status, 'PARTIAL_REFUNDED');
    assert.equal(refunded.item.balanceAmount, 70);
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
  });

  test('user paying then success after polling', async () => {
    const first = await dev.client.payment.quickPay(body('134850717797241001', 'o-2'));
    assert.equal(first.item.status, 'IN_PROCESS');
    for (let i = 0; i < 3; i++) {
      server.clock.advanceMs(5_000);
      await server.running.runClosedLoop();
    }
    const now = await dev.client.payment.transactionByOrderId('o-2');
    assert.equal(now.item.status, 'SUCCESS');
  });

  test('user paying forever is reversed at the deadline', async () => {
    const first = await dev.client.payment.quickPay(body('134850717797241002', 'o-3'));
    assert.equal(first.item.status, 'IN_PROCESS');
    for (let i = 0; i < 12; i++) {
      server.clock.advanceMs(5_000);
      await server.running.runClosedLoop();
    }
    const now = await dev.client.payment.transactionByOrderId('o-3');
    assert.equal(now.item.status, 'REVERSED');
    const csv = await dev.client.payment.settlementCsv({ date: new Date(server.clock.nowMs() + 8 * 3600_000).toISOString().slice(0, 10), method: 'ALL', region: 'MALAYSIA', sequence: 1 });
    assert.match(csv, /^H,/);
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  });

  test('merchant reverse of a success', async () => {
    await dev.client.payment.quickPay(body('134850717797242222', 'o-4'));
    const reversed = await dev.client.payment.reverse('o-4');
    assert.equal(reversed.item.status, 'REVERSED');
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  });
});
