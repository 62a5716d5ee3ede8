// The built-in wallet simulator: a deterministic upstream whose outcome is chosen by the auth code's last four digits.
import type { ErrorCode } from '@tunai/client/contract';
import type { ConnectorCapability, PayerOrderRequest, PaymentConnector, PayRequest, UpstreamPayerOrder, UpstreamPayment, UpstreamRefund, UpstreamReverse } from '../app/connector.js';
import type { SimulatedOrder, WalletSimulatorStorage } from '../app/payment-ports.js';
import type { PollProfile } from '../domain/payments.js';
import type { Clock } from '../lib/clock.js';
import { sha256Hex } from '../lib/secrets.js';

/**
 * Outcomes by the auth code's last four digits (README "Sandbox magic values"); any other suffix pays at once.
 * 1001 paid at the 2nd query · 1002 paying forever · 1003 cancelled at the 2nd query · 1004 pays just before
 * the reverse · 2001–2005 refused · 3001 pay times out after charging · 3002 order never created · 3003 first
 * reverse fails · 3004 two failing queries, then paid · 9999 maintenance.
 */

const terminalFailures: Record<string, { code: ErrorCode; message: string }> = {
  '2001': { code: 'INSUFFICIENT_CARD_BALANCE', message: 'Insufficient customer balance' },
  '2002': { code: 'AUTH_CODE_EXPIRED', message: 'Customer code expired. Please scan again.' },
  '2003': { code: 'AUTH_CODE_USED', message: 'Customer code already been used. Please refresh for another transaction.' },
  '2004': { code: 'CUSTOMER_REACHED_TRANSACTION_LIMIT', message: 'Customer reached transaction limit' },
  // The spec's own failed WeChat QuickPay example: a code of a valid shape that the wallet does not recognise.
  '2005': { code: 'AUTH_CODE_INVALID', message: 'Invalid Auth Code' },
};

const userPayingScenarios = new Set(['1001', '1002', '1003', '1004', '3003', '3004']);

/**
 * What a payer can choose on the sandbox wallet screen (customer-scans payments): the QuickPay outcomes that
 * make sense without an auth code (2002 expired code, 2003 used code, 2005 invalid code and 3002 never-created
 * order do not).
 */
export const payerOutcomes: readonly { scenario: string; label: string }[] = [
  { scenario: '0000', label: 'Pay now (success)' },
  { scenario: '1001', label: 'Pay after a short wait (1001)' },
  { scenario: '1002', label: 'Keep paying until the time is up (1002)' },
  { scenario: '1003', label: 'Start paying, then cancel (1003)' },
  { scenario: '1004', label: 'Pay just as the time is up, then refunded (1004)' },
  { scenario: '2001', label: 'Insufficient balance (2001)' },
  { scenario: '2004', label: 'Over the transaction limit (2004)' },
  { scenario: '3001', label: 'Paid, but the answer is lost (3001)' },
  { scenario: '3003', label: 'Keep paying; closing the order fails once (3003)' },
  { scenario: '3004', label: 'Wallet errors twice, then paid (3004)' },
  { scenario: '9999', label: 'Wallet under maintenance (9999)' },
];

/** The payer cancelled on the wallet screen: answered like 1003's cancellation. */
export const payerCancelScenario = 'CANCEL';

/** WeChat's guidance: first query after 5 s, then every 3 s; reverse at 45 s and never before 15 s. */
export const simulatorPollProfile: PollProfile = {
  firstQueryAfterMs: 5_000,
  queryIntervalMs: 3_000,
  deadlineMs: 45_000,
  reverseNotBeforeMs: 15_000,
  reverseRetryBaseMs: 2_000,
  reverseRetryMaxMs: 60_000,
};

/** Stable, wallet-looking identifiers derived from the inputs (no randomness: the same order gives the same ids). */
function digitsFrom(seed: string, count: number): string {
  let out = '';
  let block = sha256Hex(seed);
  while (out.length < count) {
    out += BigInt(`0x${block}`).toString().slice(0, 30);
    block = sha256Hex(block);
  }
  return out.slice(0, count);
}

function referenceIdFor(method: string, upstreamOrderId: string): string {
  if (method === 'WECHATPAY') return `4200${digitsFrom(upstreamOrderId, 24)}`;
  if (method === 'ALIPAY') return `2026${digitsFrom(upstreamOrderId, 24)}`;
  return `${digitsFrom(`${method}:${upstreamOrderId}`, 20)}`;
}

function payerIdFor(method: string, codeHash: string): string {
  if (method === 'WECHATPAY') return `o74f0w${Buffer.from(codeHash.slice(0, 32), 'hex').toString('base64url').slice(0, 22)}`;
  if (method === 'ALIPAY') return `2088${digitsFrom(codeHash, 12)}`;
  return `60${digitsFrom(codeHash, 10)}`;
}

/** The record a reverse leaves for an order the wallet never saw: closed, nothing paid, no code behind it. */
function closedUnseenOrder(upstreamOrderId: string, nowMs: number): SimulatedOrder {
  return {
    upstreamOrderId,
    codeHash: sha256Hex(`closed:${upstreamOrderId}`),
    scenario: '',
    amountMinor: 0,
    status: 'CLOSED',
    queryCount: 0,
    reverseAttempts: 1,
    refundedMinor: 0,
    referenceId: '',
    payerId: '',
    createdAtMs: nowMs,
    paidAtMs: null,
  };
}

export class WalletSimulator implements PaymentConnector {
  readonly name = 'simulator';
  readonly capabilities: ReadonlySet<ConnectorCapability>;
  readonly pollProfile = simulatorPollProfile;
  readonly #books: WalletSimulatorStorage;
  readonly #clock: Clock;

  /**
   * `payerScreen`: the sandbox wallet screen (/sandbox/wallet) is served, so payers can confirm customer-scans
   * orders. Without it (outside sandbox mode) the simulator takes no payer orders: their links would lead nowhere.
   */
  constructor(books: WalletSimulatorStorage, clock: Clock, options: { payerScreen: boolean } = { payerScreen: true }) {
    this.#books = books;
    this.#clock = clock;
    this.capabilities = new Set<ConnectorCapability>(['quickpay', 'query', 'refund', 'reverse', ...(options.payerScreen ? (['payerOrder'] as const) : [])]);
  }

  async pay(request: PayRequest): Promise<UpstreamPayment> {
    const nowMs = this.#clock.nowMs();
    const scenario = request.authCode.slice(-4);
    const codeHash = sha256Hex(`authcode:${request.authCode}`);
    if (scenario === '9999') return { status: 'FAILED', code: 'SYSTEM_ERROR', message: 'Wallet is under maintenance' };
    const codeUsed = { status: 'FAILED', code: 'AUTH_CODE_USED', message: 'Customer code already been used. Please refresh for another transaction.' } as const;
    // A reverse already closed this order number (the pay call came late: its process stalled past its lease and
    // another process ended the payment). Like WeChat's, the wallet refuses it rather than charge the payer.
    if ((await this.#books.getOrder(request.upstreamOrderId))?.status === 'CLOSED') {
      return { status: 'FAILED', code: 'ORDER_CLOSED', message: 'The order was closed by a reverse before it was paid' };
    }
    // Every code pays at most once, whatever happened the first time (a failed payment consumes it too).
    if (scenario === '3002') {
      if (!(await this.#books.claimCode(codeHash, request.upstreamOrderId, nowMs))) return codeUsed;
      return { status: 'UNKNOWN', reason: 'SYSTEMERROR from the wallet; order not created' };
    }
    const failure = terminalFailures[scenario];
    const paying = userPayingScenarios.has(scenario);
    const order: SimulatedOrder = {
      upstreamOrderId: request.upstreamOrderId,
      codeHash,
      scenario,
      amountMinor: request.amountMinor,
      status: failure ? 'FAILED' : paying ? 'USERPAYING' : 'SUCCESS',
      queryCount: 0,
      reverseAttempts: 0,
      refundedMinor: 0,
      referenceId: referenceIdFor(request.method, request.upstreamOrderId),
      payerId: payerIdFor(request.method, codeHash),
      createdAtMs: nowMs,
      paidAtMs: failure || paying ? null : nowMs,
    };
    if (!(await this.#books.claimCodeAndInsertOrder(order))) return codeUsed;
    if (failure) return { status: 'FAILED', code: failure.code, message: failure.message };
    if (paying) return { status: 'IN_PROCESS' };
    // 3001: the wallet charged, but its answer never arrived.
    if (scenario === '3001') return { status: 'UNKNOWN', reason: 'timed out waiting for the wallet' };
    return { status: 'SUCCESS', referenceId: order.referenceId, payerId: order.payerId, paidAtMs: nowMs };
  }

  async createPayerOrder(request: PayerOrderRequest): Promise<UpstreamPayerOrder> {
    const nowMs = this.#clock.nowMs();
    const codeHash = sha256Hex(`payer:${request.upstreamOrderId}`);
    await this.#books.insertOrder({
      upstreamOrderId: request.upstreamOrderId,
      codeHash,
      scenario: '',
      amountMinor: request.amountMinor,
      status: 'AWAITING_PAYER',
      queryCount: 0,
      reverseAttempts: 0,
      refundedMinor: 0,
      referenceId: referenceIdFor(request.method, request.upstreamOrderId),
      payerId: payerIdFor(request.method, codeHash),
      createdAtMs: nowMs,
      paidAtMs: null,
    });
    return { status: 'CREATED', payUrl: `/sandbox/wallet?order=${encodeURIComponent(request.upstreamOrderId)}` };
  }

  /**
   * The payer's choice on the sandbox wallet screen: a scenario from `payerOutcomes` (or any other suffix: pays),
   * or `payerCancelScenario`. False when the order is no longer waiting (already decided, closed at the deadline).
   */
  async payerDecides(upstreamOrderId: string, choice: string): Promise<boolean> {
    const nowMs = this.#clock.nowMs();
    if (choice === payerCancelScenario) return this.#books.decideOrder(upstreamOrderId, { status: 'FAILED', scenario: '1003', paidAtMs: null });
    if (choice === '9999' || terminalFailures[choice]) return this.#books.decideOrder(upstreamOrderId, { status: 'FAILED', scenario: choice, paidAtMs: null });
    if (userPayingScenarios.has(choice)) return this.#books.decideOrder(upstreamOrderId, { status: 'USERPAYING', scenario: choice, paidAtMs: null });
    return this.#books.decideOrder(upstreamOrderId, { status: 'SUCCESS', scenario: choice, paidAtMs: nowMs });
  }

  async getPayerOrder(upstreamOrderId: string): Promise<SimulatedOrder | null> {
    return this.#books.getOrder(upstreamOrderId);
  }

  async query(upstreamOrderId: string): Promise<UpstreamPayment> {
    const order = await this.#books.getOrder(upstreamOrderId);
    if (!order) return { status: 'NOT_FOUND' };
    if (order.status === 'AWAITING_PAYER') return { status: 'IN_PROCESS' };
    // Only a reverse closes or refunds an order: one we did not record (the process died after asking) is no payment
    // failure. Reversing again is safe and answers how it ended (closed, or paid and refunded), so the loop does that.
    if (order.status === 'CLOSED' || order.status === 'REFUNDED') return { status: 'UNKNOWN', reason: `the order was already ${order.status.toLowerCase()} by a reverse` };
    if (order.scenario === '9999') return { status: 'FAILED', code: 'SYSTEM_ERROR', message: 'Wallet is under maintenance' };
    const queryCount = order.queryCount + 1;
    await this.#books.updateOrder(upstreamOrderId, { queryCount });
    if (order.status === 'USERPAYING') {
      if (order.scenario === '1001' && queryCount >= 2) return this.#markPaid(order);
      if (order.scenario === '1003' && queryCount >= 2) {
        if (!(await this.#books.moveOrder(upstreamOrderId, 'USERPAYING', { status: 'FAILED' }))) return this.#answerNow(upstreamOrderId);
        return { status: 'FAILED', code: 'ORDER_CANCELLED', message: 'The customer cancelled the payment' };
      }
      if (order.scenario === '3004') {
        if (queryCount <= 2) return { status: 'UNKNOWN', reason: 'HTTP 500 from the wallet' };
        return this.#markPaid(order);
      }
      return { status: 'IN_PROCESS' };
    }
    return this.#answer(order);
  }

  async reverse(upstreamOrderId: string): Promise<UpstreamReverse> {
    const order = await this.#books.getOrder(upstreamOrderId);
    if (!order) {
      // The wallet never saw the order (3002, or a process that died or stalled before its pay call). The reverse
      // closes the order number all the same, so a pay that arrives later cannot charge the payer for a payment tunai
      // has ended. A pay that recorded the order at this very moment is reversed like any other order.
      const closed = await this.#books.insertOrderIfAbsent(closedUnseenOrder(upstreamOrderId, this.#clock.nowMs()));
      return closed ? { status: 'REVERSED' } : this.reverse(upstreamOrderId);
    }
    const reverseAttempts = order.reverseAttempts + 1;
    await this.#books.updateOrder(upstreamOrderId, { reverseAttempts });
    if (order.scenario === '3003' && reverseAttempts === 1) return { status: 'FAILED', reason: 'SYSTEMERROR from the wallet on reverse' };
    let current = order;
    if (order.status === 'USERPAYING' && order.scenario === '1004') {
      // The payer confirmed between our last query and this reverse (unless another step moved the order first).
      const paidAtMs = this.#clock.nowMs();
      if (await this.#books.moveOrder(upstreamOrderId, 'USERPAYING', { status: 'SUCCESS', paidAtMs })) {
        current = { ...order, status: 'SUCCESS', paidAtMs };
      } else {
        const now = await this.#books.getOrder(upstreamOrderId);
        if (!now) return { status: 'FAILED', reason: 'the order changed while it was being reversed' };
        current = now;
      }
    }
    // Closing is conditional on the status read: a payer who pays at this very moment on the wallet screen is not
    // overwritten (their money would vanish from the books); the order is read again and refunded instead.
    for (let reads = 0; ; reads++) {
      if (current.status === 'SUCCESS' || current.status === 'REFUNDED') {
        if (current.status === 'SUCCESS' && !(await this.#books.moveOrder(upstreamOrderId, 'SUCCESS', { status: 'REFUNDED', refundedMinor: current.amountMinor }))) {
          // Refunded by a reverse running at this very moment: the payer is refunded once, and this one says so too.
          const now = await this.#books.getOrder(upstreamOrderId);
          if (!now || now.status !== 'REFUNDED') return { status: 'FAILED', reason: 'the order changed while it was being refunded' };
          current = now;
        }
        return { status: 'REFUNDED', referenceId: current.referenceId, payerId: current.payerId, paidAtMs: current.paidAtMs ?? this.#clock.nowMs() };
      }
      if (current.status === 'CLOSED' || (await this.#books.closeOrder(upstreamOrderId, current.status))) return { status: 'REVERSED' };
      const now = await this.#books.getOrder(upstreamOrderId);
      // Only a payer's decision moves an order under a reverse, and only once: a second miss is a wallet error.
      if (!now || reads >= 2) return { status: 'FAILED', reason: 'the order changed while it was being closed' };
      current = now;
    }
  }

  async refund(upstreamOrderId: string, refundId: string, amountMinor: number): Promise<UpstreamRefund> {
    const order = await this.#books.getOrder(upstreamOrderId);
    if (!order || order.status !== 'SUCCESS') return { status: 'FAILED', reason: 'order is not paid' };
    // The refund id makes a retry safe: a second call with the same id changes nothing and succeeds.
    const applied = await this.#books.applyRefund(refundId, upstreamOrderId, amountMinor, this.#clock.nowMs());
    if (applied === 'exceeds') return { status: 'FAILED', reason: 'refund exceeds what was paid' };
    return { status: 'SUCCESS' };
  }

  /** The payer pays an order that is waiting for them; an order a reverse closed meanwhile stays as the reverse left it. */
  async #markPaid(order: SimulatedOrder): Promise<UpstreamPayment> {
    const paidAtMs = this.#clock.nowMs();
    if (!(await this.#books.moveOrder(order.upstreamOrderId, 'USERPAYING', { status: 'SUCCESS', paidAtMs }))) return this.#answerNow(order.upstreamOrderId);
    return { status: 'SUCCESS', referenceId: order.referenceId, payerId: order.payerId, paidAtMs };
  }

  /** How an order that another step just moved stands now. */
  async #answerNow(upstreamOrderId: string): Promise<UpstreamPayment> {
    const now = await this.#books.getOrder(upstreamOrderId);
    if (!now) return { status: 'NOT_FOUND' };
    if (now.status === 'CLOSED' || now.status === 'REFUNDED') return { status: 'UNKNOWN', reason: `the order was already ${now.status.toLowerCase()} by a reverse` };
    return now.status === 'USERPAYING' || now.status === 'AWAITING_PAYER' ? { status: 'IN_PROCESS' } : this.#answer(now);
  }

  #answer(order: SimulatedOrder): UpstreamPayment {
    switch (order.status) {
      case 'SUCCESS':
        return { status: 'SUCCESS', referenceId: order.referenceId, payerId: order.payerId, paidAtMs: order.paidAtMs ?? order.createdAtMs };
      case 'FAILED': {
        const failure = terminalFailures[order.scenario];
        return failure
          ? { status: 'FAILED', code: failure.code, message: failure.message }
          : { status: 'FAILED', code: 'ORDER_CANCELLED', message: 'The customer cancelled the payment' };
      }
      default:
        return { status: 'FAILED', code: 'ORDER_CLOSED', message: 'The order was closed' };
    }
  }
}
