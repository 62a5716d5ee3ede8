// Builds a new payment's TransactionRecord: IN_PROCESS, nothing paid or refunded, held by its creator under a lease.
import type { PaymentConnector } from './connector.js';
import type { PaymentDeps } from './payment-deps.js';
import type { TransactionRecord } from './payment-ports.js';

/** What tells one new payment from another (QuickPay, checkout, Transaction QR); everything else starts the same. */
export type NewTransactionFields = Pick<
  TransactionRecord,
  | 'id'
  | 'merchantId'
  | 'storeId'
  | 'orderId'
  | 'orderTitle'
  | 'orderDetail'
  | 'orderAdditionalData'
  | 'amountMinor'
  | 'requestFingerprint'
  | 'terminalId'
  | 'ipAddress'
  | 'method'
  | 'region'
  | 'type'
  | 'checkoutId'
  | 'qrCode'
  | 'payDeadlineAtMs'
>;

export function newTransaction(deps: PaymentDeps, connector: PaymentConnector, nowMs: number, fields: NewTransactionFields): TransactionRecord {
  return {
    id: fields.id,
    merchantId: fields.merchantId,
    storeId: fields.storeId,
    orderId: fields.orderId,
    orderTitle: fields.orderTitle,
    orderDetail: fields.orderDetail,
    orderAdditionalData: fields.orderAdditionalData,
    amountMinor: fields.amountMinor,
    currency: 'MYR',
    balanceMinor: 0,
    refundedMinor: 0,
    requestFingerprint: fields.requestFingerprint,
    terminalId: fields.terminalId,
    ipAddress: fields.ipAddress,
    method: fields.method,
    region: fields.region,
    platform: 'OPEN_API',
    type: fields.type,
    connector: connector.name,
    status: 'IN_PROCESS',
    errorCode: null,
    errorMessage: null,
    referenceId: '',
    payerUserId: '',
    transactionAtMs: null,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    // Held by the creating request while it calls the wallet; if the process dies, the closed loop takes over when the lease lapses.
    nextCheckAtMs: nowMs + connector.pollProfile.firstQueryAfterMs,
    leaseUntilMs: nowMs + deps.payments.leaseMs,
    reverseRequested: false,
    reverseAttempts: 0,
    queryCount: 0,
    checkoutId: fields.checkoutId,
    qrCode: fields.qrCode,
    payDeadlineAtMs: fields.payDeadlineAtMs,
    payUrl: null,
  };
}
