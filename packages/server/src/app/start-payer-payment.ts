// Opens a customer-scans payment: the transaction (IN_PROCESS) and the wallet order the payer confirms in.
import { limits } from '@tunai/client/contract';
import { CatalogError } from '../lib/catalog-error.js';
import type { UpstreamPayerOrder } from './connector.js';
import { newTransaction, type NewTransactionFields } from './new-transaction.js';
import type { PaymentDeps } from './payment-deps.js';
import { applyPaymentResult } from './payment-outcomes.js';
import type { TransactionRecord } from './payment-ports.js';
import type { Storage } from './ports.js';

/**
 * A new transaction's fields minus QuickPay's own (fingerprint, terminal, IP) and the id, which is drawn here.
 * `type` is WEB_PAYMENT / MOBILE_PAYMENT or QR_PAY; `orderId` null means the transaction's own id (RM's rule for QR_PAY).
 */
export type PayerPaymentInput = Omit<NewTransactionFields, 'id' | 'orderId' | 'requestFingerprint' | 'terminalId' | 'ipAddress'> & { orderId: string | null };

export interface StartedPayment {
  transaction: TransactionRecord;
  payUrl: string;
}

/**
 * Makes a wallet's path absolute under our public base URL, keeping the base's own path (a gateway served at
 * https://pay.example/rm hands out https://pay.example/rm/sandbox/wallet…); absolute URLs pass unchanged.
 */
function absoluteUrl(deps: PaymentDeps, pathOrUrl: string): string {
  return new URL(pathOrUrl.replace(/^\/+/, ''), `${deps.publicBaseUrl}/`).toString();
}

/**
 * Why a payer cannot start a payment to this merchant's store, or null. A switched-off merchant takes no payments
 * (its API calls answer MERCHANT_INACTIVE too), and a deleted store takes none, as QuickPay refuses both; their
 * checkouts and QR codes stay readable, and a payment already opened in a wallet still completes.
 */
export async function payeeClosedError(storage: Storage, merchantId: string, storeId: string): Promise<CatalogError | null> {
  const merchant = await storage.merchants.get(merchantId);
  if (!merchant?.isActive) return new CatalogError('MERCHANT_INACTIVE', 'Merchant account is inactive: it takes no payments until it is activated again');
  if (!(await storage.stores.get(merchantId, storeId))) {
    return new CatalogError('STORE_NOT_FOUND', 'Store not found: the store this checkout or QR code belongs to was deleted');
  }
  return null;
}

/**
 * `claim` runs in the same db transaction as the insert (it links the checkout or holds the QR) and returns
 * the refusal to raise when the checkout or QR is no longer free, so a lost race writes nothing.
 */
export async function startPayerPayment(
  deps: PaymentDeps,
  input: PayerPaymentInput,
  claim: (storage: Storage, transactionId: string) => Promise<CatalogError | null>,
): Promise<StartedPayment> {
  const connector = deps.connectors.forMethod(input.method);
  if (!connector.capabilities.has('payerOrder')) {
    throw new CatalogError(
      'DOES_NOT_HAVE_ACTIVE_WALLET',
      `Does not have active wallet: no connector takes customer-scans payments for ${input.method} here (the simulator does only in sandbox mode)`,
    );
  }
  const nowMs = deps.clock.nowMs();
  // The id is drawn inside the transaction: one another process drew first is drawn again rather than failing.
  const tx = await deps.storage.transaction(async (storage) => {
    const closed = await payeeClosedError(storage, input.merchantId, input.storeId);
    if (closed) throw closed;
    const id = deps.ids.transactionId();
    const fresh = newTransaction(deps, connector, nowMs, { ...input, id, orderId: input.orderId ?? id, requestFingerprint: '', terminalId: '', ipAddress: '' });
    const refusal = await claim(storage, fresh.id);
    if (refusal) throw refusal;
    const inserted = await storage.payments.insertIfNewOrder(fresh);
    if (!inserted.inserted) throw new CatalogError('ORDER_ID_DUPLICATE', `Order id duplicate: ${fresh.orderId} was already used by this merchant`);
    return fresh;
  });

  let opened: UpstreamPayerOrder | null;
  try {
    opened = await connector.createPayerOrder({
      upstreamOrderId: tx.id,
      amountMinor: tx.amountMinor,
      currency: tx.currency,
      method: tx.method,
      region: tx.region,
      title: tx.orderTitle,
    });
  } catch {
    // The wallet may or may not have the order: the closed loop queries, and closes it if it never existed.
    opened = null;
  }
  if (opened === null) {
    await deps.storage.payments.reschedule(tx.id, tx.leaseUntilMs, deps.clock.nowMs(), tx.nextCheckAtMs ?? nowMs, {});
    throw new CatalogError('SYSTEM_ERROR', 'System error: the wallet did not answer; try again shortly');
  }
  if (opened.status === 'FAILED') {
    await applyPaymentResult(deps, connector, tx, opened, deps.clock.nowMs());
    throw new CatalogError(opened.code, opened.message);
  }
  const payUrl = absoluteUrl(deps, opened.payUrl);
  await deps.storage.payments.setPayUrl(tx.id, payUrl);
  await deps.storage.payments.reschedule(tx.id, tx.leaseUntilMs, deps.clock.nowMs(), tx.nextCheckAtMs ?? nowMs, {});
  return { transaction: { ...tx, payUrl, leaseUntilMs: null }, payUrl };
}

/** How often a request that lost the race re-reads the winner's payment while its wallet order is being opened. */
const payUrlPollMs = 25;

/**
 * Asking again for the wallet already chosen (a double tap, a reload, a second request that lost the race) returns
 * the same payment; another wallet, or another amount, is refused. `what` names the checkout or QR for messages.
 */
export async function openedPayment(
  deps: PaymentDeps,
  transactionId: string,
  wanted: { method: string; region: string; amountMinor?: number },
  what: string,
): Promise<StartedPayment> {
  // The request that won may still be opening the wallet order: wait for its URL rather than refuse a double tap.
  for (let polls = 0; ; polls++) {
    const tx = await deps.storage.payments.getById(transactionId);
    if (!tx) throw new Error(`${what} links missing transaction ${transactionId}`);
    if (tx.method !== wanted.method || tx.region !== wanted.region) {
      throw new CatalogError('PAYMENT_IN_PROCESS', `Payment is in process: ${what} is being paid with ${tx.method} (${tx.region})`);
    }
    if (wanted.amountMinor !== undefined && tx.amountMinor !== wanted.amountMinor) {
      throw new CatalogError('PAYMENT_IN_PROCESS', `Payment is in process: ${what} is being paid with another amount`);
    }
    if (tx.status !== 'IN_PROCESS') throw new CatalogError('PAYMENT_IN_PROCESS', `Payment is in process: ${what}'s payment is ${tx.status}`);
    if (tx.payUrl !== null) return { transaction: tx, payUrl: tx.payUrl };
    if (polls * payUrlPollMs >= limits.reverseWaitMsMax) throw new CatalogError('PAYMENT_IN_PROCESS', `Payment is in process: ${what}'s wallet order is still being opened`);
    await deps.payments.sleep(payUrlPollMs);
  }
}
