// GET /v3/payment/transaction/order/:orderId: the merchant's transaction for an order id (integrations poll this).
import { CatalogError } from '../lib/catalog-error.js';
import type { Principal } from './deps.js';
import type { PaymentDeps } from './payment-deps.js';
import { withStore, type TransactionView } from './transaction-view.js';

export async function getTransactionByOrder(deps: PaymentDeps, principal: Principal, orderId: string): Promise<TransactionView> {
  const tx = await deps.storage.payments.getByOrderId(principal.merchantId, orderId);
  if (!tx) throw new CatalogError('TRANSACTION_NOT_FOUND');
  return withStore(deps, tx);
}
