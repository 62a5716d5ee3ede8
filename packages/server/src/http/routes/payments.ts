// Routes: QuickPay, refund, reverse, transaction queries and the settlement report (all signed, scope manage_payment).
import { Readable } from 'node:stream';
import { ListQuery, QuickPayRequest, RefundRequest, ReverseRequest, SettlementCsvRequest } from '@tunai/client/contract';
import { createQuickPay } from '../../app/create-quickpay.js';
import { getTransaction } from '../../app/get-transaction.js';
import { getTransactionByOrder } from '../../app/get-transaction-by-order.js';
import { listTransactions } from '../../app/list-transactions.js';
import type { PaymentDeps } from '../../app/payment-deps.js';
import { refundPayment } from '../../app/refund-payment.js';
import { reversePayment } from '../../app/reverse-payment.js';
import { settlementReport } from '../../app/settlement-report.js';
import { CatalogError } from '../../lib/catalog-error.js';
import { jsonBody } from '../body.js';
import { itemEnvelope, itemsEnvelope } from '../envelope.js';
import { encodeCursor, parsePageParams } from '../list-query.js';
import { openApiRoute, type OpenApiContext } from '../open-api.js';
import { presentTransaction } from '../presenters.js';
import { parseTransactionFilter } from '../transaction-filter.js';
import { validate } from '../validate.js';

/** Transaction ids are digits; anything else cannot name one, so it is not looked up. */
function transactionIdParam(params: unknown): string {
  const id = (params as { transactionId?: string }).transactionId ?? '';
  if (!/^[0-9]{1,32}$/.test(id)) throw new CatalogError('TRANSACTION_NOT_FOUND');
  return id;
}

function orderIdParam(params: unknown): string {
  const id = (params as { orderId?: string }).orderId ?? '';
  if (id.length === 0 || id.length > 24) throw new CatalogError('TRANSACTION_NOT_FOUND');
  return id;
}

export function registerPaymentRoutes(ctx: OpenApiContext, deps: PaymentDeps): void {
  const signed = { scope: 'manage_payment', signature: 'required' } as const;
  openApiRoute(ctx, {
    ...signed,
    method: 'POST',
    url: '/v3/payment/quickpay',
    handler: async (request, auth) =>
      itemEnvelope(presentTransaction(await createQuickPay(deps, auth.principal, validate(QuickPayRequest, jsonBody(request))))),
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'POST',
    url: '/v3/payment/refund',
    handler: async (request, auth) =>
      itemEnvelope(presentTransaction(await refundPayment(deps, auth.principal, validate(RefundRequest, jsonBody(request))))),
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'POST',
    url: '/v3/payment/reverse',
    handler: async (request, auth) => {
      const input = validate(ReverseRequest, jsonBody(request));
      return itemEnvelope(presentTransaction(await reversePayment(deps, auth.principal, input.orderId)));
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/transactions',
    handler: async (request, auth) => {
      const query = validate(ListQuery, request.query, 'query');
      const page = parsePageParams(query);
      const filter = parseTransactionFilter(query.filter);
      const result = await listTransactions(deps, auth.principal, { limit: page.limit, beforeId: page.afterId, ...filter });
      return itemsEnvelope(result.views.map(presentTransaction), {
        count: result.views.length,
        ...(result.nextBeforeId ? { cursor: encodeCursor(result.nextBeforeId) } : {}),
      });
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/transaction/:transactionId',
    handler: async (request, auth) =>
      itemEnvelope(presentTransaction(await getTransaction(deps, auth.principal, transactionIdParam(request.params)))),
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/transaction/order/:orderId',
    handler: async (request, auth) =>
      itemEnvelope(presentTransaction(await getTransactionByOrder(deps, auth.principal, orderIdParam(request.params)))),
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'POST',
    url: '/v3/payment/settlement/csv',
    readOnly: true,
    handler: async (request, auth, reply) => {
      const lines = await settlementReport(deps, auth.principal, validate(SettlementCsvRequest, jsonBody(request)));
      return reply.type('text/csv; charset=utf-8').send(Readable.from(lines));
    },
  });
}
