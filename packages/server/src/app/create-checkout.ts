// POST /v3/payment/online: a hosted checkout for WEB_PAYMENT or MOBILE_PAYMENT, open for 600 s by default.
import { limits, voucherCodeOf, type CreateCheckoutRequest } from '@tunai/client/contract';
import { checkoutMethodsFor, httpUrlProblem } from '../domain/checkout.js';
import { outboundUrlProblem } from '../domain/outbound-url.js';
import { unknownVoucherRefusal } from '../domain/payments.js';
import { CatalogError } from '../lib/catalog-error.js';
import { sha256Hex } from '../lib/secrets.js';
import type { CheckoutRecord } from './checkout-ports.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';

export interface CreatedCheckoutView {
  checkout: CheckoutRecord;
  url: string;
}

export function checkoutUrl(deps: PaymentDeps, checkoutId: string): string {
  return `${deps.publicBaseUrl}/checkout?checkoutId=${checkoutId}`;
}

export async function createCheckout(deps: PaymentDeps, principal: Principal, input: CreateCheckoutRequest): Promise<CreatedCheckoutView> {
  const { order } = input;
  if (order.currencyType !== 'MYR') {
    throw new CatalogError('PAYMENT_UNSUPPORTED_CURRENCY_TYPE', `Unsupported currency type: only MYR is accepted, not "${order.currencyType}"`);
  }
  if (order.amount < limits.paymentAmountMinorMin) {
    throw new CatalogError('MINIMUM_AMOUNT_REQUIRED', `Minimum amount should be 10sen: order.amount is ${order.amount}`);
  }
  const voucherRefusal = unknownVoucherRefusal(voucherCodeOf(input.voucher));
  if (voucherRefusal) throw new CatalogError(voucherRefusal.code, voucherRefusal.message);
  // The go SDK sends null for an empty list (a nil slice): null means what [] means.
  const requestedMethods = input.method ?? [];
  const methods = checkoutMethodsFor(input.type, requestedMethods, input.excludeMethod ?? []);
  if (!methods.ok) throw new CatalogError(methods.code, methods.message);
  const redirectProblem = httpUrlProblem(input.redirectUrl);
  if (redirectProblem) throw new CatalogError('VALIDATION_ERROR', `Validations error: redirectUrl ${redirectProblem}`);
  const notifyProblem = outboundUrlProblem(input.notifyUrl, deps.outboundPolicy);
  if (notifyProblem) throw new CatalogError('VALIDATION_ERROR', `Validations error: notifyUrl ${notifyProblem}`);
  const ttlSeconds = input.expiresInSeconds || limits.checkoutTtlSecondsDefault;
  if (ttlSeconds < limits.checkoutTtlSecondsMin) {
    throw new CatalogError('VALIDATION_ERROR', `Validations error: expiresInSeconds must be at least ${limits.checkoutTtlSecondsMin}`);
  }
  const store = await deps.storage.stores.get(principal.merchantId, input.storeId);
  if (!store) throw new CatalogError('STORE_NOT_FOUND');

  const nowMs = deps.clock.nowMs();
  const methodList = [...new Set(requestedMethods)];
  const excludeList = [...new Set(input.excludeMethod ?? [])];
  const orderDetail = order.detail ?? '';
  const orderAdditionalData = order.additionalData ?? '';
  // What makes a retried create the same request (the order id is the key it is found by).
  const requestFingerprint = sha256Hex(
    JSON.stringify([store.id, input.type, order.title, orderDetail, orderAdditionalData, order.amount, methodList, excludeList, input.redirectUrl, input.notifyUrl]),
  );
  const fields: Omit<CheckoutRecord, 'id'> = {
    merchantId: principal.merchantId,
    storeId: store.id,
    type: input.type,
    orderId: order.id,
    orderTitle: order.title,
    orderDetail,
    orderAdditionalData,
    amountMinor: order.amount,
    currency: 'MYR',
    methods: methodList,
    excludeMethods: excludeList,
    redirectUrl: input.redirectUrl,
    notifyUrl: input.notifyUrl,
    layoutVersion: input.layoutVersion ?? '',
    status: 'IN_PROCESS',
    transactionId: null,
    requestFingerprint,
    startAtMs: nowMs,
    endAtMs: nowMs + ttlSeconds * 1000,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
  // In a transaction so that a checkout id another process also drew is drawn again (see Storage.transaction).
  const { checkout, inserted } = await deps.storage.transaction(async (storage) => {
    // An order id names one payment per merchant, whichever way it is paid. Checked under the order's lock, so a
    // QuickPay made at the same moment cannot take it too.
    await storage.lockOrderId(principal.merchantId, order.id);
    // A payment of a checkout carries the checkout's order id: that one is the checkout's own (a retry of this create
    // after the payer picked a wallet finds it), and the checkout insert below tells a retry from a duplicate.
    const paid = await storage.payments.getByOrderId(principal.merchantId, order.id);
    if (paid && paid.checkoutId === null) {
      throw new CatalogError('ORDER_ID_DUPLICATE', `Order id duplicate: ${order.id} was already used by this merchant`);
    }
    const drawn: CheckoutRecord = { id: deps.ids.numericId(), ...fields };
    return { checkout: drawn, inserted: await storage.checkout.checkouts.insertIfNewOrder(drawn) };
  });
  if (!inserted.inserted) {
    const existing = inserted.existing;
    // A retried create (same order, same content, still open) gets the same checkout back rather than an error.
    if (existing.requestFingerprint === checkout.requestFingerprint && existing.status === 'IN_PROCESS' && existing.endAtMs > nowMs) {
      return { checkout: existing, url: checkoutUrl(deps, existing.id) };
    }
    throw new CatalogError('ORDER_ID_DUPLICATE', `Order id duplicate: ${order.id} was already used by this merchant`);
  }
  return { checkout, url: checkoutUrl(deps, checkout.id) };
}
