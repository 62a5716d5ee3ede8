// Storage ports for payments, refunds, the ledger and the wallet simulator's own books.
import type { PaymentMethod, Region, TransactionStatus } from '@tunai/client/contract';
import type { EntryKind, Posting, TransactionLedgerView } from '../domain/ledger.js';

export interface TransactionRecord {
  id: string;
  merchantId: string;
  storeId: string;
  orderId: string;
  orderTitle: string;
  orderDetail: string;
  orderAdditionalData: string;
  amountMinor: number;
  currency: string;
  /** What is left to refund: 0 until paid, then amount minus refunds (succeeded or in flight). */
  balanceMinor: number;
  /** Refunds that succeeded upstream (the status follows this: PARTIAL_REFUNDED, FULL_REFUNDED). */
  refundedMinor: number;
  requestFingerprint: string;
  terminalId: string;
  ipAddress: string;
  method: PaymentMethod;
  region: Region;
  platform: string;
  type: string;
  connector: string;
  status: TransactionStatus;
  errorCode: string | null;
  errorMessage: string | null;
  referenceId: string;
  payerUserId: string;
  transactionAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
  /** The closed loop owns the transaction while this is set: due at this time. */
  nextCheckAtMs: number | null;
  /** Someone is working on it until then (a lease, so a crashed worker's claim expires). */
  leaseUntilMs: number | null;
  reverseRequested: boolean;
  reverseAttempts: number;
  queryCount: number;
  /** The checkout or Transaction QR a customer-scans payment belongs to (null for QuickPay). */
  checkoutId: string | null;
  qrCode: string | null;
  /** When the payer's time runs out (customer-scans); null: the connector's poll profile decides. */
  payDeadlineAtMs: number | null;
  /** Where the payer confirms a customer-scans payment (absolute URL), once the wallet opened the order. */
  payUrl: string | null;
}

export interface RefundRecord {
  id: string;
  transactionId: string;
  merchantId: string;
  type: 'FULL' | 'PARTIAL';
  amountMinor: number;
  currency: string;
  reason: string;
  status: 'PENDING' | 'SUCCESS' | 'FAILED';
  createdAtMs: number;
  updatedAtMs: number;
  nextAttemptAtMs: number | null;
}

/** RM's list `filter` for transactions, parsed: each null means "any". */
export interface TransactionFilter {
  statuses: TransactionStatus[] | null;
  methods: string[] | null;
  createdFromMs: number | null;
  createdToMs: number | null;
  /** When the payment became final (paid, failed, reversed); unfinished ones have none and never match. */
  transactionAtFromMs: number | null;
  transactionAtToMs: number | null;
}

export interface TransactionListQuery extends TransactionFilter {
  merchantId: string;
  /** Only the payments of this Transaction QR. */
  qrCode?: string;
  limit: number;
  /** Newest first: the page continues below this id. */
  beforeId: string | null;
}

export interface LedgerEntryInput {
  id: string;
  transactionId: string;
  merchantId: string;
  kind: EntryKind;
  refundId: string;
  amountMinor: number;
  currency: string;
  method: string;
  region: string;
  bookedAtMs: number;
  postings: Posting[];
}

export interface SettlementRow {
  entryId: string;
  transactionId: string;
  kind: EntryKind;
  amountMinor: number;
}

export interface SettlementQuery {
  merchantId: string;
  fromMs: number;
  toMs: number;
  methods: string[] | null;
  region: string;
  afterEntryId: string | null;
  limit: number;
}

/** The outcome fields a closed-loop step writes; the update only applies while the status is still `from`. */
export interface TransactionOutcome {
  status: TransactionStatus;
  balanceMinor: number;
  errorCode?: string | null;
  errorMessage?: string | null;
  referenceId?: string;
  payerUserId?: string;
  transactionAtMs?: number | null;
}

export interface PaymentsStorage {
  /** Inserts unless the merchant already used the order id; returns the existing transaction then. */
  insertIfNewOrder(tx: TransactionRecord): Promise<{ inserted: true } | { inserted: false; existing: TransactionRecord }>;
  get(merchantId: string, transactionId: string): Promise<TransactionRecord | null>;
  getById(transactionId: string): Promise<TransactionRecord | null>;
  getByOrderId(merchantId: string, orderId: string): Promise<TransactionRecord | null>;
  list(query: TransactionListQuery): Promise<{ transactions: TransactionRecord[]; nextBeforeId: string | null }>;
  /** Takes the lease if the transaction is due and nobody holds it; true when this caller won. */
  claim(transactionId: string, nowMs: number, leaseUntilMs: number): Promise<boolean>;
  /**
   * Writes an outcome if the status is still `from`, releases the lease and schedules the next check
   * (`nextCheckAtMs`, or now when a reverse was requested meanwhile). Resolves to the transaction as the write left
   * it, or null when the status had moved on. `entry`, when given, is booked with the outcome, atomically, and only
   * if the outcome was written (as `ledger.book`: an entry that exists is not booked again); on PostgreSQL the
   * outcome and its entry are one statement.
   */
  recordOutcome(
    transactionId: string,
    from: TransactionStatus,
    /**
     * The lease the writing step holds (its TransactionRecord's leaseUntilMs, as its claim or the insert set it): the
     * outcome is written only while that is still the transaction's lease. A step whose lease lapsed and was taken by
     * another (a stalled process, another process's clock ahead) writes nothing: the step that holds it decides.
     */
    heldLeaseUntilMs: number | null,
    outcome: TransactionOutcome,
    nowMs: number,
    nextCheckAtMs: number | null,
    entry?: LedgerEntryInput,
  ): Promise<TransactionRecord | null>;
  /**
   * A step found the transaction already final with nothing to do: releases the lease and clears the next check,
   * touching nothing else (a refund may be reserving balance at this very moment). Nothing happens if the status moved.
   */
  releaseFinal(transactionId: string, status: TransactionStatus, nowMs: number): Promise<void>;
  /**
   * Releases the lease and sets the next check, counting a query or a reverse attempt; only while `heldLeaseUntilMs`
   * is still the transaction's lease (as recordOutcome), so a lapsed step cannot free another step's lease.
   */
  reschedule(
    transactionId: string,
    heldLeaseUntilMs: number | null,
    nowMs: number,
    nextCheckAtMs: number,
    counters: { queries?: number; reverseAttempts?: number },
  ): Promise<void>;
  /** Marks a reverse as wanted if the transaction is still reversible; true when it now is (or already was) requested. */
  requestReverse(transactionId: string, nowMs: number): Promise<boolean>;
  /** Marks an unfinished payment for reversal (the payer cancelled); false once it has an outcome. */
  requestCancel(transactionId: string, nowMs: number): Promise<boolean>;
  /** Takes `amountMinor` off the refundable balance if that much is left and no reverse is pending. */
  reserveRefund(transactionId: string, amountMinor: number, nowMs: number): Promise<boolean>;
  releaseRefund(transactionId: string, amountMinor: number, nowMs: number): Promise<void>;
  /** After a refund succeeded upstream: counts it and moves the status (PARTIAL_REFUNDED / FULL_REFUNDED). */
  applyRefundSuccess(transactionId: string, amountMinor: number, nowMs: number): Promise<void>;
  setPayUrl(transactionId: string, payUrl: string): Promise<void>;
  /** The wallet told us something changed (its notify): look at the payment now instead of at the next poll. */
  makeDue(transactionId: string, nowMs: number): Promise<void>;
  /** Transactions the closed loop should look at now. */
  dueIds(nowMs: number, limit: number): Promise<string[]>;
  refunds: {
    insert(refund: RefundRecord): Promise<void>;
    get(refundId: string): Promise<RefundRecord | null>;
    claim(refundId: string, nowMs: number, leaseUntilMs: number): Promise<boolean>;
    finish(refundId: string, status: 'SUCCESS' | 'FAILED', nowMs: number): Promise<boolean>;
    retryLater(refundId: string, nextAttemptAtMs: number, nowMs: number): Promise<void>;
    dueIds(nowMs: number, limit: number): Promise<string[]>;
  };
  ledger: {
    /** Writes one balanced entry; false if the same (transaction, kind, refund) was already booked. */
    book(entry: LedgerEntryInput): Promise<boolean>;
    settlementRows(query: SettlementQuery): Promise<SettlementRow[]>;
    /** One page of per-transaction ledger views, in id order, for the ledger check. */
    transactionViews(afterTransactionId: string | null, limit: number): Promise<TransactionLedgerView[]>;
    /** Entries whose postings do not balance. */
    unbalancedEntries(): Promise<{ entryId: string; debitsMinor: number; creditsMinor: number }[]>;
    /** Accounts whose balance fell below their floor (merchant payables below zero). */
    accountsBelowFloor(): Promise<{ account: string; balanceMinor: number }[]>;
  };
}

/** The wallet simulator's books: what the "upstream" remembers about each order and every code it has seen. */
export interface SimulatedOrder {
  upstreamOrderId: string;
  codeHash: string;
  scenario: string;
  amountMinor: number;
  status: 'AWAITING_PAYER' | 'USERPAYING' | 'SUCCESS' | 'FAILED' | 'CLOSED' | 'REFUNDED';
  queryCount: number;
  reverseAttempts: number;
  refundedMinor: number;
  referenceId: string;
  payerId: string;
  createdAtMs: number;
  paidAtMs: number | null;
}

export interface WalletSimulatorStorage {
  /** Records the first sight of a code; false if any order already used it (codes are single use). */
  claimCode(codeHash: string, upstreamOrderId: string, nowMs: number): Promise<boolean>;
  /** Claims the order's code and records the order together; false (nothing written) if the code was used. */
  claimCodeAndInsertOrder(order: SimulatedOrder): Promise<boolean>;
  insertOrder(order: SimulatedOrder): Promise<void>;
  /** Records the order unless one with its upstream id exists; false (nothing written) when one does. */
  insertOrderIfAbsent(order: SimulatedOrder): Promise<boolean>;
  getOrder(upstreamOrderId: string): Promise<SimulatedOrder | null>;
  updateOrder(upstreamOrderId: string, changes: Partial<Pick<SimulatedOrder, 'status' | 'scenario' | 'queryCount' | 'reverseAttempts' | 'refundedMinor' | 'paidAtMs'>>): Promise<void>;
  /**
   * Applies `changes` if the order is still in `expected` status; false when it moved meanwhile (another step's
   * reverse, a payer's decision): the wallet never moves an order from a status it no longer has.
   */
  moveOrder(upstreamOrderId: string, expected: SimulatedOrder['status'], changes: Partial<Pick<SimulatedOrder, 'status' | 'refundedMinor' | 'paidAtMs'>>): Promise<boolean>;
  /** Closes the order if it is still in `expected` status; false when it moved meanwhile (a payer's decision). */
  closeOrder(upstreamOrderId: string, expected: SimulatedOrder['status']): Promise<boolean>;
  /** The payer's decision on an order awaiting them; false when they (or a timeout) already decided. */
  decideOrder(upstreamOrderId: string, changes: Pick<SimulatedOrder, 'status' | 'scenario' | 'paidAtMs'>): Promise<boolean>;
  /**
   * Applies a refund id once, atomically: 'duplicate' when that id was already applied, 'exceeds' (nothing
   * written) when it would take the order's refunds past what was paid or the order is not paid.
   */
  applyRefund(refundId: string, upstreamOrderId: string, amountMinor: number, nowMs: number): Promise<'applied' | 'duplicate' | 'exceeds'>;
}
