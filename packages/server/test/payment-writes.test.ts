// The payment writes that PostgreSQL runs as single statements, checked on both databases against what is stored:
// a ledger entry that exists books nothing, an outcome answers the transaction as written (or null once the status
// moved), and a used auth code gives the wallet simulator no order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TransactionRecord } from '../src/app/payment-ports.js';
import { applyPaymentResult, reverseUpstream } from '../src/app/payment-outcomes.js';
import { checkLedger } from '../src/app/check-ledger.js';
import { postingsFor } from '../src/domain/ledger.js';
import { sha256Hex } from '../src/lib/secrets.js';
import { WalletSimulator } from '../src/providers/wallet-simulator.js';
import { openDatabase, type OpenedDatabase } from '../src/store/database.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer } from './harness.js';

let serial = 0;
/** A WeChat Pay Malaysia code with the given magic suffix; every code is distinct (codes are single use). */
const wechatCode = (magic: string): string => `13${String(++serial).padStart(12, '0')}${magic}`;

forEachDialect('payment writes', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let direct: OpenedDatabase;

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Writes Sdn Bhd' });
    direct = openDatabase(server.database.target);
  });
  after(async () => {
    await direct?.db.destroy();
    await server?.close();
  });

  async function quickPay(magic: string, amountMinor = 1_500): Promise<{ tx: TransactionRecord; code: string }> {
    const code = wechatCode(magic);
    const orderId = `pw-${dialect}-${++serial}`;
    const res = await dev.client.send('POST', '/v3/payment/quickpay', {
      body: { authCode: code, order: { id: orderId, title: 'Teh tarik', currencyType: 'MYR', amount: amountMinor }, ipAddress: '8.8.8.8', storeId: dev.merchant.store.id },
    });
    assert.equal(res.status, 200, res.rawText);
    const tx = await server.running.storage.payments.getByOrderId(dev.merchant.merchant.id, orderId);
    assert.ok(tx, 'the payment is stored');
    return { tx, code };
  }

  const postingsOf = async (transactionId: string) =>
    (
      await direct.db
        .selectFrom('ledger_postings')
        .innerJoin('ledger_entries', 'ledger_entries.id', 'ledger_postings.entry_id')
        .select(['ledger_entries.id as entry_id', 'ledger_entries.kind', 'ledger_postings.line', 'ledger_postings.account', 'ledger_postings.debit_minor', 'ledger_postings.credit_minor'])
        .where('ledger_entries.transaction_id', '=', transactionId)
        .orderBy('ledger_entries.id')
        .orderBy('ledger_postings.line')
        .execute()
    ).map((row) => ({ ...row, debit_minor: Number(row.debit_minor), credit_minor: Number(row.credit_minor) }));

  test('a paid QuickPay books one PAYMENT entry with its balanced postings; booking it again returns false and adds nothing', async () => {
    const { tx } = await quickPay('0000', 1_500);
    const booked = await postingsOf(tx.id);
    const expected = postingsFor('PAYMENT', tx.merchantId, tx.method, 1_500);
    assert.equal(booked.length, expected.length, 'one posting per line of the entry');
    assert.deepEqual(
      booked.map(({ kind, line, account, debit_minor, credit_minor }) => ({ kind, line, account, debit_minor, credit_minor })),
      expected.map((p, line) => ({ kind: 'PAYMENT', line, account: p.account, debit_minor: p.debitMinor, credit_minor: p.creditMinor })),
    );
    const again = await server.running.storage.payments.ledger.book({
      id: server.running.deps.ids.numericId(),
      transactionId: tx.id,
      merchantId: tx.merchantId,
      kind: 'PAYMENT',
      refundId: '',
      amountMinor: 1_500,
      currency: tx.currency,
      method: tx.method,
      region: tx.region,
      bookedAtMs: server.clock.nowMs(),
      postings: expected,
    });
    assert.equal(again, false, 'the entry exists');
    assert.deepEqual(await postingsOf(tx.id), booked, 'no entry and no posting was added');
  });

  test('an outcome answers the transaction as written; the same outcome once the status moved answers null and writes nothing', async () => {
    const { tx } = await quickPay('1001');
    assert.equal(tx.status, 'IN_PROCESS');
    const nowMs = server.clock.nowMs();
    const written = await server.running.storage.payments.recordOutcome(
      tx.id,
      'IN_PROCESS',
      tx.leaseUntilMs,
      { status: 'FAILED', balanceMinor: 0, errorCode: 'ORDER_CANCELLED', errorMessage: 'cancelled by the test', transactionAtMs: nowMs },
      nowMs,
      null,
    );
    assert.ok(written, 'the outcome was written');
    assert.equal(written.status, 'FAILED');
    assert.equal(written.errorCode, 'ORDER_CANCELLED');
    assert.equal(written.errorMessage, 'cancelled by the test');
    assert.equal(written.nextCheckAtMs, null);
    assert.equal(written.leaseUntilMs, null);
    assert.equal(written.updatedAtMs, nowMs);
    assert.deepEqual(written, await server.running.storage.payments.getById(tx.id), 'the answer is the stored row');
    const late = await server.running.storage.payments.recordOutcome(tx.id, 'IN_PROCESS', tx.leaseUntilMs, { status: 'SUCCESS', balanceMinor: tx.amountMinor }, nowMs + 1, null);
    assert.equal(late, null, 'the status had moved on');
    assert.deepEqual(await server.running.storage.payments.getById(tx.id), written, 'nothing changed');
  });

  test('a step whose lease another step took writes nothing: no outcome, no entry, no reschedule; the holder writes', async () => {
    const { tx } = await quickPay('1001', 1_700);
    assert.equal(tx.leaseUntilMs, null, 'the creating request let go once the wallet answered');
    server.clock.advanceMs(10_000);
    const nowMs = server.clock.nowMs();
    const heldUntilMs = nowMs + 60_000;
    assert.equal(await server.running.storage.payments.claim(tx.id, nowMs, heldUntilMs), true, 'another step claims it');
    const before = await server.running.storage.payments.getById(tx.id);
    const paid = { status: 'SUCCESS' as const, balanceMinor: 1_700, referenceId: 'ref-late', payerUserId: 'p', transactionAtMs: nowMs };
    const entry = {
      id: server.running.deps.ids.numericId(),
      transactionId: tx.id,
      merchantId: tx.merchantId,
      kind: 'PAYMENT' as const,
      refundId: '',
      amountMinor: 1_700,
      currency: tx.currency,
      method: tx.method,
      region: tx.region,
      bookedAtMs: nowMs,
      postings: postingsFor('PAYMENT', tx.merchantId, tx.method, 1_700),
    };
    // The earlier step (it held no lease, or one that lapsed) comes back late with the wallet's answer.
    assert.equal(await server.running.storage.payments.recordOutcome(tx.id, 'IN_PROCESS', null, paid, nowMs, null, entry), null);
    assert.equal(await server.running.storage.payments.recordOutcome(tx.id, 'IN_PROCESS', nowMs - 1, paid, nowMs, null, entry), null);
    await server.running.storage.payments.reschedule(tx.id, null, nowMs, nowMs + 3_000, { queries: 1 });
    assert.deepEqual(await server.running.storage.payments.getById(tx.id), before, 'the row is as the claim left it');
    assert.deepEqual(await postingsOf(tx.id), [], 'nothing was booked');
    // The holder's own write goes through.
    const written = await server.running.storage.payments.recordOutcome(tx.id, 'IN_PROCESS', heldUntilMs, paid, nowMs, null, entry);
    assert.deepEqual([written?.status, written?.leaseUntilMs], ['SUCCESS', null]);
    assert.equal((await postingsOf(tx.id)).length > 0, true, 'the holder booked the payment');
  });

  test('a creating request whose lease lapsed cannot record SUCCESS under the step reversing it: the wallet refund ends REVERSED, booked both ways', async () => {
    // The audit's race: the creator's pay call is answered SUCCESS after its lease lapsed and the closed loop took the
    // payment for its deadline reverse; the reverse then has the wallet refund the payer.
    const { tx } = await quickPay('1001', 2_100);
    const deps = server.running.deps;
    const connector = deps.connectors.byName(tx.connector);
    // What the creator holds in memory: the record it inserted, with its own lease.
    const creatorView: TransactionRecord = { ...tx, leaseUntilMs: tx.createdAtMs + deps.payments.leaseMs };
    // The payer pays in the wallet (1001 pays at its second query): the creator's call comes back SUCCESS.
    await connector.query(tx.id);
    const paid = await connector.query(tx.id);
    assert.equal(paid.status, 'SUCCESS');
    // Past the deadline and the creator's lease, the loop claims the payment to reverse it.
    server.clock.advanceMs(deps.payments.leaseMs + 1_000);
    const nowMs = server.clock.nowMs();
    assert.equal(await deps.storage.payments.claim(tx.id, nowMs, nowMs + deps.payments.leaseMs), true);
    const loopView = await deps.storage.payments.getById(tx.id);
    assert.ok(loopView);
    // The creator's answer arrives now: nothing is written, and it would wait for the final state.
    assert.equal(await applyPaymentResult(deps, connector, creatorView, paid, nowMs), null);
    assert.equal((await deps.storage.payments.getById(tx.id))?.status, 'IN_PROCESS');
    assert.deepEqual(await postingsOf(tx.id), [], 'no PAYMENT booked by the lapsed step');
    // The loop's reverse has the wallet refund the payer, and it is recorded as such.
    await reverseUpstream(deps, connector, loopView, 'REVERSED');
    const ended = await deps.storage.payments.getById(tx.id);
    assert.deepEqual([ended?.status, ended?.balanceMinor, ended?.errorCode, ended?.leaseUntilMs], ['REVERSED', 0, 'PAYMENT_TIMEOUT', null]);
    const order = await server.running.storage.walletSimulator.getOrder(tx.id);
    assert.deepEqual([order?.status, order?.refundedMinor], ['REFUNDED', 2_100], 'the wallet gave the money back');
    const kinds = [...new Set((await postingsOf(tx.id)).map((p) => p.kind))].sort();
    assert.deepEqual(kinds, ['PAYMENT', 'REVERSAL'], 'the payment and its return are both booked');
    const report = await checkLedger(deps.storage);
    assert.deepEqual(report.violations, [], 'the ledger balances');
  });

  test('an outcome written with its ledger entry books it with its postings; once the status moved, neither is written', async () => {
    const { tx } = await quickPay('1001', 2_300);
    const nowMs = server.clock.nowMs();
    const entryFor = () => ({
      id: server.running.deps.ids.numericId(),
      transactionId: tx.id,
      merchantId: tx.merchantId,
      kind: 'PAYMENT' as const,
      refundId: '',
      amountMinor: 2_300,
      currency: tx.currency,
      method: tx.method,
      region: tx.region,
      bookedAtMs: nowMs,
      postings: postingsFor('PAYMENT', tx.merchantId, tx.method, 2_300),
    });
    const paid = { status: 'SUCCESS' as const, balanceMinor: 2_300, referenceId: 'ref-w', payerUserId: 'payer-w', transactionAtMs: nowMs };
    const entry = entryFor();
    const written = await server.running.storage.payments.recordOutcome(tx.id, 'IN_PROCESS', tx.leaseUntilMs, paid, nowMs, null, entry);
    assert.equal(written?.status, 'SUCCESS');
    assert.equal(written?.referenceId, 'ref-w');
    assert.deepEqual(written, await server.running.storage.payments.getById(tx.id), 'the answer is the stored row');
    const booked = await postingsOf(tx.id);
    assert.deepEqual(
      booked.map(({ entry_id, kind, account, debit_minor, credit_minor }) => ({ entry_id, kind, account, debit_minor, credit_minor })),
      entry.postings.map((p) => ({ entry_id: entry.id, kind: 'PAYMENT', account: p.account, debit_minor: p.debitMinor, credit_minor: p.creditMinor })),
    );
    const late = await server.running.storage.payments.recordOutcome(tx.id, 'IN_PROCESS', tx.leaseUntilMs, paid, nowMs + 1, null, { ...entryFor(), kind: 'REVERSAL' });
    assert.equal(late, null, 'the status had moved on');
    assert.deepEqual(await postingsOf(tx.id), booked, 'no entry was booked for an outcome not written');
  });

  test('the wallet simulator never moves an order from a status it no longer has: a closed order is not paid, a refund happens once', async () => {
    const { tx } = await quickPay('1001', 1_900);
    const books = server.running.storage.walletSimulator;
    assert.equal((await books.getOrder(tx.id))?.status, 'USERPAYING');
    assert.equal(await books.closeOrder(tx.id, 'USERPAYING'), true, "a reverse closes the payer's order");
    assert.equal(await books.moveOrder(tx.id, 'USERPAYING', { status: 'SUCCESS', paidAtMs: 1 }), false, 'a payer decision read before the close pays nothing');
    assert.deepEqual([(await books.getOrder(tx.id))?.status, (await books.getOrder(tx.id))?.paidAtMs], ['CLOSED', null]);
    const paid = await quickPay('0000', 800);
    assert.equal(await books.moveOrder(paid.tx.id, 'SUCCESS', { status: 'REFUNDED', refundedMinor: 800 }), true);
    assert.equal(await books.moveOrder(paid.tx.id, 'SUCCESS', { status: 'REFUNDED', refundedMinor: 800 }), false, 'refunded once');
    assert.equal((await books.getOrder(paid.tx.id))?.refundedMinor, 800);
  });

  test('the wallet simulator: a used code gives no order; a new one stores the order as given', async () => {
    const { tx, code } = await quickPay('0000');
    const simulator = server.running.storage.walletSimulator;
    const order = {
      upstreamOrderId: `${tx.id}-second`,
      codeHash: sha256Hex(`authcode:${code}`),
      scenario: '0000',
      amountMinor: 700,
      status: 'SUCCESS' as const,
      queryCount: 0,
      reverseAttempts: 0,
      refundedMinor: 0,
      referenceId: 'ref-second',
      payerId: 'payer-second',
      createdAtMs: 1_700_000_000_000,
      paidAtMs: null,
    };
    assert.equal(await simulator.claimCodeAndInsertOrder(order), false, 'the code was used by the QuickPay');
    assert.equal(await simulator.getOrder(order.upstreamOrderId), null, 'no order for the used code');

    const fresh = { ...order, upstreamOrderId: `${tx.id}-fresh`, codeHash: sha256Hex(`authcode:${wechatCode('0000')}`) };
    assert.equal(await simulator.claimCodeAndInsertOrder(fresh), true);
    assert.deepEqual(await simulator.getOrder(fresh.upstreamOrderId), fresh, 'stored field for field');
    const claimed = await direct.db.selectFrom('sim_wallet_codes').selectAll().where('code_hash', '=', fresh.codeHash).executeTakeFirst();
    assert.deepEqual({ ...claimed, seen_at_ms: Number(claimed?.seen_at_ms) }, { code_hash: fresh.codeHash, upstream_order_id: fresh.upstreamOrderId, seen_at_ms: fresh.createdAtMs });
    assert.equal(await simulator.claimCodeAndInsertOrder({ ...fresh, upstreamOrderId: `${tx.id}-third` }), false, 'single use');
  });

  test('the wallet: a reverse of an order it never saw closes the order number, and a pay arriving after it charges nobody', async () => {
    // As when a process stalls between storing IN_PROCESS and calling the wallet, past its lease, and another process's
    // closed loop finds nothing at the wallet and reverses: the late pay must not charge the payer.
    const wallet = new WalletSimulator(server.running.storage.walletSimulator, server.clock);
    const upstreamOrderId = `late-${wechatCode('0000')}`;
    assert.deepEqual(await wallet.reverse(upstreamOrderId), { status: 'REVERSED' });
    const request = { upstreamOrderId, authCode: wechatCode('0000'), amountMinor: 450, currency: 'MYR', method: 'WECHATPAY' as const, region: 'MALAYSIA' as const, title: 'Kopi' };
    assert.deepEqual(await wallet.pay(request), { status: 'FAILED', code: 'ORDER_CLOSED', message: 'The order was closed by a reverse before it was paid' });
    const order = await server.running.storage.walletSimulator.getOrder(upstreamOrderId);
    assert.deepEqual([order?.status, order?.amountMinor, order?.paidAtMs], ['CLOSED', 0, null], 'nothing was charged');
    // The closed order answers queries and further reverses as any closed order does.
    assert.equal((await wallet.query(upstreamOrderId)).status, 'UNKNOWN');
    assert.deepEqual(await wallet.reverse(upstreamOrderId), { status: 'REVERSED' });
    // The code itself was not used up by the refused pay.
    assert.equal((await wallet.pay({ ...request, upstreamOrderId: `${upstreamOrderId}-next` })).status, 'SUCCESS');
  });
});
