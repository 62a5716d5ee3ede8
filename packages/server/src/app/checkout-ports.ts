// Storage ports for customer-scans payments: Transaction QR codes and online checkouts.
import type { CheckoutStatus, CheckoutType, QrExpiryType, QrStatus, QrType } from '@tunai/client/contract';

export type { CheckoutStatus, CheckoutType, QrExpiryType, QrStatus, QrType };

export interface QrCodeRecord {
  /** 32 hex characters, embedded in the QR's URL. */
  code: string;
  merchantId: string;
  storeId: string;
  type: QrType;
  isPreFillAmount: boolean;
  /** 0 when the payer keys in the amount. */
  amountMinor: number;
  currency: string;
  platform: string;
  /** The wallets allowed, as the merchant named them (bare or with a region suffix); empty: all. */
  methods: string[];
  expiryType: QrExpiryType;
  expiryDays: number;
  /** null: never expires. */
  expiresAtMs: number | null;
  status: QrStatus;
  redirectUrl: string;
  orderTitle: string;
  orderDetail: string;
  orderAdditionalData: string;
  /** A dynamic QR's payment under way (it holds the QR until it is final). */
  pendingTransactionId: string | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface QrFilter {
  type: QrType | null;
  expiryType: QrExpiryType | null;
  status: QrStatus | null;
  storeId: string | null;
}

export interface QrListQuery extends QrFilter {
  merchantId: string;
  limit: number;
  /** true: newest first (RM's `order[]=-createdAt`, the default). */
  newestFirst: boolean;
  /** Continue after this (createdAtMs, code) in the chosen order. */
  after: { createdAtMs: number; code: string } | null;
}


export interface CheckoutRecord {
  /** 19 digits, like RM's checkout ids. */
  id: string;
  merchantId: string;
  storeId: string;
  type: CheckoutType;
  orderId: string;
  orderTitle: string;
  orderDetail: string;
  orderAdditionalData: string;
  amountMinor: number;
  currency: string;
  /** Checkout methods with region suffix (TNG_MY …) as requested; empty: all. */
  methods: string[];
  excludeMethods: string[];
  redirectUrl: string;
  notifyUrl: string;
  layoutVersion: string;
  status: CheckoutStatus;
  /** The payment attempt, once the payer picked a method. */
  transactionId: string | null;
  requestFingerprint: string;
  startAtMs: number;
  endAtMs: number;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface CheckoutStorage {
  qr: {
    insert(qr: QrCodeRecord): Promise<void>;
    /** Any merchant's QR (the public payment page); use cases check ownership where it matters. */
    get(code: string): Promise<QrCodeRecord | null>;
    list(query: QrListQuery): Promise<QrCodeRecord[]>;
    /** A dynamic QR: takes it for this payment if it is VALID and free; false otherwise. */
    hold(code: string, transactionId: string, nowMs: number): Promise<boolean>;
    /** The payment did not succeed: frees a dynamic QR held by it. */
    release(code: string, transactionId: string, nowMs: number): Promise<void>;
    /** The payment succeeded: a dynamic QR is used up. */
    redeem(code: string, transactionId: string, nowMs: number): Promise<void>;
  };
  checkouts: {
    /** Inserts unless the merchant already used the order id for a checkout; returns that one then. */
    insertIfNewOrder(checkout: CheckoutRecord): Promise<{ inserted: true } | { inserted: false; existing: CheckoutRecord }>;
    get(checkoutId: string): Promise<CheckoutRecord | null>;
    /** Whether the merchant already has a checkout for this order id (QuickPay must not reuse it). */
    hasOrder(merchantId: string, orderId: string): Promise<boolean>;
    /** The merchant's checkout for this order id, if any. */
    getByOrder(merchantId: string, orderId: string): Promise<CheckoutRecord | null>;
    /** The payer picked a method: links the payment if the checkout is still open and has none. */
    attachTransaction(checkoutId: string, transactionId: string, nowMs: number): Promise<boolean>;
    /** Moves an IN_PROCESS checkout to a final status; false when it was already final. */
    finish(checkoutId: string, status: Exclude<CheckoutStatus, 'IN_PROCESS'>, nowMs: number): Promise<boolean>;
    /** Like finish, but only while no payment is linked: false when one was attached meanwhile (its wallet order is open). */
    finishUnpaid(checkoutId: string, status: Exclude<CheckoutStatus, 'IN_PROCESS'>, nowMs: number): Promise<boolean>;
  };
}
