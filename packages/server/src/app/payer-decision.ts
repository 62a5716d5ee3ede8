// Sandbox: the payer answers on the simulated wallet screen; we hear it at once, as a wallet's notify would tell us.
import { CatalogError } from '../lib/catalog-error.js';
import { advancePayment } from './advance-payment.js';
import type { PaymentDeps } from './payment-deps.js';
import type { TransactionRecord } from './payment-ports.js';

/** The simulator's payer side (providers/wallet-simulator.ts); main hands it to the sandbox wallet page. */
export interface SandboxWallet {
  payerDecides(upstreamOrderId: string, choice: string): Promise<boolean>;
}

export async function loadPayerTransaction(deps: PaymentDeps, transactionId: string): Promise<TransactionRecord> {
  const tx = /^[0-9]{1,32}$/.test(transactionId) ? await deps.storage.payments.getById(transactionId) : null;
  if (!tx || (tx.checkoutId === null && tx.qrCode === null)) throw new CatalogError('TRANSACTION_NOT_FOUND', 'Transaction not found: no such wallet order');
  return tx;
}

/** Returns the transaction after the wallet was asked; `decided` is false when the order was no longer waiting. */
export async function recordPayerDecision(deps: PaymentDeps, wallet: SandboxWallet, transactionId: string, choice: string): Promise<{ transaction: TransactionRecord; decided: boolean }> {
  const tx = await loadPayerTransaction(deps, transactionId);
  const decided = tx.status === 'IN_PROCESS' && !tx.reverseRequested && (await wallet.payerDecides(tx.id, choice));
  if (decided) {
    await deps.storage.payments.makeDue(tx.id, deps.clock.nowMs());
    await advancePayment(deps, tx.id);
  }
  return { transaction: (await deps.storage.payments.getById(tx.id)) ?? tx, decided };
}
