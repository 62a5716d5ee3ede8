// Findings of the thirteenth session's audit of customer-scans payments (Transaction QR, checkout), over real HTTP on
// both databases: a reverse closes a checkout nobody has paid yet, a payer who never confirms ends FAILED with
// PAYMENT_TIMEOUT (RM's QR transaction list), a one-time QR tapped twice gives the same wallet order, a gateway
// without the sandbox wallet screen takes no customer-scans order, and the list filters agree with what is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, postForm, rowCounter } from './api-checks.js';
import { createDeveloper, forEachDialect, qrCodeInput, startTestServer, twoMerchantSuite } from './harness.js';
import { openDatabase } from '../src/store/database.js';

const paymentTables = ['payment_transactions', 'payment_checkouts', 'payment_qr_codes', 'ledger_entries', 'outbox_events', 'sim_wallet_orders'] as const;

forEachDialect('customer-scans audit, thirteenth session', (dialect) => {
  const world = twoMerchantSuite(dialect, { dev: 'Scans Audit', other: 'Neighbour' });
  const { writesNothing } = rowCounter(() => world.db, paymentTables);
  let sequence = 0;
  const orderId = (prefix: string) => `${prefix}-${dialect.slice(0, 2)}-${++sequence}`;
  const checkoutBody = (id: string) => ({
    order: { id, title: 'Kopi', detail: '', additionalData: '', amount: 450, currencyType: 'MYR' as const },
    method: [],
    type: 'WEB_PAYMENT' as const,
    storeId: world.dev.merchant.store.id,
    redirectUrl: 'https://shop.example/return',
    notifyUrl: 'http://127.0.0.1:9/notify',
  });
  const walletOrder = (response: Response): string => new URL(response.headers.get('location') ?? '', world.server.url).searchParams.get('order') ?? '';
  const checkoutRow = (id: string) => world.db.selectFrom('payment_checkouts').select(['status', 'transaction_id']).where('id', '=', id).executeTakeFirstOrThrow();

  test('a reverse of a checkout nobody has paid closes it (CANCELLED) and answers TRANSACTION_NOT_FOUND; the payer can no longer pay', async () => {
    const id = orderId('unpaid');
    const checkout = (await world.dev.client.payment.createCheckout(checkoutBody(id))).item;
    // Another merchant naming the same order id reaches nothing of this one's.
    assertError(await writesNothing(() => world.other.client.send('POST', '/v3/payment/reverse', { body: { orderId: id } })), 404, 'TRANSACTION_NOT_FOUND');
    assert.deepEqual(await checkoutRow(checkout.checkoutId), { status: 'IN_PROCESS', transaction_id: null });

    const reversed = await world.dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: id } });
    assertError(reversed, 404, 'TRANSACTION_NOT_FOUND');
    assert.match((reversed.body as { error: { message: string } }).error.message, /cancelled now/);
    assert.deepEqual(await checkoutRow(checkout.checkoutId), { status: 'CANCELLED', transaction_id: null });
    assert.equal((await world.dev.client.payment.checkout(checkout.checkoutId)).item.status, 'CANCELLED');

    const pay = await writesNothing(() => postForm(`${world.server.url}/checkout/pay`, { checkoutId: checkout.checkoutId, method: 'TNG_MY' }));
    assert.equal(pay.status, 400);
    assert.match(await pay.text(), /ORDER_CANCELLED/);
    // Again: nothing left to close, a plain not-found that writes nothing.
    const again = await writesNothing(() => world.dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: id } }));
    assertError(again, 404, 'TRANSACTION_NOT_FOUND');
    assert.doesNotMatch((again.body as { error: { message: string } }).error.message, /cancelled now/);
  });

  test('a reverse after the payer picked a wallet reverses that payment, as before; an expired unpaid checkout is left as it is', async () => {
    const picked = (await world.dev.client.payment.createCheckout(checkoutBody(orderId('picked')))).item;
    const pay = await postForm(`${world.server.url}/checkout/pay`, { checkoutId: picked.checkoutId, method: 'TNG_MY' });
    assert.equal(pay.status, 303, await pay.text());
    const reversed = (await world.dev.client.payment.reverse((await world.dev.client.payment.checkout(picked.checkoutId)).item.order.id)).item;
    assert.deepEqual([reversed.transactionId, reversed.status], [walletOrder(pay), 'REVERSED']);

    const expiredId = orderId('expired');
    const expired = (await world.dev.client.payment.createCheckout({ ...checkoutBody(expiredId), expiresInSeconds: 60 })).item;
    world.server.clock.advanceMs(61_000);
    assertError(await writesNothing(() => world.dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: expiredId } })), 404, 'TRANSACTION_NOT_FOUND');
    assert.deepEqual(await checkoutRow(expired.checkoutId), { status: 'IN_PROCESS', transaction_id: null });
    assert.equal((await world.dev.client.payment.checkout(expired.checkoutId)).item.status, 'EXPIRED');
  });

  test('a QR payer who never confirms: FAILED with PAYMENT_TIMEOUT and balance 0 in the QR transaction list; a merchant reverse then says nothing was taken', async () => {
    const qr = (await world.dev.client.payment.createQrCode(qrCodeInput(world.dev.merchant.store.id, 'DYNAMIC'))).item;
    const pay = await postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'BOOST_MY' });
    assert.equal(pay.status, 303, await pay.text());
    const transactionId = walletOrder(pay);
    world.server.clock.advanceMs(5 * 60_000 + 1_000);
    await world.server.running.runClosedLoop();
    const listed = (await world.dev.client.payment.qrCodeTransactions(qr.code)).items;
    assert.equal(listed.length, 1);
    const [item] = listed;
    assert.deepEqual([item?.transactionId, item?.status, item?.balanceAmount, (item?.error as { code?: string }).code], [transactionId, 'FAILED', 0, 'PAYMENT_TIMEOUT']);
    assert.match((item?.error as { message?: string }).message ?? '', /^Payment timeout/);
    assert.equal((await world.dev.client.payment.qrCode(qr.code)).item.status, 'VALID', 'the one-time QR is free again');
    const ledger = await world.db.selectFrom('ledger_entries').select('id').where('transaction_id', '=', transactionId).execute();
    assert.equal(ledger.length, 0, 'nothing was booked');
    const reverse = await writesNothing(() => world.dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: transactionId } }));
    assertError(reverse, 400, 'TRANSACTION_STATUS_NOT_IN_PROCESS');
  });

  test('a one-time QR tapped twice with the same wallet gives the same wallet order; another wallet or amount is PAYMENT_IN_PROCESS', async () => {
    const qr = (await world.dev.client.payment.createQrCode(qrCodeInput(world.dev.merchant.store.id, 'DYNAMIC'))).item;
    const first = await postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' });
    assert.equal(first.status, 303, await first.text());
    const second = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' }));
    assert.equal(second.status, 303, await second.text());
    assert.equal(second.headers.get('location'), first.headers.get('location'), 'the same wallet order');
    const other = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'BOOST_MY' }));
    assert.equal(other.status, 400);
    assert.match(await other.text(), /PAYMENT_IN_PROCESS/);

    const open = (await world.dev.client.payment.createQrCode({ ...qrCodeInput(world.dev.merchant.store.id, 'DYNAMIC'), isPreFillAmount: false, amount: 0 })).item;
    const typed = await postForm(`${world.server.url}/payment/unified/pay`, { code: open.code, method: 'TNG_MY', amount: '12.50' });
    assert.equal(typed.status, 303, await typed.text());
    const retyped = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: open.code, method: 'TNG_MY', amount: '12.50' }));
    assert.equal(retyped.headers.get('location'), typed.headers.get('location'));
    const otherAmount = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: open.code, method: 'TNG_MY', amount: '1.00' }));
    assert.equal(otherAmount.status, 400);
    assert.match(await otherAmount.text(), /PAYMENT_IN_PROCESS/);

    await postForm(`${world.server.url}/sandbox/wallet/confirm`, { order: walletOrder(first), outcome: '0000' });
    const txs = (await world.dev.client.payment.qrCodeTransactions(qr.code)).items;
    assert.deepEqual(txs.map((t) => t.status), ['SUCCESS'], 'one payment, paid once');
    const after = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' }));
    assert.match(await after.text(), /QR_REDEEMED/);
  });

  test('a one-time QR that expires while its payment is open keeps its page and its re-tap; that payment completes; anyone else is told QR_INVALID', async () => {
    const qr = (await world.dev.client.payment.createQrCode({ ...qrCodeInput(world.dev.merchant.store.id, 'DYNAMIC'), expiry: { type: 'DYNAMIC', day: 1 } })).item;
    world.server.clock.advanceMs(86_400_000 - 60_000);
    const first = await postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' });
    assert.equal(first.status, 303, await first.text());
    world.server.clock.advanceMs(120_000); // the QR has expired; the payer's 5 minutes have not
    const page = await fetch(`${world.server.url}/payment/unified?code=${qr.code}`);
    assert.equal(page.status, 200, 'the page stays while its payment is open');
    const again = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' }));
    assert.equal(again.headers.get('location'), first.headers.get('location'), 'the same wallet order');
    const other = await writesNothing(() => postForm(`${world.server.url}/payment/unified/pay`, { code: qr.code, method: 'BOOST_MY' }));
    assert.equal(other.status, 400);
    assert.match(await other.text(), /QR_INVALID/);
    await postForm(`${world.server.url}/sandbox/wallet/confirm`, { order: walletOrder(first), outcome: '0000' });
    assert.deepEqual((await world.dev.client.payment.qrCodeTransactions(qr.code)).items.map((t) => t.status), ['SUCCESS']);
    const closed = await fetch(`${world.server.url}/payment/unified?code=${qr.code}`);
    assert.equal(closed.status, 400, 'once paid, the expired QR answers as closed');
    assert.match(await closed.text(), /QR_INVALID/);
  });

  test('a form field sent twice is taken as neither value: the payment is refused and nothing is written', async () => {
    const open = (await world.dev.client.payment.createQrCode({ ...qrCodeInput(world.dev.merchant.store.id, 'STATIC'), isPreFillAmount: false, amount: 0 })).item;
    const post = (body: string) =>
      fetch(`${world.server.url}/payment/unified/pay`, { method: 'POST', body, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const twoAmounts = await writesNothing(() => post(`code=${open.code}&method=TNG_MY&amount=5.00&amount=9.00`));
    assert.equal(twoAmounts.status, 400);
    assert.match(await twoAmounts.text(), /MINIMUM_AMOUNT_REQUIRED/);
    const twoMethods = await writesNothing(() => post(`code=${open.code}&method=TNG_MY&method=BOOST_MY&amount=5.00`));
    assert.equal(twoMethods.status, 400);
    assert.match(await twoMethods.text(), /PAYMENT_PARAM_INVALID/);
    const once = await post(`code=${open.code}&method=TNG_MY&amount=5.00`);
    assert.equal(once.status, 303, 'each field once is a payment');
    // On the sandbox wallet screen, an outcome sent twice is no choice: refused, the payment stays open.
    const order = new URL(once.headers.get('location') ?? '', world.server.url).searchParams.get('order') ?? '';
    const confirm = (body: string) =>
      fetch(`${world.server.url}/sandbox/wallet/confirm`, { method: 'POST', body, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const twoOutcomes = await writesNothing(() => confirm(`order=${order}&outcome=2001&outcome=2001`));
    assert.equal(twoOutcomes.status, 400);
    assert.match(await twoOutcomes.text(), /VALIDATION_ERROR/);
    const stored = await world.db.selectFrom('payment_transactions').select('status').where('id', '=', order).executeTakeFirstOrThrow();
    assert.equal(stored.status, 'IN_PROCESS', 'nothing was paid');
    assert.equal((await confirm(`order=${order}`)).status, 303, 'no outcome at all still pays at once');
  });

  test('filters agree with what is stored: expiry.type FIXED lists FIX codes; a transaction method no transaction carries is refused', async () => {
    const fixed = (
      await world.dev.client.payment.createQrCode({
        ...qrCodeInput(world.dev.merchant.store.id, 'STATIC'),
        expiry: { type: 'FIXED', expiredAt: new Date(world.server.clock.nowMs() + 86_400_000).toISOString() },
      } as never)
    ).item;
    for (const name of ['FIXED', 'FIX']) {
      const listed = (await world.dev.client.payment.qrCodes({ filter: { 'expiry.type': name } } as never)).items;
      assert.ok(listed.some((q) => q.code === fixed.code), `expiry.type ${name} lists the fixed-date QR`);
      assert.ok(listed.every((q) => q.expiry.type === 'FIX' || q.expiry.type === 'FIXED'), `${name}: only fixed-date QR codes`);
    }
    for (const method of ['TNG_MY', 'FOO', { $in: ['TNG', 'WECHATPAY_CN'] }]) {
      const res = await world.dev.client.send('GET', '/v3/payment/transactions', { query: { filter: JSON.stringify({ method }) } });
      assertError(res, 400, 'VALIDATION_ERROR');
      assert.match((res.body as { error: { message: string } }).error.message, /without its region/);
    }
    const bare = await world.dev.client.send('GET', '/v3/payment/transactions', { query: { filter: JSON.stringify({ method: { $in: ['TNG', 'BOOST'] } }) } });
    assert.equal(bare.status, 200, bare.rawText);
  });
});

forEachDialect('outside sandbox mode no customer-scans order is taken', (dialect) => {
  test('QR and checkout payments answer DOES_NOT_HAVE_ACTIVE_WALLET and write nothing; QuickPay still pays', async () => {
    const server = await startTestServer(dialect, { TUNAI_SANDBOX: 'false' });
    const db = openDatabase(server.database.target).db;
    const { writesNothing } = rowCounter(() => db, paymentTables);
    try {
      const dev = await createDeveloper(server, { companyName: 'Production' });
      const storeId = dev.merchant.store.id;
      const qr = (await dev.client.payment.createQrCode(qrCodeInput(storeId, 'DYNAMIC'))).item;
      const checkout = (
        await dev.client.payment.createCheckout({
          order: { id: `prod-${dialect}`, title: 'Kopi', detail: '', additionalData: '', amount: 450, currencyType: 'MYR' },
          method: [],
          type: 'WEB_PAYMENT',
          storeId,
          redirectUrl: 'https://shop.example/return',
          notifyUrl: 'https://shop.example/notify',
        })
      ).item;
      const viaQr = await writesNothing(() => postForm(`${server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' }));
      assert.equal(viaQr.status, 400);
      assert.match(await viaQr.text(), /DOES_NOT_HAVE_ACTIVE_WALLET/);
      const viaPage = await writesNothing(() => postForm(`${server.url}/checkout/pay`, { checkoutId: checkout.checkoutId, method: 'TNG_MY' }));
      assert.match(await viaPage.text(), /DOES_NOT_HAVE_ACTIVE_WALLET/);
      const viaApi = await writesNothing(() =>
        dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: checkout.checkoutId, type: 'URL', method: 'TNG_MY' } }),
      );
      assertError(viaApi, 400, 'DOES_NOT_HAVE_ACTIVE_WALLET');
      const quickPay = await dev.client.payment.quickPay({
        authCode: '134850717797190000',
        order: { id: `prod-qp-${dialect}`, title: 'Kopi', detail: '', additionalData: '', currencyType: 'MYR', amount: 450 },
        ipAddress: '127.0.0.1',
        storeId,
      });
      assert.equal(quickPay.item.status, 'SUCCESS');
    } finally {
      await db.destroy();
      await server.close();
    }
  });
});
