// GET /v3/payment/transaction/:id: one of the merchant's transactions.
import { CatalogError } from '../lib/catalog-error.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';
import { withStore, type TransactionView } from './transaction-view.js';

export async function getTransaction(deps: PaymentDeps, principal: Principal, transactionId: string): Promise<TransactionView> {
  const tx = await deps.storage.payments.get(principal.merchantId, transactionId);
  if (!tx) throw new CatalogError('TRANSACTION_NOT_FOUND');
  return withStore(deps, tx);
}
