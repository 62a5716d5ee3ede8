// POST /v3/payment/quickpay: persist IN_PROCESS, ask the wallet, record the answer, wait a while for a final one.
import { limits, voucherCodeOf, type QuickPayRequest } from '@tunai/client/contract';
import { detectWallet } from '../domain/wallets.js';
import { isFinal, unknownVoucherRefusal } from '../domain/payments.js';
import { CatalogError } from '../lib/catalog-error.js';
import { sha256Hex } from '../lib/secrets.js';
import { advancePayment } from './advance-payment.js';
import type { UpstreamPayment } from './connector.js';
import type { Principal } from './deps.js';
import { newTransaction } from './new-transaction.js';
import type { PaymentDeps } from './payment-deps.js';
import { applyPaymentResult, failureOf } from './payment-outcomes.js';
import type { TransactionRecord } from './payment-ports.js';
import { withStore, type TransactionView } from './transaction-view.js';

export async function createQuickPay(deps: PaymentDeps, principal: Principal, input: QuickPayRequest): Promise<TransactionView> {
  const { order } = input;
  if (order.currencyType !== undefined && order.currencyType !== 'MYR') {
    throw new CatalogError('PAYMENT_UNSUPPORTED_CURRENCY_TYPE', `Unsupported currency type: only MYR is accepted, not "${order.currencyType}"`);
  }
  if (order.amount < limits.paymentAmountMinorMin) {
    throw new CatalogError('MINIMUM_AMOUNT_REQUIRED', `Minimum amount should be 10sen: order.amount is ${order.amount}`);
  }
  const voucherRefusal = unknownVoucherRefusal(voucherCodeOf(input.voucher));
  if (voucherRefusal) throw new CatalogError(voucherRefusal.code, voucherRefusal.message);
  const wallet = detectWallet(input.authCode);
  if (!wallet) throw new CatalogError('AUTH_CODE_INVALID', 'Invalid auth code: no wallet issues codes of this shape (see the sandbox test cards)');
  const store = await deps.storage.stores.get(principal.merchantId, input.storeId);
  if (!store) throw new CatalogError('STORE_NOT_FOUND');

  const connector = deps.connectors.forMethod(wallet.method);
  const nowMs = deps.clock.nowMs();
  const terminalId = input.terminalId ?? '';
  // Same code, amount, store and terminal: a retry of the same payment rather than a new order reusing the id.
  const requestFingerprint = sha256Hex(JSON.stringify([input.authCode, order.amount, store.id, terminalId]));
  // The id is drawn inside the transaction: one another process drew first is drawn again rather than failing.
  const tx = await deps.storage.transaction(async (storage) => {
    // An order id names one payment per merchant: a checkout that holds it (paid or not) keeps it. Checked under
    // the order's lock, so a checkout created at the same moment cannot take it too.
    await storage.lockOrderId(principal.merchantId, order.id);
    if (await storage.checkout.checkouts.hasOrder(principal.merchantId, order.id)) {
      throw new CatalogError('ORDER_ID_DUPLICATE', `Order id duplicate: ${order.id} belongs to a checkout of this merchant`);
    }
    const fresh = newTransaction(deps, connector, nowMs, {
      id: deps.ids.transactionId(),
      merchantId: principal.merchantId,
      storeId: store.id,
      orderId: order.id,
      orderTitle: order.title,
      orderDetail: order.detail ?? order.details ?? '',
      orderAdditionalData: order.additionalData ?? '',
      amountMinor: order.amount,
      requestFingerprint,
      terminalId,
      ipAddress: input.ipAddress,
      method: wallet.method,
      region: wallet.region,
      type: 'QUICK_PAY',
      checkoutId: null,
      qrCode: null,
      payDeadlineAtMs: null,
    });
    const inserted = await storage.payments.insertIfNewOrder(fresh);
    if (inserted.inserted) return fresh;
    if (inserted.existing.requestFingerprint === requestFingerprint) {
      throw new CatalogError('TRANSACTION_DUPLICATE', `Duplicate order number: order ${order.id} is transaction ${inserted.existing.id}; query it instead of paying again`);
    }
    throw new CatalogError('ORDER_ID_DUPLICATE', `Order id duplicate: ${order.id} was already used by this merchant`);
  });

  let result: UpstreamPayment;
  try {
    result = await connector.pay({
      upstreamOrderId: tx.id,
      authCode: input.authCode,
      amountMinor: tx.amountMinor,
      currency: tx.currency,
      method: wallet.method,
      region: wallet.region,
      title: tx.orderTitle,
    });
  } catch (error) {
    // The wallet may or may not have taken the money: never call that a failure, find out by querying.
    result = { status: 'UNKNOWN', reason: error instanceof Error ? error.message : String(error) };
  }
  const settled = await applyPaymentResult(deps, connector, tx, result, tx.createdAtMs + connector.pollProfile.firstQueryAfterMs);

  // An outcome this call wrote is final and needs no second read; otherwise wait for one.
  const final = settled ?? (await waitForFinal(deps, tx.id, nowMs + deps.payments.quickPayWaitMs));
  if (final.status === 'FAILED') throw failureOf(final);
  return withStore(deps, final, store);
}

const contendedPauseMs = 50;

/** Runs the closed loop inline until the payment is final or the wait window closes. */
async function waitForFinal(deps: PaymentDeps, transactionId: string, waitUntilMs: number): Promise<TransactionRecord> {
  for (;;) {
    const tx = await deps.storage.payments.getById(transactionId);
    if (!tx) throw new Error(`transaction ${transactionId} vanished`);
    const nowMs = deps.clock.nowMs();
    if (isFinal(tx.status) || nowMs >= waitUntilMs || tx.nextCheckAtMs === null) return tx;
    const wakeAtMs = Math.min(tx.nextCheckAtMs, waitUntilMs);
    if (wakeAtMs > nowMs) await deps.payments.sleep(wakeAtMs - nowMs);
    if (deps.clock.nowMs() >= waitUntilMs) return (await deps.storage.payments.getById(transactionId)) ?? tx;
    // Someone else holds the step (the background loop): give it a moment instead of spinning.
    if (!(await advancePayment(deps, transactionId))) await deps.payments.sleep(contendedPauseMs);
  }
}
