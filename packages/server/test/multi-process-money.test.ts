// Money with two `tunai serve` processes at once: a seeded storm of QuickPays, refunds, reverses and cross-process key retries with a SIGKILL in the middle; then the books.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { TunaiClient } from '@tunai/client';
import type { Credentials } from '../src/cli/main.js';
import type { Database } from '../src/store/schema.js';
import {
  advanceClock,
  clientFor,
  initialisedDatabase,
  killHard,
  startClockedServe,
  tunai,
  waitFor,
  type ClockedServer,
  type InitialisedDatabase,
} from './child-server.js';
import { forEachDialect, seededRandom, type FreshDatabase } from './harness.js';

/** The workload is drawn from this seed (set TUNAI_TEST_SEED to replay another one); every choice is drawn before it runs. */
const seed = Number(process.env.TUNAI_TEST_SEED ?? 20_261_207);

const paymentCount = 24;
/** Closed loop on in both processes, fast, so they race each other (and the requests) for every step. */
const closedLoopIntervalMs = 50;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function serve(database: FreshDatabase): Promise<ClockedServer> {
  return startClockedServe(database, {
    TUNAI_QUICKPAY_WAIT_MS: '0',
    TUNAI_CLOSED_LOOP_INTERVAL_MS: String(closedLoopIntervalMs),
    TUNAI_OUTBOX_INTERVAL_MS: '0',
  });
}

/** What one send gave the client: an answer, or nothing (connection refused or cut by the kill). */
type Outcome =
  | { kind: 'answer'; lane: number; status: number; rawText: string; code: string | null; replayed: boolean; body: any }
  | { kind: 'lost'; lane: number; error: string };

interface Attempt {
  phase: string;
  outcome: Outcome;
}

interface Payment {
  orderId: string;
  suffix: string;
  amount: number;
  key: string;
  body: Record<string, unknown>;
  attempts: Attempt[];
}

/** A refund or a reverse under its own Idempotency-Key; a refund's `reason` is its key, so its stored row names it. */
interface Op {
  key: string;
  kind: 'refund' | 'reverse';
  payment: Payment;
  path: string;
  body: Record<string, unknown>;
  type: 'PARTIAL' | 'FULL' | null;
  amountMinor: number;
  attempts: Attempt[];
}

/** When and where an op is sent, and whether its key is sent again to the other process. */
interface Plan {
  op: Op;
  lane: number;
  delayMs: number;
  /** `concurrent`: the same key to the other process right away; `later`: in the next phase. */
  duplicate: 'none' | 'concurrent' | 'later';
  duplicateDelayMs: number;
}

const refundRefusals = new Set(['INSUFFICIENT_REFUND_AMOUNT', 'PAYMENT_FULLY_REFUNDED', 'REFUND_AMT_NOT_SAME_AS_TRANSACTION', 'TRANSACTIN_STATUS_NOT_SUCCESS']);
const reverseRefusals = new Set(['TRANSACTION_STATUS_NOT_IN_PROCESS', 'FAILED_TO_REVERSE_ORDER']);

forEachDialect('money across two server processes and a SIGKILL', (dialect) => {
  let database: FreshDatabase;
  let credentials: Credentials;
  let db: Kysely<Database>;
  const servers: ClockedServer[] = [];
  const clients: TunaiClient[] = [];
  const inflight = [0, 0];

  let world: InitialisedDatabase | undefined;
  before(async () => {
    world = await initialisedDatabase(dialect);
    ({ database, credentials, db } = world);
  });
  after(async () => {
    await world?.close();
  });

  async function send(lane: number, path: string, body: Record<string, unknown>, key: string | null): Promise<Outcome> {
    const client = clients[lane];
    assert.ok(client);
    inflight[lane] = (inflight[lane] ?? 0) + 1;
    try {
      const response = await client.send('POST', path, { body, ...(key === null ? {} : { idempotencyKey: key }) });
      const parsed = response.body as { error?: { code?: string } } | undefined;
      return {
        kind: 'answer',
        lane,
        status: response.status,
        rawText: response.rawText,
        code: parsed?.error?.code ?? null,
        replayed: response.headers.get('idempotent-replayed') === 'true',
        body: response.body,
      };
    } catch (error) {
      return { kind: 'lost', lane, error: error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error) };
    } finally {
      inflight[lane] = (inflight[lane] ?? 1) - 1;
    }
  }

  /** Payments and refunds either process could take now (the closed loop's own due conditions). */
  async function dueCount(nowMs: number): Promise<number> {
    const payments = await db
      .selectFrom('payment_transactions')
      .select('id')
      .where('next_check_at_ms', '<=', nowMs)
      .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<=', nowMs)]))
      .execute();
    const refunds = await db.selectFrom('payment_refunds').select('id').where('status', '=', 'PENDING').where('next_attempt_at_ms', '<=', nowMs).execute();
    return payments.length + refunds.length;
  }

  /** Moves both clocks by `seconds`, waits until their loops took all due work, then joins the tick in flight. */
  async function stepClocks(seconds: number): Promise<void> {
    // One move reaches both processes: the offset lives in the database.
    await advanceClock(servers[0] as ClockedServer, seconds);
    const offsetMs = (servers[0] as ClockedServer).offsetMs;
    await waitFor(`the closed loops to take all due work at +${offsetMs / 1000} s`, async () => ((await dueCount(Date.now() + offsetMs)) === 0 ? true : undefined));
    for (const server of servers) {
      const response = await fetch(`${server.url}/sandbox/closed-loop/run`, { method: 'POST' });
      assert.equal(response.status, 200, await response.text());
    }
  }

  /**
   * The money invariant of one transaction row, read in ONE statement (one snapshot, on both databases) while the
   * storm runs: a refund reserves its amount (balance_minor −= amount, with a PENDING refund row) in the db transaction
   * that inserts the row, and its outcome moves it to refunded_minor (SUCCESS) or back to balance_minor (FAILED) in
   * the db transaction that finishes the row. So at every instant, for SUCCESS / PARTIAL_REFUNDED / FULL_REFUNDED:
   * balance = amount − Σ SUCCESS refunds − Σ PENDING refunds, refunded_minor = Σ SUCCESS refunds ≤ amount; a
   * REVERSED or FAILED payment has balance 0 and no refunds. Returns the violations and how many reservations it saw.
   */
  async function invariantSnapshot(): Promise<{ violations: string[]; inFlight: number }> {
    const { rows } = await sql<{ id: string; status: string; amount: string | number; balance: string | number; refunded: string | number; succeeded: string | number; pending: string | number }>`
      select t.id, t.status, t.amount_minor as amount, t.balance_minor as balance, t.refunded_minor as refunded,
        (select coalesce(sum(r.amount_minor), 0) from payment_refunds r where r.transaction_id = t.id and r.status = 'SUCCESS') as succeeded,
        (select coalesce(sum(r.amount_minor), 0) from payment_refunds r where r.transaction_id = t.id and r.status = 'PENDING') as pending
      from payment_transactions t`.execute(db);
    const violations: string[] = [];
    let inFlight = 0;
    for (const r of rows) {
      const [amount, balance, refunded, succeeded, pending] = [r.amount, r.balance, r.refunded, r.succeeded, r.pending].map(Number) as [number, number, number, number, number];
      const where = `${r.id} (${r.status}) amount ${amount} balance ${balance} refunded ${refunded} succeeded ${succeeded} pending ${pending}`;
      inFlight += pending > 0 ? 1 : 0;
      if (refunded !== succeeded || refunded > amount || balance < 0) violations.push(`${where}: refunded beyond the refunds or the amount`);
      if (['SUCCESS', 'PARTIAL_REFUNDED', 'FULL_REFUNDED'].includes(r.status) && balance !== amount - succeeded - pending) violations.push(`${where}: balance ≠ amount − refunded − reserved`);
      if (['REVERSED', 'FAILED', 'IN_PROCESS'].includes(r.status) && (succeeded !== 0 || pending !== 0)) violations.push(`${where}: refunds on a payment that is not paid`);
      if (['REVERSED', 'FAILED'].includes(r.status) && balance !== 0) violations.push(`${where}: balance left on a payment that is not paid`);
    }
    return { violations, inFlight };
  }

  /** Takes invariant snapshots until `stop` is set; fails on the first violation seen. */
  function watchInvariants(stop: { now: boolean }, seen: { snapshots: number; withReservations: number }): Promise<void> {
    return (async () => {
      while (!stop.now) {
        const { violations, inFlight } = await invariantSnapshot();
        assert.deepEqual(violations, [], 'the money invariant holds at every instant');
        seen.snapshots += 1;
        seen.withReservations += inFlight > 0 ? 1 : 0;
        await pause(15);
      }
    })();
  }

  async function ledgerCheck(when: string): Promise<number> {
    const check = await tunai(['ledger', 'check', '--json', ...database.configArgs]);
    assert.equal(check.code, 0, `tunai ledger check ${when} failed:\n${check.stdout}${check.stderr}`);
    const report = JSON.parse(check.stdout) as { ok: boolean; violations: string[]; transactionsChecked: number };
    assert.deepEqual(report.violations, [], when);
    assert.equal(report.ok, true);
    return report.transactionsChecked;
  }

  test('a seeded storm of payments, refunds, reverses and retries across two processes, one SIGKILLed and restarted: the books hold', async (t) => {
    const started = Date.now();
    const rng = seededRandom(seed + (dialect === 'sqlite' ? 0 : 1));
    const pick = <T>(choices: readonly (readonly [T, number])[]): T => {
      let roll = rng() * choices.reduce((sum, [, weight]) => sum + weight, 0);
      for (const [value, weight] of choices) {
        roll -= weight;
        if (roll < 0) return value;
      }
      return (choices[choices.length - 1] as readonly [T, number])[0];
    };
    const int = (min: number, max: number) => min + Math.floor(rng() * (max - min + 1));

    servers.push(...(await Promise.all([serve(database), serve(database)])));
    for (const server of servers) clients.push(clientFor(credentials, server));
    await Promise.all(clients.map((client) => client.getAccessToken()));
    /** Answers that are neither a success nor a refusal the race explains: reported together at the end. */
    const surprises: string[] = [];
    const surprise = (what: string, outcome: Outcome) => {
      if (outcome.kind === 'answer') surprises.push(`${what}: ${outcome.status} ${outcome.rawText.slice(0, 300)}`);
    };

    // ---- 1. QuickPays, some retried with the same key on the other process (at once or after), some without a key ---
    const payments: Payment[] = Array.from({ length: paymentCount }, (_, i) => {
      const suffix = pick([['0000', 12], ['1001', 3], ['3001', 2], ['3004', 2], ['1004', 2], ['1002', 1], ['3003', 1]] as const);
      const orderId = `mpm-${dialect}-${i}`;
      const amount = int(100, 2_000);
      const body = {
        authCode: `13${String(500_000_000 + i).padStart(12, '0')}${suffix}`,
        order: { id: orderId, title: 'storm', detail: 'd', additionalData: '', currencyType: 'MYR', amount },
        ipAddress: '8.8.8.8',
        storeId: credentials.storeId,
      };
      return { orderId, suffix, amount, key: `qp-${orderId}`, body, attempts: [] };
    });
    const quickPayPlans = payments.map((payment) => ({
      payment,
      lane: int(0, 1),
      delayMs: int(0, 30),
      retry: pick([['none', 2], ['concurrent', 2], ['after', 2], ['after-without-key', 1]] as const),
    }));
    await Promise.all(
      quickPayPlans.map(async ({ payment, lane, delayMs, retry }) => {
        await pause(delayMs);
        const other = 1 - lane;
        const first = send(lane, '/v3/payment/quickpay', payment.body, payment.key);
        const concurrent = retry === 'concurrent' ? send(other, '/v3/payment/quickpay', payment.body, payment.key) : null;
        payment.attempts.push({ phase: 'quickpay', outcome: await first });
        if (concurrent) payment.attempts.push({ phase: 'quickpay-concurrent', outcome: await concurrent });
        if (retry === 'after') payment.attempts.push({ phase: 'quickpay-retry', outcome: await send(other, '/v3/payment/quickpay', payment.body, payment.key) });
        if (retry === 'after-without-key') {
          const plain = await send(other, '/v3/payment/quickpay', payment.body, null);
          if (!(plain.kind === 'answer' && plain.status === 400 && plain.code === 'TRANSACTION_DUPLICATE')) surprise(`${payment.orderId} resent without a key`, plain);
        }
      }),
    );
    const transactionIds = new Map<string, string>();
    for (const payment of payments) {
      const row = await db.selectFrom('payment_transactions').select('id').where('order_id', '=', payment.orderId).executeTakeFirstOrThrow();
      transactionIds.set(payment.orderId, row.id);
      for (const { outcome } of payment.attempts) {
        if (outcome.kind !== 'answer' || (outcome.status === 409 && outcome.code === 'INVALID_REQUEST')) continue;
        if (outcome.status !== 200) {
          surprise(`QuickPay ${payment.orderId} (${payment.suffix})`, outcome);
          continue;
        }
        const item = (outcome.body as { item: { transactionId: string; status: string; order: { id: string } } }).item;
        assert.equal(item.transactionId, row.id, `${payment.orderId}: the acknowledged QuickPay is the stored one`);
        assert.equal(item.order.id, payment.orderId);
        if (payment.suffix === '0000' && !outcome.replayed) assert.equal(item.status, 'SUCCESS', `${payment.orderId} pays at once`);
      }
    }
    const txOf = (payment: Payment) => transactionIds.get(payment.orderId) as string;

    // ---- 2. Storm: refunds and reverses split across both processes, same-key copies on the other; SIGKILL A midway ---
    let opCounter = 0;
    const newOp = (payment: Payment, kind: Op['kind'], type: Op['type'], amountMinor: number): Op => {
      const key = `${kind === 'refund' ? 'rf' : 'rv'}-${dialect}-${++opCounter}`;
      const body =
        kind === 'reverse'
          ? { orderId: payment.orderId }
          : { transactionId: txOf(payment), refund: { type, currencyType: 'MYR', amount: amountMinor }, reason: key };
      return { key, kind, payment, path: kind === 'reverse' ? '/v3/payment/reverse' : '/v3/payment/refund', body, type, amountMinor, attempts: [] };
    };
    const ops: Op[] = [];
    /** Draws the ops for one phase: each payment gets 2–5, mostly partial refunds, some FULL (at `fullOf`), some reverses. */
    const planStorm = (fullOf: (payment: Payment) => number): Plan[] => {
      const plans: Plan[] = [];
      for (const payment of payments) {
        const count = int(2, 5);
        for (let i = 0; i < count; i++) {
          const kind = pick([['partial', 11], ['big-partial', 2], ['full', 4], ['reverse', 3]] as const);
          const op =
            kind === 'reverse'
              ? newOp(payment, 'reverse', null, 0)
              : kind === 'full'
                ? newOp(payment, 'refund', 'FULL', fullOf(payment))
                : newOp(payment, 'refund', 'PARTIAL', kind === 'partial' ? int(1, Math.max(1, Math.floor(payment.amount / 3))) : int(Math.floor(payment.amount / 2), payment.amount));
          ops.push(op);
          plans.push({ op, lane: int(0, 1), delayMs: int(0, 60), duplicate: pick([['none', 5], ['concurrent', 3], ['later', 2]] as const), duplicateDelayMs: int(0, 20) });
        }
      }
      return plans;
    };
    const runPlans = async (phase: string, plans: Plan[], afterEach: () => void = () => undefined): Promise<void> => {
      await Promise.all(
        plans.map(async (plan) => {
          await pause(plan.delayMs);
          const first = send(plan.lane, plan.op.path, plan.op.body, plan.op.key).then((outcome) => {
            plan.op.attempts.push({ phase, outcome });
            afterEach();
          });
          const copy =
            plan.duplicate === 'concurrent'
              ? pause(plan.duplicateDelayMs)
                  .then(() => send(1 - plan.lane, plan.op.path, plan.op.body, plan.op.key))
                  .then((outcome) => {
                    plan.op.attempts.push({ phase: `${phase}-copy`, outcome });
                    afterEach();
                  })
              : null;
          await Promise.all([first, copy]);
        }),
      );
    };

    const storm1 = planStorm((payment) => payment.amount);
    const expectedAnswers = storm1.reduce((n, plan) => n + (plan.duplicate === 'concurrent' ? 2 : 1), 0);
    const killAfterAnswers = Math.floor(expectedAnswers * (0.25 + rng() * 0.35));
    let answers = 0;
    const kill: { done: Promise<void> | null; inflightAtKill: number } = { done: null, inflightAtKill: 0 };
    const victim = servers[0] as ClockedServer;
    const maybeKill = () => {
      answers += 1;
      // The kill lands while requests are open on the victim, so some die mid-flight (at the latest: after the last).
      if (kill.done === null && answers >= killAfterAnswers && ((inflight[0] ?? 0) > 0 || answers >= expectedAnswers)) {
        kill.inflightAtKill = inflight[0] ?? 0;
        kill.done = killHard(victim);
      }
    };
    const seen = { snapshots: 0, withReservations: 0 };
    const stopWatching = { now: false };
    const watching1 = watchInvariants(stopWatching, seen);
    const ledgerDuringStorm1 = ledgerCheck('during the first storm');
    await runPlans('storm1', storm1, maybeKill).finally(() => (stopWatching.now = true));
    await Promise.all([ledgerDuringStorm1, watching1]);
    assert.ok(kill.done, 'the victim was killed');
    await kill.done;
    assert.equal(victim.child.signalCode, 'SIGKILL');

    // ---- 3. Restart A on the same database; every send the kill swallowed is retried, same key, on the other process --
    const restarted = await serve(database);
    // It starts at the sandbox time already reached, which it reads from the database.
    const restartedNowMs = ((await (await fetch(`${restarted.url}/sandbox/clock`)).json()) as { item: { nowMs: number } }).item.nowMs;
    assert.ok(Math.abs(restartedNowMs - (Date.now() + restarted.offsetMs)) < 5_000, `the restarted process runs at +${restarted.offsetMs / 1000} s`);
    servers[0] = restarted;
    clients[0] = clientFor(credentials, restarted);
    await clients[0].getAccessToken();
    const lostOps = ops.filter((op) => op.attempts.some((a) => a.outcome.kind === 'lost'));
    await Promise.all(
      lostOps.map(async (op) => {
        const lostLane = op.attempts.find((a) => a.outcome.kind === 'lost')?.outcome.lane ?? 0;
        op.attempts.push({ phase: 'retry-after-kill', outcome: await send(1 - lostLane, op.path, op.body, op.key) });
      }),
    );
    // Delayed payments finish (1001 at 8 s, 3001 at 5 s, 3004 at 11 s): both loops race for each step.
    await stepClocks(10);
    await stepClocks(10);

    // ---- 4. Second storm on what is now paid, with FULL at the balance as seen, plus the `later` copies of storm 1 ---
    const balances = new Map<string, number>();
    for (const payment of payments) balances.set(payment.orderId, (await clients[1]!.payment.transaction(txOf(payment))).item.balanceAmount);
    const later = storm1.filter((plan) => plan.duplicate === 'later');
    const storm2 = planStorm((payment) => Math.max(1, balances.get(payment.orderId) ?? payment.amount));
    stopWatching.now = false;
    const watching2 = watchInvariants(stopWatching, seen);
    const ledgerDuringStorm2 = ledgerCheck('during the second storm');
    await Promise.all([
      runPlans('storm2', storm2),
      Promise.all(later.map(async (plan) => plan.op.attempts.push({ phase: 'later-copy', outcome: await send(1 - plan.lane, plan.op.path, plan.op.body, plan.op.key) }))),
    ]).finally(() => (stopWatching.now = true));
    await Promise.all([ledgerDuringStorm2, watching2]);
    assert.deepEqual((await invariantSnapshot()).violations, []);

    // ---- 5. Settle: past every deadline (45 s), the dead process's leases (60 s) and its refunds' retry time ----------
    for (let step = 0; step < 8; step++) await stepClocks(10);
    await waitFor('every payment final and no refund pending', async () => {
      const open = await db.selectFrom('payment_transactions').select('id').where('status', '=', 'IN_PROCESS').execute();
      const pending = await db.selectFrom('payment_refunds').select('id').where('status', '=', 'PENDING').execute();
      const reversing = await db.selectFrom('payment_transactions').select('id').where('reverse_requested', '=', 1).where('status', '=', 'SUCCESS').execute();
      return open.length + pending.length + reversing.length === 0 ? true : undefined;
    });

    // ---- 6. Every key once more, on a random process: only replays or "ended without an answer"; nothing runs again ----
    const snapshot = async () => ({
      refunds: (await db.selectFrom('payment_refunds').select(['id', 'status']).orderBy('id').execute()).map((r) => `${r.id}:${r.status}`),
      transactions: (await db.selectFrom('payment_transactions').select(['id', 'status', 'balance_minor', 'refunded_minor']).orderBy('id').execute()).map(
        (r) => `${r.id}:${r.status}:${Number(r.balance_minor)}:${Number(r.refunded_minor)}`,
      ),
      entries: Number((await db.selectFrom('ledger_entries').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    });
    const settled = await snapshot();
    const finalLanes = [...ops.map(() => int(0, 1)), ...payments.map(() => int(0, 1))];
    await Promise.all([
      ...ops.map(async (op, i) => op.attempts.push({ phase: 'final-retry', outcome: await send(finalLanes[i] ?? 0, op.path, op.body, op.key) })),
      ...payments.map(async (payment, i) =>
        payment.attempts.push({ phase: 'final-retry', outcome: await send(finalLanes[ops.length + i] ?? 0, '/v3/payment/quickpay', payment.body, payment.key) }),
      ),
    ]);
    assert.deepEqual(await snapshot(), settled, 'retrying every key after the fact moved no money');
    for (const item of [...ops, ...payments]) {
      const last = item.attempts[item.attempts.length - 1]?.outcome;
      assert.ok(last?.kind === 'answer', `${item.key}: the final retry was answered`);
      if (!last.replayed) assert.deepEqual([last.status, last.code], [409, 'INVALID_REQUEST'], `${item.key}: a settled key is replayed or refused, never run`);
    }

    // ---- Invariants -----------------------------------------------------------------------------------------------
    const checked = await ledgerCheck('after the run');
    assert.equal(checked, paymentCount, 'the ledger check saw every transaction');

    // Each key ran at most once: every answer it got (but "busy"/"ended without an answer") is the same bytes, one not replayed.
    for (const item of [...ops, ...payments]) {
      const real = item.attempts.flatMap((a) => (a.outcome.kind === 'answer' && !(a.outcome.status === 409 && a.outcome.code === 'INVALID_REQUEST') ? [a.outcome] : []));
      assert.ok(real.filter((o) => !o.replayed).length <= 1, `${item.key}: ran at most once (${real.length} answers)`);
      assert.ok(new Set(real.map((o) => `${o.status} ${o.rawText}`)).size <= 1, `${item.key}: every answer is the first one, byte for byte`);
      for (const outcome of item.attempts.map((a) => a.outcome)) {
        if (outcome.kind === 'answer' && outcome.status >= 500) surprise(`${item.key} answered a 5xx`, outcome);
      }
    }

    const txRows = await db.selectFrom('payment_transactions').selectAll().execute();
    const refundRows = await db.selectFrom('payment_refunds').selectAll().execute();
    const entries = await db.selectFrom('ledger_entries').select(['transaction_id', 'kind', 'amount_minor', 'refund_id']).execute();
    const simOrders = await db.selectFrom('sim_wallet_orders').selectAll().execute();
    const simRefunds = await db.selectFrom('sim_wallet_refunds').selectAll().execute();
    const simCodes = await db.selectFrom('sim_wallet_codes').selectAll().execute();

    // Each order id has one transaction, and each transaction one auth code claimed at the wallet (charged once).
    assert.equal(txRows.length, paymentCount);
    assert.deepEqual(new Set(txRows.map((r) => r.order_id)), new Set(payments.map((p) => p.orderId)));
    for (const tx of txRows) assert.equal(simCodes.filter((c) => c.upstream_order_id === tx.id).length, 1, `${tx.order_id}: one code, used once`);

    // One refund row per key, and no refund nobody asked for.
    const refundKeys = new Map(ops.filter((op) => op.kind === 'refund').map((op) => [op.key, op]));
    const rowsByKey = new Map<string, typeof refundRows>();
    for (const row of refundRows) {
      assert.ok(refundKeys.has(row.reason), `refund ${row.id} (reason ${row.reason}) answers a key a client sent`);
      rowsByKey.set(row.reason, [...(rowsByKey.get(row.reason) ?? []), row]);
    }
    for (const [key, rows] of rowsByKey) assert.equal(rows.length, 1, `${key}: one refund row per key`);

    // No lost acknowledged write: a 200 is a SUCCESS refund of that amount on that transaction; a refusal left no row.
    let acknowledgedRefunds = 0;
    for (const op of refundKeys.values()) {
      const row = rowsByKey.get(op.key)?.[0];
      for (const { outcome } of op.attempts) {
        if (outcome.kind !== 'answer' || outcome.status === 409) continue;
        if (outcome.status === 200) {
          acknowledgedRefunds += outcome.replayed ? 0 : 1;
          const item = (outcome.body as { item: { transactionId: string; status: string } }).item;
          assert.equal(item.transactionId, txOf(op.payment));
          assert.ok(['PARTIAL_REFUNDED', 'FULL_REFUNDED'].includes(item.status), `${op.key}: a refunded status in the answer (${item.status})`);
          assert.ok(row, `${op.key}: answered 200 but no refund is stored (acknowledged write lost)`);
          assert.deepEqual([row.status, Number(row.amount_minor), row.transaction_id, row.type], ['SUCCESS', op.amountMinor, txOf(op.payment), op.type], `${op.key}: the stored refund is the acknowledged one`);
        } else if (outcome.code !== null && refundRefusals.has(outcome.code)) {
          assert.equal(row, undefined, `${op.key}: refused with ${outcome.code}, yet a refund row exists`);
        } else {
          surprise(`refund ${op.key}`, outcome);
        }
      }
    }
    // A 200 reverse is never undone, and a reverse is never refused for a reason the race does not explain.
    for (const op of ops.filter((o) => o.kind === 'reverse')) {
      for (const { outcome } of op.attempts) {
        if (outcome.kind !== 'answer' || outcome.status === 409) continue;
        if (outcome.status === 200) {
          assert.equal((outcome.body as { item: { status: string } }).item.status, 'REVERSED', `${op.key}: a 200 reverse answers REVERSED`);
          assert.equal(txRows.find((r) => r.order_id === op.payment.orderId)?.status, 'REVERSED', `${op.key}: the acknowledged reverse stands`);
        } else if (!(outcome.code !== null && reverseRefusals.has(outcome.code))) {
          surprise(`reverse ${op.key}`, outcome);
        }
      }
    }

    // Per transaction: refunded ≤ paid; balance = amount − refunded − reserved by refunds in flight; status follows.
    for (const tx of txRows) {
      const where = `${tx.order_id} (${tx.status})`;
      const amount = Number(tx.amount_minor);
      const refunded = Number(tx.refunded_minor);
      const balance = Number(tx.balance_minor);
      const mine = refundRows.filter((r) => r.transaction_id === tx.id);
      const sumOf = (status: string) => mine.filter((r) => r.status === status).reduce((sum, r) => sum + Number(r.amount_minor), 0);
      assert.ok(refunded <= amount, `${where}: refunded ${refunded} of ${amount}`);
      assert.equal(refunded, sumOf('SUCCESS'), `${where}: refunded_minor is the sum of its SUCCESS refunds`);
      assert.equal(sumOf('PENDING'), 0, `${where}: no refund left pending`);
      const kept = (kind: string) => entries.filter((e) => e.transaction_id === tx.id && e.kind === kind).reduce((sum, e) => sum + Number(e.amount_minor), 0);
      const paid = kept('PAYMENT');
      const returned = kept('REFUND') + kept('REVERSAL');
      assert.ok(returned <= paid, `${where}: returned ${returned} of ${paid} paid`);
      assert.equal(kept('REFUND'), refunded, `${where}: refund entries match the refunds`);
      if (['SUCCESS', 'PARTIAL_REFUNDED', 'FULL_REFUNDED'].includes(tx.status)) {
        assert.equal(balance, amount - refunded - sumOf('PENDING'), `${where}: balance = amount − refunded − reserved`);
        assert.equal(paid, amount, `${where}: paid once`);
        assert.equal(tx.status, refunded === 0 ? 'SUCCESS' : refunded === amount ? 'FULL_REFUNDED' : 'PARTIAL_REFUNDED', `${where}: status follows the refunds`);
        assert.equal(Number(tx.reverse_requested), 0, `${where}: no reverse left half done`);
      } else {
        assert.ok(['REVERSED', 'FAILED'].includes(tx.status), `${where}: final`);
        assert.equal(balance, 0, `${where}: nothing left to refund`);
        assert.equal(refunded, 0, `${where}: a reversed or failed payment has no refunds`);
        assert.equal(paid, returned, `${where}: whatever was taken went back`);
      }

      // The wallet's own books agree with the ledger: what the wallet kept is what our ledger says the merchant got.
      const order = simOrders.find((o) => o.upstream_order_id === tx.id);
      assert.ok(order, `${where}: the wallet has the order`);
      const walletKept = order.status === 'SUCCESS' ? Number(order.amount_minor) - Number(order.refunded_minor) : 0;
      assert.equal(paid - returned, walletKept, `${where}: wallet (${order.status}, refunded ${Number(order.refunded_minor)}) and ledger agree`);
      const walletRefunds = simRefunds.filter((r) => r.upstream_order_id === tx.id);
      if (order.status === 'SUCCESS') assert.equal(walletRefunds.reduce((sum, r) => sum + Number(r.amount_minor), 0), Number(order.refunded_minor), `${where}: wallet refunds add up`);
      assert.deepEqual(
        walletRefunds.map((r) => r.refund_id).sort(),
        mine.filter((r) => r.status === 'SUCCESS').map((r) => r.id).sort(),
        `${where}: the wallet refunded exactly the refunds we booked`,
      );

      // And the API of both processes says the same.
      for (const client of clients) {
        const { item } = await client.payment.transaction(tx.id);
        assert.deepEqual([item.status, item.balanceAmount], [tx.status, balance], `${where}: over the API`);
      }
    }

    assert.deepEqual(surprises, [], 'every answer is a success or a refusal the race explains');
    const allOutcomes = [...ops, ...payments].flatMap((item) => item.attempts.map((a) => a.outcome));
    const lostSends = allOutcomes.filter((o) => o.kind === 'lost').length;
    const replays = allOutcomes.filter((o) => o.kind === 'answer' && o.replayed).length;
    const busy = allOutcomes.filter((o) => o.kind === 'answer' && o.status === 409).length;
    // Refunds whose requests never got their answer out (killed mid-flight), finished by a closed loop instead.
    const finishedUnanswered = [...rowsByKey.entries()].filter(([key]) => {
      const op = refundKeys.get(key);
      return op !== undefined && !op.attempts.some((a) => a.outcome.kind === 'answer' && a.outcome.status !== 409);
    }).length;
    const statuses = new Map<string, number>();
    for (const tx of txRows) statuses.set(tx.status, (statuses.get(tx.status) ?? 0) + 1);
    t.diagnostic(
      `seed ${seed}: ${ops.length} refund/reverse keys, ${acknowledgedRefunds} refunds acknowledged, ${replays} replays, ${busy} 409s, ` +
        `${lostSends} sends lost to the kill, ${finishedUnanswered} refunds finished without an answer, ` +
        `${seen.snapshots} live snapshots (${seen.withReservations} with refunds in flight) ` +
        `(${kill.inflightAtKill} open on the victim), final ${JSON.stringify(Object.fromEntries(statuses))}, ${Date.now() - started} ms`,
    );
  });
});
