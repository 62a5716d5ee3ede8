// A transaction with the store it was paid at: what every payment endpoint presents.
import type { PaymentDeps } from './payment-deps.js';
import type { TransactionRecord } from './payment-ports.js';
import type { StoreRecord } from './ports.js';

export interface TransactionView {
  transaction: TransactionRecord;
  store: StoreRecord;
}

export async function withStores(deps: PaymentDeps, transactions: TransactionRecord[]): Promise<TransactionView[]> {
  const stores = new Map<string, StoreRecord>();
  const views: TransactionView[] = [];
  for (const transaction of transactions) {
    let store = stores.get(transaction.storeId);
    if (!store) {
      const found = await deps.storage.stores.getAny(transaction.merchantId, transaction.storeId);
      if (!found) throw new Error(`transaction ${transaction.id} refers to missing store ${transaction.storeId}`);
      store = found;
      stores.set(store.id, store);
    }
    views.push({ transaction, store });
  }
  return views;
}

export async function withStore(deps: PaymentDeps, transaction: TransactionRecord, known?: StoreRecord): Promise<TransactionView> {
  if (known && known.id === transaction.storeId) return { transaction, store: known };
  const [view] = await withStores(deps, [transaction]);
  if (!view) throw new Error('unreachable: one transaction gives one view');
  return view;
}
