// Sandbox only: the simulated wallet screen where the payer confirms (choosing a magic outcome), cancels, or walks away.
import type { FastifyInstance } from 'fastify';
import { recordPayerDecision, loadPayerTransaction, type SandboxWallet } from '../app/payer-decision.js';
import type { PaymentDeps } from '../app/payment-deps.js';
import type { TransactionRecord } from '../app/payment-ports.js';
import { CatalogError } from '../lib/catalog-error.js';
import { formatMinorUnits } from '../lib/money.js';
import { escapeHtml, page, pageHeaders } from './html.js';
import type { PayerLookupGuard } from './payer-lookup-guard.js';
import { field, renderPayerError, type PageRoutes } from './payer-pages.js';

export interface PayerOutcome {
  scenario: string;
  label: string;
}

/**
 * Where the payer's browser goes once the wallet answered: back to the checkout or the QR result page. Relative to
 * `from`, the page or form path it is used on (links work under whatever path a proxy serves tunai).
 */
function returnPath(tx: TransactionRecord, from: '/sandbox/wallet' | '/sandbox/wallet/confirm'): string {
  const up = from === '/sandbox/wallet' ? '../' : '../../';
  return tx.checkoutId !== null ? `${up}checkout?checkoutId=${tx.checkoutId}` : `${up}payment/unified/result?transactionId=${tx.id}`;
}

export function registerSandboxWalletPage(
  server: FastifyInstance,
  routes: PageRoutes,
  deps: PaymentDeps,
  wallet: SandboxWallet,
  outcomes: readonly PayerOutcome[],
  cancelChoice: string,
  guard: PayerLookupGuard,
): void {
  const formRoute = { config: { acceptsForm: true }, ...guard.page } as const;
  routes.add('GET', '/sandbox/wallet');
  server.get('/sandbox/wallet', guard.page, async (request, reply) => {
    try {
      const tx = await loadPayerTransaction(deps, field(request, 'order'));
      const store = await deps.storage.stores.getAny(tx.merchantId, tx.storeId);
      const head = `<p class="muted">Sandbox wallet · ${escapeHtml(tx.method)} (${escapeHtml(tx.region)})</p><p class="muted">Pay ${escapeHtml(store?.name ?? '')}</p>
<h1 id="order-title">${escapeHtml(tx.orderTitle)}</h1><p class="amount" id="amount">RM ${formatMinorUnits(tx.amountMinor)}</p>`;
      const open = tx.status === 'IN_PROCESS' && !tx.reverseRequested;
      const body = open
        ? `${head}<form method="post" action="wallet/confirm"><input type="hidden" name="order" value="${tx.id}">
<label for="outcome">Outcome (sandbox magic values)</label><select name="outcome" id="outcome">${outcomes
            .map((o) => `<option value="${o.scenario}">${escapeHtml(o.label)}</option>`)
            .join('')}</select>
<div class="actions"><button class="approve" id="pay">Pay</button></div></form>
<form method="post" action="wallet/cancel"><input type="hidden" name="order" value="${tx.id}"><div class="actions"><button class="deny" id="cancel">Cancel</button></div></form>
<p class="muted">Or close this page: when the payer's time is up the order is closed and the payment fails (PAYMENT_TIMEOUT).</p>`
        : `${head}<p id="closed">This payment is ${escapeHtml(tx.status)}.</p><div class="methods"><a href="${returnPath(tx, '/sandbox/wallet')}" id="back">Back to the merchant</a></div>`;
      return reply.headers(pageHeaders).send(page('Sandbox wallet', body));
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
  const decide = async (orderId: string, choice: string) => {
    const { transaction } = await recordPayerDecision(deps, wallet, orderId, choice);
    // Both forms post to /sandbox/wallet/<decision>.
    return returnPath(transaction, '/sandbox/wallet/confirm');
  };
  routes.add('POST', '/sandbox/wallet/confirm');
  server.post('/sandbox/wallet/confirm', formRoute, async (request, reply) => {
    try {
      // No outcome chosen is "pays at once"; an outcome sent twice is neither (it is refused below).
      const sent = (request.body as Record<string, unknown> | undefined)?.['outcome'];
      const outcome = sent === undefined || sent === '' ? '0000' : field(request, 'outcome');
      if (!outcomes.some((o) => o.scenario === outcome)) throw new CatalogError('VALIDATION_ERROR', `Validations error: outcome must be one of ${outcomes.map((o) => o.scenario).join(', ')}`);
      return reply.redirect(await decide(field(request, 'order'), outcome), 303);
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
  routes.add('POST', '/sandbox/wallet/cancel');
  server.post('/sandbox/wallet/cancel', formRoute, async (request, reply) => {
    try {
      return reply.redirect(await decide(field(request, 'order'), cancelChoice), 303);
    } catch (error) {
      return renderPayerError(reply, error);
    }
  });
}
