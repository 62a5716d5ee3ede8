// GET /v3/payment/transactions: the merchant's transactions, newest first, filtered and paged.
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';
import type { TransactionListQuery } from './payment-ports.js';
import { withStores, type TransactionView } from './transaction-view.js';

export async function listTransactions(
  deps: PaymentDeps,
  principal: Principal,
  query: Omit<TransactionListQuery, 'merchantId'>,
): Promise<{ views: TransactionView[]; nextBeforeId: string | null }> {
  const page = await deps.storage.payments.list({ ...query, merchantId: principal.merchantId });
  return { views: await withStores(deps, page.transactions), nextBeforeId: page.nextBeforeId };
}
