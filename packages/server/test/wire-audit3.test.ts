// Findings of the twelfth session's wire audit, over real HTTP on both databases: the PHP SDK's null terminalId,
// vouchers refused rather than ignored, FPX and RAZER in the settlement report, a deleted store takes no payments,
// the refund refusal of a reversed payment, and long path ids answered by their route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, postForm, rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, storeInput, twoMerchantSuite } from './harness.js';

const paymentTables = ['payment_transactions', 'payment_checkouts', 'payment_qr_codes', 'ledger_entries', 'outbox_events', 'sim_wallet_orders'] as const;

forEachDialect('wire audit, twelfth session', (dialect) => {
  const world = twoMerchantSuite(dialect, { dev: 'Audit Three', other: 'Neighbour' });
  const { writesNothing } = rowCounter(() => world.db, paymentTables);
  let sequence = 0;
  const orderId = (prefix: string) => `${prefix}-${dialect.slice(0, 2)}-${++sequence}`;
  const authCode = (suffix: string) => `1348507177${String(sequence % 10_000).padStart(4, '0')}${suffix}`;
  const quickPayBody = (extra: Record<string, unknown> = {}) => ({
    authCode: authCode('0000'),
    order: { id: orderId('qp'), title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 },
    ipAddress: '127.0.0.1',
    storeId: world.dev.merchant.store.id,
    ...extra,
  });
  const checkoutBody = (extra: Record<string, unknown> = {}) => ({
    order: { id: orderId('co'), title: 'Kopi', detail: '', additionalData: '', amount: 1_200, currencyType: 'MYR' },
    method: [],
    type: 'WEB_PAYMENT',
    storeId: world.dev.merchant.store.id,
    redirectUrl: 'https://shop.example/return',
    notifyUrl: 'http://127.0.0.1:9/notify',
    ...extra,
  });
  /** The order id the sandbox wallet screen was opened for (a payer's redirect or a direct checkout's url). */
  const walletOrder = (location: string): string => new URL(location, world.server.url).searchParams.get('order') ?? '';

  test("the PHP SDK's QuickPay with \"terminalId\": null pays, stored with no terminal", async () => {
    const body = quickPayBody({ terminalId: null });
    const res = await world.dev.client.send('POST', '/v3/payment/quickpay', { body });
    assert.equal(res.status, 200, res.rawText);
    const item = (res.body as { item: { status: string; terminalId: string; transactionId: string } }).item;
    assert.deepEqual([item.status, item.terminalId], ['SUCCESS', '']);
    const row = await world.db.selectFrom('payment_transactions').select('terminal_id').where('id', '=', item.transactionId).executeTakeFirstOrThrow();
    assert.equal(row.terminal_id, '');
    // A terminal id that is not a string or null is still refused.
    assertError(await writesNothing(() => world.dev.client.send('POST', '/v3/payment/quickpay', { body: quickPayBody({ terminalId: 42 }) })), 400, 'VALIDATION_ERROR');
  });

  test('a QuickPay or checkout naming a voucher is refused VOUCHER_NOT_FOUND and writes nothing; Go\'s empty voucher is no voucher', async () => {
    for (const voucher of [{ code: 'RAYA10' }, { code: 'X', extra: 1 }]) {
      const paid = await writesNothing(() => world.dev.client.send('POST', '/v3/payment/quickpay', { body: quickPayBody({ voucher }) }));
      assertError(paid, 404, 'VOUCHER_NOT_FOUND');
      assert.match((paid.body as { error: { message: string } }).error.message, new RegExp(voucher.code));
      assertError(await writesNothing(() => world.dev.client.send('POST', '/v3/payment/online', { body: checkoutBody({ voucher }) })), 404, 'VOUCHER_NOT_FOUND');
    }
    for (const voucher of [null, { code: '' }, {}]) {
      const paid = await world.dev.client.send('POST', '/v3/payment/quickpay', { body: quickPayBody({ voucher }) });
      assert.equal(paid.status, 200, `${JSON.stringify(voucher)}: ${paid.rawText}`);
      const created = await world.dev.client.send('POST', '/v3/payment/online', { body: checkoutBody({ voucher }) });
      assert.equal(created.status, 200, `${JSON.stringify(voucher)}: ${created.rawText}`);
    }
    for (const voucher of ['RAYA10', { code: 7 }, { code: 'x'.repeat(65) }]) {
      assertError(await writesNothing(() => world.dev.client.send('POST', '/v3/payment/quickpay', { body: quickPayBody({ voucher }) })), 400, 'VALIDATION_ERROR');
    }
  });

  test('the settlement report takes FPX and RAZER, and an FPX payment is reported under FPX', async () => {
    const created = (await world.dev.client.payment.createCheckout(checkoutBody() as never)).item;
    const direct = (await world.dev.client.payment.directCheckout({ checkoutId: created.checkoutId, type: 'URL', method: 'FPX_MY', fpx: { bankCode: 'MB2U0227' } })).item;
    const transactionId = walletOrder(direct.url ?? '');
    const confirm = await postForm(`${world.server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome: '0000' });
    assert.equal(confirm.status, 303, await confirm.text());
    const tx = (await world.dev.client.payment.transaction(transactionId)).item;
    assert.deepEqual([tx.method, tx.status], ['FPX', 'SUCCESS']);

    const date = new Date(world.server.clock.nowMs() + 8 * 3_600_000).toISOString().slice(0, 10);
    const report = async (method: string) => {
      const res = await world.dev.client.send('POST', '/v3/payment/settlement/csv', { body: { date, method, region: 'MALAYSIA', sequence: 1 } });
      assert.equal(res.status, 200, `${method}: ${res.rawText}`);
      return res.rawText;
    };
    const fpx = await report('FPX');
    const fpxLines = fpx.trim().split('\n');
    assert.ok(fpxLines.includes(`T,${transactionId},12.00,0.00,0.00,0.00,12.00,`), `the FPX report lists the payment:\n${fpx}`);
    assert.ok(fpxLines.includes('S,1,12.00,0.00,0.00,0.00,12.00,'), `its summary counts it:\n${fpx}`);
    const razer = await report('RAZER');
    assert.ok(!razer.includes(transactionId), 'the RAZER report does not');
    assert.ok(razer.trim().split('\n').includes('S,0,0.00,0.00,0.00,0.00,0.00,'), razer);
    assertError(await world.dev.client.send('POST', '/v3/payment/settlement/csv', { body: { date, method: 'FPX_MY', region: 'MALAYSIA', sequence: 1 } }), 400, 'VALIDATION_ERROR');
  });

  test('a deleted store takes no payment through a QR code or checkout made before; they stay readable', async () => {
    const store = (await world.dev.client.stores.create(storeInput('Closing Down'))).item;
    const qr = (await world.dev.client.payment.createQrCode(qrCodeInput(store.id, 'STATIC'))).item;
    const web = (await world.dev.client.payment.createCheckout(checkoutBody({ storeId: store.id }) as never)).item;
    const page = (await world.dev.client.payment.createCheckout(checkoutBody({ storeId: store.id }) as never)).item;
    assert.equal((await world.dev.client.send('DELETE', `/v3/store/${store.id}`)).status, 200);

    const viaQr = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' }));
    assert.equal(viaQr.status, 404);
    assert.match(await viaQr.text(), /STORE_NOT_FOUND/);
    const viaApi = await writesNothing(() =>
      world.dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: web.checkoutId, type: 'URL', method: 'TNG_MY' } }),
    );
    assertError(viaApi, 404, 'STORE_NOT_FOUND');
    const viaPage = await writesNothing(() => postForm(`${world.server.url}/checkout/pay`, { checkoutId: page.checkoutId, method: 'TNG_MY' }));
    assert.equal(viaPage.status, 404);
    assert.match(await viaPage.text(), /STORE_NOT_FOUND/);

    assert.equal((await world.dev.client.payment.qrCode(qr.code)).item.code, qr.code);
    assert.equal((await world.dev.client.payment.checkout(web.checkoutId)).item.status, 'IN_PROCESS');
  });

  test('an identical checkout create after the payer picked a wallet returns the same checkout; the order id stays taken', async () => {
    const body = checkoutBody();
    const first = (await world.dev.client.payment.createCheckout(body as never)).item;
    const pay = await postForm(`${world.server.url}/checkout/pay`, { checkoutId: first.checkoutId, method: 'TNG_MY' });
    assert.equal(pay.status, 303, await pay.text());
    assert.match(walletOrder(pay.headers.get('location') ?? ''), /^[0-9]{24}$/);

    const retried = await writesNothing(() => world.dev.client.send('POST', '/v3/payment/online', { body }));
    assert.equal(retried.status, 200, retried.rawText);
    assert.equal((retried.body as { item: { checkoutId: string } }).item.checkoutId, first.checkoutId);
    const changed = { ...body, order: { ...body.order, amount: 1_300 } };
    assertError(await writesNothing(() => world.dev.client.send('POST', '/v3/payment/online', { body: changed })), 400, 'ORDER_ID_DUPLICATE');
    const quickPay = quickPayBody();
    const taken = { ...quickPay, order: { ...quickPay.order, id: body.order.id } };
    assertError(await writesNothing(() => world.dev.client.send('POST', '/v3/payment/quickpay', { body: taken })), 400, 'ORDER_ID_DUPLICATE');
    // A QuickPay's order id is still refused to a checkout.
    const paid = quickPayBody();
    assert.equal((await world.dev.client.send('POST', '/v3/payment/quickpay', { body: paid })).status, 200);
    const onPaid = checkoutBody();
    const clash = { ...onPaid, order: { ...onPaid.order, id: paid.order.id } };
    assertError(await writesNothing(() => world.dev.client.send('POST', '/v3/payment/online', { body: clash })), 400, 'ORDER_ID_DUPLICATE');
  });

  test('a refund of a reversed payment says it is REVERSED, not being reversed', async () => {
    const body = quickPayBody();
    const paid = (await world.dev.client.payment.quickPay(body as never)).item;
    const reversed = (await world.dev.client.payment.reverse(body.order.id)).item;
    assert.equal(reversed.status, 'REVERSED');
    const refund = await writesNothing(() =>
      world.dev.client.send('POST', '/v3/payment/refund', {
        body: { transactionId: paid.transactionId, refund: { type: 'PARTIAL', currencyType: 'MYR', amount: 100 }, reason: 'late' },
      }),
    );
    assertError(refund, 400, 'TRANSACTIN_STATUS_NOT_SUCCESS');
    assert.equal((refund.body as { error: { message: string } }).error.message, 'Transaction status not success: it is REVERSED');
  });

  test('a long id in the path reaches its route and gets that route\'s not-found code', async () => {
    const id = '9'.repeat(600);
    assertError(await world.dev.client.send('GET', `/v3/payment/transaction/${id}`), 404, 'TRANSACTION_NOT_FOUND');
    assertError(await world.dev.client.send('GET', `/v3/payment/transaction/qrcode/${id}`), 404, 'TRANSACTION_QR_CODE_NOT_FOUND');
    assertError(await world.dev.client.send('GET', `/v3/store/${id}`), 404, 'STORE_NOT_FOUND');
    // Another merchant's (real) ids are as unknown as made-up ones.
    const neighbour = await createDeveloper(world.server, { companyName: 'Third' });
    assertError(await neighbour.client.send('GET', `/v3/store/${world.dev.merchant.store.id}`), 404, 'STORE_NOT_FOUND');
  });
});
