// Opens a customer-scans payment: the transaction (IN_PROCESS) and the wallet order the payer confirms in.
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

/** Makes a wallet's path absolute against our public base URL; absolute URLs pass unchanged. */
function absoluteUrl(deps: PaymentDeps, pathOrUrl: string): string {
  return new URL(pathOrUrl, `${deps.publicBaseUrl}/`).toString();
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
  const nowMs = deps.clock.nowMs();
  // The id is drawn inside the transaction: one another process drew first is drawn again rather than failing.
  const tx = await deps.storage.transaction(async (storage) => {
    // A deleted store takes no more payments, as QuickPay refuses it; its checkouts and QR codes stay readable.
    if (!(await storage.stores.get(input.merchantId, input.storeId))) {
      throw new CatalogError('STORE_NOT_FOUND', 'Store not found: the store this checkout or QR code belongs to was deleted');
    }
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
    await deps.storage.payments.reschedule(tx.id, deps.clock.nowMs(), tx.nextCheckAtMs ?? nowMs, {});
    throw new CatalogError('SYSTEM_ERROR', 'System error: the wallet did not answer; try again shortly');
  }
  if (opened.status === 'FAILED') {
    await applyPaymentResult(deps, connector, tx, opened, deps.clock.nowMs());
    throw new CatalogError(opened.code, opened.message);
  }
  const payUrl = absoluteUrl(deps, opened.payUrl);
  await deps.storage.payments.setPayUrl(tx.id, payUrl);
  await deps.storage.payments.reschedule(tx.id, deps.clock.nowMs(), tx.nextCheckAtMs ?? nowMs, {});
  return { transaction: { ...tx, payUrl, leaseUntilMs: null }, payUrl };
}
