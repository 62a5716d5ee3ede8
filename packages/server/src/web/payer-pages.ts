// The payer's hosted pages: the checkout page (pick a method), the unified Transaction QR page, and their result pages.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CheckoutMethod } from '@tunai/client/contract';
import type { CheckoutRecord } from '../app/checkout-ports.js';
import { cancelCheckout } from '../app/cancel-checkout.js';
import { getCheckout } from '../app/get-checkout.js';
import { loadQrCode } from '../app/get-qr-code.js';
import { payeeClosedError } from '../app/start-payer-payment.js';
import { payCheckout } from '../app/pay-checkout.js';
import { closedQrError, paymentUnderWay, payQrCode } from '../app/pay-qr-code.js';
import { loadPayerTransaction } from '../app/payer-decision.js';
import type { PaymentDeps } from '../app/payment-deps.js';
import type { TransactionRecord } from '../app/payment-ports.js';
import { checkoutMethodsFor, checkoutStatusAfter, checkoutWallets, qrOfferedMethods, redirectWithResult } from '../domain/checkout.js';
import { fpxBanks } from '../domain/fpx-banks.js';
import { CatalogError } from '../lib/catalog-error.js';
import { formatMinorUnits } from '../lib/money.js';
import { qrPngDataUrl } from '../lib/qr-image.js';
import { escapeHtml, page, pageHeaders, pollScript } from './html.js';
import type { PayerLookupGuard } from './payer-lookup-guard.js';

export interface PageRoutes {
  add(method: string, url: string): void;
}


/** A form field (POST) or query parameter (GET); anything but a single string reads as empty. */
export function field(request: FastifyRequest, name: string): string {
  // HEAD is GET without the body (link checkers and chat previews send it): both read the query.
  const source = (request.method === 'GET' || request.method === 'HEAD' ? request.query : request.body) as Record<string, unknown> | undefined;
  const value = source?.[name];
  return typeof value === 'string' ? value : '';
}

function html(reply: FastifyReply, body: string, statusCode = 200): FastifyReply {
  return reply.code(statusCode).headers(pageHeaders).send(body);
}

/** Refusals become a readable page with the catalog code; anything else is a real fault and propagates. */
export function renderPayerError(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof CatalogError)) throw error;
  return html(
    reply,
    page('Payment', `<h1 class="error" id="error-code">${escapeHtml(error.code)}</h1><p id="error-message">${escapeHtml(error.message)}</p>`),
    error.httpStatus,
  );
}

function amountBlock(amountMinor: number, title: string, storeName: string): string {
  return `<p class="muted">${escapeHtml(storeName)}</p><h1 id="order-title">${escapeHtml(title)}</h1><p class="amount" id="amount">RM ${formatMinorUnits(amountMinor)}</p>`;
}

function resultFor(checkout: CheckoutRecord, tx: TransactionRecord | null): { status: string; orderId: string; reason?: string } {
  const reason = tx?.errorMessage ?? undefined;
  return { status: checkout.status, orderId: checkout.orderId, ...(checkout.status !== 'SUCCESS' && reason ? { reason } : {}) };
}

async function checkoutPage(deps: PaymentDeps, checkout: CheckoutRecord): Promise<string> {
  const store = await deps.storage.stores.getAny(checkout.merchantId, checkout.storeId);
  const header = amountBlock(checkout.amountMinor, checkout.orderTitle, store?.name ?? '');
  // Links are relative to the page (/checkout), so they also work behind a proxy that serves tunai under a path.
  const statusUrl = `checkout/status?checkoutId=${checkout.id}`;
  const selfUrl = `checkout?checkoutId=${checkout.id}`;
  const cancel = `<form method="post" action="checkout/cancel" class="inline"><input type="hidden" name="checkoutId" value="${checkout.id}"><div class="actions"><button class="deny" id="cancel">Cancel payment</button></div></form>`;
  if (checkout.transactionId !== null) {
    const tx = await deps.storage.payments.getById(checkout.transactionId);
    const payUrl = tx?.payUrl ?? '';
    const wallet = tx ? `${tx.method} (${tx.region})` : '';
    // No payUrl yet: the wallet order is still being opened, or the wallet did not answer (the closed loop settles
    // it). There is nothing to show as a QR (an empty one cannot be drawn), but the payer can still cancel or wait.
    const walletLink =
      payUrl === ''
        ? `<p id="waiting">Opening the payment in <strong>${escapeHtml(wallet)}</strong>…</p>
<p id="opening">The wallet has not answered yet. <a href="${selfUrl}" id="retry">Check again</a>, or cancel the payment.</p>`
        : `<p id="waiting">Waiting for you to confirm in <strong>${escapeHtml(wallet)}</strong>. Scan this code with the wallet, or open it on this phone.</p>
<img class="qr" alt="Payment QR code" src="${await qrPngDataUrl(payUrl)}">
<div class="methods"><a id="open-wallet" href="${escapeHtml(payUrl)}">Open the wallet</a></div>`;
    return page(
      'Complete your payment',
      `${header}${walletLink}${cancel}${pollScript(statusUrl, selfUrl)}`,
    );
  }
  // No payment can start: the page says why at once rather than after the payer picks a wallet.
  const closed = await payeeClosedError(deps.storage, checkout.merchantId, checkout.storeId);
  if (closed) throw closed;
  const offered = checkoutMethodsFor(checkout.type, checkout.methods, checkout.excludeMethods);
  const methods: CheckoutMethod[] = offered.ok ? offered.value : [];
  const buttons = methods
    .map((method) => {
      if (method === 'FPX_MY') {
        const options = fpxBanks.map((b) => `<option value="${escapeHtml(b.code)}"${b.isOnline ? '' : ' disabled'}>${escapeHtml(b.name)}</option>`).join('');
        return `<form method="post" action="checkout/pay" class="inline"><input type="hidden" name="checkoutId" value="${checkout.id}"><input type="hidden" name="method" value="FPX_MY">
<select name="bankCode" id="fpx-bank" aria-label="Bank">${options}</select><button id="method-FPX_MY">${escapeHtml(checkoutWallets.FPX_MY.label)}</button></form>`;
      }
      return `<form method="post" action="checkout/pay" class="inline"><input type="hidden" name="checkoutId" value="${checkout.id}"><button name="method" value="${method}" id="method-${method}">${escapeHtml(checkoutWallets[method].label)}</button></form>`;
    })
    .join('');
  const minutesLeft = Math.max(0, Math.ceil((checkout.endAtMs - deps.clock.nowMs()) / 60_000));
  return page(
    'Checkout',
    `${header}<p class="muted">Choose how to pay. This checkout closes in ${minutesLeft} min.</p><div class="methods" id="methods">${buttons}</div>${cancel}${pollScript(statusUrl, selfUrl)}`,
  );
}

/** A QR payment's page status in the checkout vocabulary, so the redirect speaks RM's SUCCESS/FAILED/CANCELLED/EXPIRED. */
function qrPaymentStatus(tx: TransactionRecord): string {
  return checkoutStatusAfter(tx.status, tx.errorCode) ?? (tx.status === 'IN_PROCESS' ? 'IN_PROCESS' : 'SUCCESS');
}

async function unifiedPage(deps: PaymentDeps, code: string): Promise<string> {
  const qr = await loadQrCode(deps, code);
  // A one-time QR with a payment under way keeps its page, as a checkout does, also past its expiry or with its
  // merchant or store closed meanwhile: that wallet order still completes.
  const closed = paymentUnderWay(qr) ? null : (closedQrError(qr, deps.clock.nowMs()) ?? (await payeeClosedError(deps.storage, qr.merchantId, qr.storeId)));
  if (closed) throw closed;
  const store = await deps.storage.stores.getAny(qr.merchantId, qr.storeId);
  const header = qr.isPreFillAmount
    ? amountBlock(qr.amountMinor, qr.orderTitle, store?.name ?? '')
    : `<p class="muted">${escapeHtml(store?.name ?? '')}</p><h1 id="order-title">${escapeHtml(qr.orderTitle)}</h1>
<label for="amount-input">Amount (RM)</label><input type="text" inputmode="decimal" id="amount-input" name="amount" form="pay-form" placeholder="0.00" required pattern="[0-9]{1,7}(\\.[0-9]{1,2})?">`;
  const buttons = qrOfferedMethods(qr.methods)
    .map((method) => `<button name="method" value="${method}" id="method-${method}">${escapeHtml(checkoutWallets[method].label)}</button>`)
    .join('');
  return page(
    'Pay',
    `${header}<form method="post" action="unified/pay" id="pay-form"><input type="hidden" name="code" value="${qr.code}"><div class="methods" id="methods">${buttons}</div></form>`,
  );
}

/** "12.5" → 1250; anything that is not a plain RM amount with at most two decimals is refused. */
function parseRinggit(text: string): number | undefined {
  const match = /^([0-9]{1,9})(?:\.([0-9]{1,2}))?$/.exec(text.trim());
  if (!match?.[1]) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

export function registerPayerPages(server: FastifyInstance, routes: PageRoutes, deps: PaymentDeps, guard: PayerLookupGuard): void {
  const formRoute = { config: { acceptsForm: true }, ...guard.page } as const;
  routes.add('GET', '/checkout');
  server.get('/checkout', guard.page, async (request, reply) => {
    try {
      const checkout = await getCheckout(deps, field(request, 'checkoutId'));
      if (checkout.status !== 'IN_PROCESS') {
        const tx = checkout.transactionId ? await deps.storage.payments.getById(checkout.transactionId) : null;
        return reply.redirect(redirectWithResult(checkout.redirectUrl, resultFor(checkout, tx)), 303);
      }
      return html(reply, await checkoutPage(deps, checkout));
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
  routes.add('GET', '/checkout/status');
  server.get('/checkout/status', guard.json, async (request, reply) => {
    const checkout = await getCheckout(deps, field(request, 'checkoutId'));
    return reply.header('cache-control', 'no-store').send({ status: checkout.status });
  });
  routes.add('POST', '/checkout/pay');
  server.post('/checkout/pay', formRoute, async (request, reply) => {
    try {
      const started = await payCheckout(deps, { checkoutId: field(request, 'checkoutId'), method: field(request, 'method'), bankCode: field(request, 'bankCode') });
      return reply.redirect(started.payUrl, 303);
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
  routes.add('POST', '/checkout/cancel');
  server.post('/checkout/cancel', formRoute, async (request, reply) => {
    try {
      const checkout = await cancelCheckout(deps, field(request, 'checkoutId'));
      // Relative to /checkout/cancel: back to the checkout page, under whatever path a proxy serves tunai.
      return reply.redirect(`../checkout?checkoutId=${checkout.id}`, 303);
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });

  routes.add('GET', '/payment/unified');
  server.get('/payment/unified', guard.page, async (request, reply) => {
    try {
      return html(reply, await unifiedPage(deps, field(request, 'code')));
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
  routes.add('POST', '/payment/unified/pay');
  server.post('/payment/unified/pay', formRoute, async (request, reply) => {
    try {
      const amountText = field(request, 'amount');
      const amountMinor = amountText === '' ? undefined : parseRinggit(amountText);
      if (amountText !== '' && amountMinor === undefined) throw new CatalogError('PAYMENT_AMT_INVALID', 'Invalid amount format: enter ringgit like 12.50');
      const started = await payQrCode(deps, { code: field(request, 'code'), method: field(request, 'method'), amountMinor });
      return reply.redirect(started.payUrl, 303);
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
  routes.add('GET', '/payment/unified/status');
  server.get('/payment/unified/status', guard.json, async (request, reply) => {
    const tx = await loadPayerTransaction(deps, field(request, 'transactionId'));
    return reply.header('cache-control', 'no-store').send({ status: qrPaymentStatus(tx) });
  });
  routes.add('GET', '/payment/unified/result');
  server.get('/payment/unified/result', guard.page, async (request, reply) => {
    try {
      const tx = await loadPayerTransaction(deps, field(request, 'transactionId'));
      const qr = tx.qrCode === null ? null : await loadQrCode(deps, tx.qrCode);
      const store = await deps.storage.stores.getAny(tx.merchantId, tx.storeId);
      const status = qrPaymentStatus(tx);
      if (status === 'IN_PROCESS') {
        const self = `result?transactionId=${tx.id}`;
        return html(
          reply,
          page('Waiting for payment', `${amountBlock(tx.amountMinor, tx.orderTitle, store?.name ?? '')}<p id="waiting">Waiting for the wallet to confirm…</p>${pollScript(`status?transactionId=${tx.id}`, self)}`),
        );
      }
      const reason = status !== 'SUCCESS' && tx.errorMessage ? { reason: tx.errorMessage } : {};
      if (qr && qr.redirectUrl !== '') return reply.redirect(redirectWithResult(qr.redirectUrl, { status, orderId: tx.orderId, ...reason }), 303);
      const heading = status === 'SUCCESS' ? 'Payment successful' : `Payment ${status.toLowerCase()}`;
      return html(
        reply,
        page(heading, `${amountBlock(tx.amountMinor, tx.orderTitle, store?.name ?? '')}<h1 id="result" data-status="${status}">${escapeHtml(heading)}</h1>${reason.reason ? `<p>${escapeHtml(reason.reason)}</p>` : ''}<p class="muted">Transaction ${tx.id}</p>`),
      );
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
}
