// When a customer-scans payment ends: its checkout or dynamic QR follows, and a paid checkout's notify goes to the outbox.
import { canonicalJson } from '@tunai/client/signature';
import { checkoutStatusAfter } from '../domain/checkout.js';
import type { PaymentDeps } from './payment-deps.js';
import type { TransactionRecord } from './payment-ports.js';
import { pendingOutboxEvent } from './outbox-ports.js';
import type { Storage } from './ports.js';
import { presentNotifyTransaction } from './wire-views.js';

/** RM's event type for a paid online checkout (rm-wire-compat §4); it fires only on SUCCESS. */
export const paymentNotifyEventType = 'PAYMENT_WEB_ONLINE';

/**
 * Runs inside the db transaction that made the payment final, with the transaction as that conditional update left
 * it, so the checkout, the QR and the outbox event commit with the payment or not at all. Returns true when an
 * event was written (the caller wakes the outbox).
 */
export async function settleCustomerScans(storage: Storage, deps: PaymentDeps, tx: TransactionRecord): Promise<boolean> {
  // QuickPay has neither: nothing more to read or write in its commit.
  if (tx.checkoutId === null && tx.qrCode === null) return false;
  // A success the wallet reported after a cancel or reverse was asked for is about to be returned: announcing it
  // (checkout SUCCESS, notify, QR redeemed) would tell the merchant to deliver for money the payer gets back. The
  // reverse settles it instead. The flag is read in this commit, after the conditional update that made it final.
  if (tx.status === 'SUCCESS' && tx.reverseRequested) return false;
  const nowMs = deps.clock.nowMs();
  if (tx.qrCode !== null) {
    if (tx.status === 'SUCCESS') await storage.checkout.qr.redeem(tx.qrCode, tx.id, nowMs);
    else if (tx.status !== 'IN_PROCESS') await storage.checkout.qr.release(tx.qrCode, tx.id, nowMs);
  }
  if (tx.checkoutId === null) return false;
  const status = checkoutStatusAfter(tx.status, tx.errorCode);
  if (status === null) return false;
  const finished = await storage.checkout.checkouts.finish(tx.checkoutId, status, nowMs);
  if (!finished || status !== 'SUCCESS') return false;
  const checkout = await storage.checkout.checkouts.get(tx.checkoutId);
  if (!checkout || checkout.notifyUrl === '') return false;
  return enqueueNotify(storage, deps, tx, checkout.notifyUrl);
}

async function enqueueNotify(storage: Storage, deps: PaymentDeps, tx: TransactionRecord, notifyUrl: string): Promise<boolean> {
  const store = await storage.stores.getAny(tx.merchantId, tx.storeId);
  if (!store) throw new Error(`store ${tx.storeId} of transaction ${tx.id} vanished`);
  const nowMs = deps.clock.nowMs();
  // Sorted keys (Go's canonical form): the body RM signs is then byte for byte the body we send.
  const body = canonicalJson({ eventType: paymentNotifyEventType, data: presentNotifyTransaction({ transaction: tx, store }) });
  return storage.outbox.enqueue(
    pendingOutboxEvent(
      { id: deps.ids.numericId(), merchantId: tx.merchantId, eventType: paymentNotifyEventType, subjectId: tx.id, targetUrl: notifyUrl, body },
      nowMs,
    ),
  );
}
