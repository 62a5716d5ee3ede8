// Idempotency-Key over real HTTP on both databases: one run per app and key, the first answer replayed, never twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { RawResponse } from '@tunai/client';
import { limits, type Transaction } from '@tunai/client/contract';
import type { Credentials } from '../src/cli/main.js';
import { checkLedger } from '../src/app/check-ledger.js';
import { openDatabase } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { assertError, rowCounter } from './api-checks.js';
import { advanceClock, clientFor, initialisedDatabase, killHard, startClockedServe, waitFor, type InitialisedDatabase } from './child-server.js';
import { createDeveloper, forEachDialect, startTestServer, storeInput, type Developer, type TestServer } from './harness.js';

let codeCounter = 0;
/** A fresh WeChat Pay MY auth code ending in the simulator's magic `suffix` (codes are single use). */
function authCode(suffix = '0000'): string {
  codeCounter += 1;
  return `13${String(800_000_000 + codeCounter).padStart(12, '0')}${suffix}`;
}
let orderCounter = 0;
const orderId = (prefix: string) => `${prefix}-${++orderCounter}`;

const replayed = (response: RawResponse) => response.headers.get('idempotent-replayed');
const written = ['payment_transactions', 'payment_refunds', 'ledger_entries', 'stores', 'idempotency_keys'] as const;

forEachDialect('Idempotency-Key', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let other: Developer;
  let db: Kysely<Database>;
  const counter = rowCounter(() => db, written);

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Idem Merchant' });
    other = await createDeveloper(server, { companyName: 'Idem Other' });
    db = openDatabase(server.database.target).db;
  });
  after(async () => {
    await db.destroy();
    await server.close();
  });

  const quickPayBody = (code: string, id: string, amount = 500, developer: Developer = dev) => ({
    authCode: code,
    order: { id, title: 'idem', detail: 'd', additionalData: '', currencyType: 'MYR', amount },
    ipAddress: '8.8.8.8',
    storeId: developer.merchant.store.id,
  });
  const refundBody = (transactionId: string, amount: number) => ({
    transactionId,
    refund: { type: 'PARTIAL', currencyType: 'MYR', amount },
    reason: 'retry',
  });
  const refundWithKey = (key: string, transactionId: string, amount: number, developer: Developer = dev) =>
    developer.client.send('POST', '/v3/payment/refund', { body: refundBody(transactionId, amount), idempotencyKey: key });

  async function paid(amount = 500): Promise<Transaction> {
    const { item } = await dev.client.payment.quickPay(quickPayBody(authCode(), orderId('paid'), amount));
    assert.equal(item.status, 'SUCCESS');
    return item;
  }
  async function refundRows(transactionId: string): Promise<number> {
    return (await db.selectFrom('payment_refunds').select('id').where('transaction_id', '=', transactionId).execute()).length;
  }
  async function keyRow(clientId: string, key: string) {
    return db.selectFrom('idempotency_keys').selectAll().where('client_id', '=', clientId).where('idempotency_key', '=', key).executeTakeFirst();
  }
  async function assertLedgerClean(): Promise<void> {
    const report = await checkLedger(server.running.storage);
    assert.deepEqual(report.violations, []);
  }

  test('a refund retried with the same key refunds once; the retry gets the first answer byte for byte, marked replayed', async () => {
    const tx = await paid(500);
    const key = `refund-${tx.transactionId}`;
    const first = await refundWithKey(key, tx.transactionId, 120);
    assert.equal(first.status, 200, first.rawText);
    assert.equal(replayed(first), null);
    const firstItem = (first.body as { item: Transaction }).item;
    assert.equal(firstItem.status, 'PARTIAL_REFUNDED');
    assert.equal(firstItem.balanceAmount, 380);

    const again = await counter.writesNothing(() => refundWithKey(key, tx.transactionId, 120));
    assert.equal(again.status, 200);
    assert.equal(replayed(again), 'true');
    assert.equal(again.rawText, first.rawText);
    assert.match(again.headers.get('content-type') ?? '', /^application\/json/);

    assert.equal(await refundRows(tx.transactionId), 1);
    assert.equal((await dev.client.payment.transaction(tx.transactionId)).item.balanceAmount, 380);
    const row = await keyRow(dev.clientId, key);
    assert.equal(Number(row?.http_status), 200);
    assert.equal(row?.response_body, first.rawText);
    await assertLedgerClean();
  });

  test('the typed client sends the key: a QuickPay retried after a lost answer is charged once', async () => {
    const body = quickPayBody(authCode(), orderId('qp'), 730);
    const key = `qp-${body.order.id}`;
    const first = await dev.client.payment.quickPay(body, { idempotencyKey: key });
    const again = await dev.client.payment.quickPay(body, { idempotencyKey: key });
    assert.deepEqual(again, first);
    const rows = await db.selectFrom('payment_transactions').select('id').where('order_id', '=', body.order.id).execute();
    assert.equal(rows.length, 1);
    // Without the key the same call is RM's duplicate order, as before: the key changes nothing for other requests.
    await assert.rejects(dev.client.payment.quickPay(body), (error: { code?: string }) => error.code === 'TRANSACTION_DUPLICATE' || error.code === 'ORDER_ID_DUPLICATE');
    await assertLedgerClean();
  });

  test('the key is matched on the canonical body: the same JSON with its keys in another order is the same request', async () => {
    const tx = await paid(400);
    const key = `order-free-${tx.transactionId}`;
    const first = await refundWithKey(key, tx.transactionId, 50);
    assert.equal(first.status, 200, first.rawText);
    const reordered = { reason: 'retry', refund: { amount: 50, currencyType: 'MYR', type: 'PARTIAL' }, transactionId: tx.transactionId };
    const again = await dev.client.send('POST', '/v3/payment/refund', { body: reordered, idempotencyKey: key });
    assert.equal(replayed(again), 'true');
    assert.equal(again.rawText, first.rawText);
    assert.equal(await refundRows(tx.transactionId), 1);
  });

  test('the same key with another body or another path → 422 INVALID_REQUEST, nothing runs and nothing is written', async () => {
    const tx = await paid(400);
    const key = `mismatch-${tx.transactionId}`;
    assert.equal((await refundWithKey(key, tx.transactionId, 10)).status, 200);
    const otherAmount = await counter.writesNothing(() => refundWithKey(key, tx.transactionId, 11));
    assertError(otherAmount, 422, 'INVALID_REQUEST');
    assert.match((otherAmount.body as { error: { message: string } }).error.message, /different request/);
    const otherPath = await counter.writesNothing(() =>
      dev.client.send('POST', '/v3/payment/reverse', { body: { orderId: tx.order.id }, idempotencyKey: key }),
    );
    assertError(otherPath, 422, 'INVALID_REQUEST');
    assert.equal(await refundRows(tx.transactionId), 1);
    assert.equal((await dev.client.payment.transaction(tx.transactionId)).item.status, 'PARTIAL_REFUNDED');
  });

  test('a refusal is an answer too: a refund beyond the balance is refused again on retry, even after the balance changes', async () => {
    const tx = await paid(300);
    const key = `too-much-${tx.transactionId}`;
    const first = await refundWithKey(key, tx.transactionId, 301);
    assertError(first, 400, 'INSUFFICIENT_REFUND_AMOUNT');
    const again = await refundWithKey(key, tx.transactionId, 301);
    assert.equal(replayed(again), 'true');
    assert.equal(again.status, 400);
    assert.equal(again.rawText, first.rawText);
    assert.equal(await refundRows(tx.transactionId), 0);
  });

  test('12 concurrent refunds with one key: exactly one runs; the others get its answer or 409 while it runs', async () => {
    const tx = await paid(1_000);
    const key = `race-${tx.transactionId}`;
    const answers = await Promise.all(Array.from({ length: 12 }, () => refundWithKey(key, tx.transactionId, 100)));
    const ok = answers.filter((a) => a.status === 200);
    for (const answer of answers) {
      if (answer.status !== 200) assertError(answer, 409, 'INVALID_REQUEST');
    }
    assert.ok(ok.length >= 1, 'one of them ran');
    assert.equal(new Set(ok.map((a) => a.rawText)).size, 1, 'every 200 is the same answer');
    assert.equal(ok.filter((a) => replayed(a) === null).length, 1, 'exactly one answer is not a replay');
    assert.equal(await refundRows(tx.transactionId), 1);
    assert.equal((await dev.client.payment.transaction(tx.transactionId)).item.balanceAmount, 900);
    // Once it has finished, a retry is a replay.
    const late = await refundWithKey(key, tx.transactionId, 100);
    assert.equal(replayed(late), 'true');
    await assertLedgerClean();
  });

  test('keys belong to one app: another merchant’s app may use the same key for its own request', async () => {
    const mine = await paid(200);
    const key = `shared-key-${mine.transactionId}`;
    assert.equal((await refundWithKey(key, mine.transactionId, 20)).status, 200);
    const { item: theirs } = await other.client.payment.quickPay(quickPayBody(authCode(), orderId('other'), 200, other));
    const theirRefund = await refundWithKey(key, theirs.transactionId, 30, other);
    assert.equal(theirRefund.status, 200, theirRefund.rawText);
    assert.equal(replayed(theirRefund), null);
    assert.equal((theirRefund.body as { item: Transaction }).item.balanceAmount, 170);
    // And the other merchant's app cannot read this merchant's answer through the key.
    assert.ok(!theirRefund.rawText.includes(mine.transactionId), 'the other app sees nothing of this merchant');
  });

  test('store create and delete with a key: a retried create makes one store, a retried delete answers the first SUCCESS', async () => {
    const key = `store-${orderId('s')}`;
    const input = storeInput('Idempotent Kiosk');
    const first = await dev.client.stores.create(input, { idempotencyKey: key });
    const again = await dev.client.stores.create(input, { idempotencyKey: key });
    assert.deepEqual(again, first);
    const named = await db.selectFrom('stores').select('id').where('name', '=', 'Idempotent Kiosk').where('deleted_at_ms', 'is', null).execute();
    assert.equal(named.length, 1);

    const deleteKey = `${key}-delete`;
    assert.deepEqual(await dev.client.stores.delete(first.item.id, { idempotencyKey: deleteKey }), { code: 'SUCCESS' });
    // Without the key a second delete is STORE_NOT_FOUND; with it, the first answer.
    assert.deepEqual(await dev.client.stores.delete(first.item.id, { idempotencyKey: deleteKey }), { code: 'SUCCESS' });
    const plain = await dev.client.send('DELETE', `/v3/store/${first.item.id}`);
    assertError(plain, 404, 'STORE_NOT_FOUND');
  });

  test(`a key of ${limits.idempotencyKeyCharsMax} visible ASCII characters works; longer, empty or with spaces → 400 INVALID_REQUEST, nothing written`, async () => {
    const longest = 'k'.repeat(limits.idempotencyKeyCharsMax - 12) + `${Date.now()}`.slice(-12);
    assert.equal(longest.length, limits.idempotencyKeyCharsMax);
    const tx = await paid(300);
    assert.equal((await refundWithKey(longest, tx.transactionId, 10)).status, 200);
    for (const bad of [`${longest}x`, 'two words', 'tab\there', 'ключ']) {
      const refused = await counter.writesNothing(() =>
        dev.client.send('POST', '/v3/payment/refund', { body: refundBody(tx.transactionId, 10), headers: { 'Idempotency-Key': bad } }).catch(
          // fetch itself refuses header values outside Latin-1: that is a refusal before anything reaches us.
          (error: unknown) => error,
        ),
      );
      if (refused instanceof Error) continue;
      assertError(refused as RawResponse, 400, 'INVALID_REQUEST');
      assert.match(((refused as RawResponse).body as { error: { message: string } }).error.message, /Idempotency-Key/);
    }
    assert.equal(await refundRows(tx.transactionId), 1);
  });

  test('on GET the key has no effect, and the read-only settlement report ignores it', async () => {
    const before = await counter.countRows();
    const read = await dev.client.send('GET', '/v3/merchant', { idempotencyKey: 'read-1' });
    assert.equal(read.status, 200);
    assert.equal(replayed(read), null);
    const report = await dev.client.send('POST', '/v3/payment/settlement/csv', {
      body: { date: '2026-01-01', method: 'ALL', region: 'MALAYSIA', sequence: 1 },
      idempotencyKey: 'report-1',
    });
    assert.equal(report.status, 200, report.rawText);
    assert.match(report.headers.get('content-type') ?? '', /text\/csv/);
    assert.deepEqual(await counter.countRows(), before);
  });

  test('a request refused before it runs (bad token, bad signature, wrong scope) does not take the key', async () => {
    const tx = await paid(300);
    const key = `pre-${tx.transactionId}`;
    const noToken = await dev.client.send('POST', '/v3/payment/refund', { body: refundBody(tx.transactionId, 10), idempotencyKey: key, accessToken: null });
    assertError(noToken, 401, 'TOKEN_INVALID');
    const badSignature = await dev.client.send('POST', '/v3/payment/refund', {
      body: refundBody(tx.transactionId, 10),
      idempotencyKey: key,
      headers: { 'X-Signature': 'sha256 AAAA' },
    });
    assert.equal(badSignature.status, 401);
    assert.equal(await keyRow(dev.clientId, key), undefined);
    const ran = await refundWithKey(key, tx.transactionId, 10);
    assert.equal(ran.status, 200, ran.rawText);
    assert.equal(replayed(ran), null);
  });

  test('an answer is kept for a day: after that the key is free again', async () => {
    const tx = await paid(300);
    const key = `day-${tx.transactionId}`;
    assert.equal((await refundWithKey(key, tx.transactionId, 10)).status, 200);
    await db
      .updateTable('idempotency_keys')
      .set({ expires_at_ms: server.clock.nowMs() - 1 })
      .where('client_id', '=', dev.clientId)
      .where('idempotency_key', '=', key)
      .execute();
    const fresh = await refundWithKey(key, tx.transactionId, 10);
    assert.equal(fresh.status, 200);
    assert.equal(replayed(fresh), null);
    assert.equal(await refundRows(tx.transactionId), 2);
    // The purge removes only expired keys.
    await server.running.storage.idempotency.purgeExpired(server.clock.nowMs());
    // Messages on every assert.ok here: without one, Node re-parses this file to word a failure, which took minutes.
    assert.ok(await keyRow(dev.clientId, key), 'an unexpired key survives the purge');
    assert.equal(await server.running.storage.idempotency.purgeExpired(server.clock.nowMs() + limits.idempotencyKeyTtlMs + 1) > 0, true);
    assert.equal(await keyRow(dev.clientId, key), undefined);
  });
});

forEachDialect('Idempotency-Key across a SIGKILL', (dialect) => {
  let world: InitialisedDatabase | undefined;
  let credentials: Credentials;
  let db: Kysely<Database>;
  before(async () => {
    world = await initialisedDatabase(dialect);
    ({ credentials, db } = world);
  });
  after(async () => {
    await world?.close();
  });

  test('a QuickPay whose server is killed mid-request is never run again under its key: 409 while held, 409 after, one charge', async () => {
    // The wallet answers 1001 codes only after 8 s, so the request is still waiting when the process dies.
    const database = (world as InitialisedDatabase).database;
    const first = await startClockedServe(database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    const body = {
      authCode: authCode('1001'),
      order: { id: orderId('kill'), title: 'killed', detail: 'd', additionalData: '', currencyType: 'MYR', amount: 990 },
      ipAddress: '8.8.8.8',
      storeId: credentials.storeId,
    };
    const key = `kill-${body.order.id}`;
    const inFlight = clientFor(credentials, first).send('POST', '/v3/payment/quickpay', { body, idempotencyKey: key }).catch((error: unknown) => error);
    await waitFor('the payment to be stored IN_PROCESS', async () =>
      (await db.selectFrom('payment_transactions').select('id').where('order_id', '=', body.order.id).executeTakeFirst()) ?? undefined,
    );
    await killHard(first);
    assert.ok((await inFlight) instanceof Error, 'the first caller never got an answer');

    const second = await startClockedServe(database, { TUNAI_CLOSED_LOOP_INTERVAL_MS: '0' });
    const secondClient = clientFor(credentials, second);
    const held = await secondClient.send('POST', '/v3/payment/quickpay', { body, idempotencyKey: key });
    assertError(held, 409, 'INVALID_REQUEST');
    assert.match((held.body as { error: { message: string } }).error.message, /still being processed/);

    await advanceClock(second, limits.idempotencyLeaseMs / 1000 + 1);
    const after = await secondClient.send('POST', '/v3/payment/quickpay', { body, idempotencyKey: key });
    assertError(after, 409, 'INVALID_REQUEST');
    assert.match((after.body as { error: { message: string } }).error.message, /ended without an answer/);

    const rows = await db.selectFrom('payment_transactions').select(['id', 'status']).where('order_id', '=', body.order.id).execute();
    assert.equal(rows.length, 1, 'one transaction for the order');
    const payments = await db.selectFrom('ledger_entries').select('id').where('transaction_id', '=', rows[0]?.id ?? '').where('kind', '=', 'PAYMENT').execute();
    assert.ok(payments.length <= 1, 'charged at most once');
    await killHard(second);
  });
});
