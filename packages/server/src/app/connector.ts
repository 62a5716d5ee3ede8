// The upstream connector interface (DESIGN.md §5): what a wallet provider offers and the normalised results.
import type { ErrorCode, PaymentMethod, Region } from '@tunai/client/contract';
import type { PollProfile } from '../domain/payments.js';

export type ConnectorCapability = 'quickpay' | 'payerOrder' | 'query' | 'refund' | 'reverse' | 'topup' | 'notify';

export interface PayRequest {
  /** Our transaction id, used as the upstream order number (one per attempt). */
  upstreamOrderId: string;
  authCode: string;
  amountMinor: number;
  currency: string;
  method: PaymentMethod;
  region: Region;
  title: string;
}

/** A customer-scans order: the payer confirms in the wallet (QR scan or redirect), not with an auth code. */
export interface PayerOrderRequest {
  upstreamOrderId: string;
  amountMinor: number;
  currency: string;
  method: PaymentMethod;
  region: Region;
  title: string;
}

/** `payUrl` is where the payer confirms (a wallet page or deep link); a path is relative to our public base URL. */
export type UpstreamPayerOrder = { status: 'CREATED'; payUrl: string } | { status: 'FAILED'; code: ErrorCode; message?: string };

/** A normalised upstream answer. UNKNOWN (timeout, 5xx on a money-moving call) is never treated as FAILED. */
export type UpstreamPayment =
  | { status: 'SUCCESS'; referenceId: string; payerId: string; paidAtMs: number }
  | { status: 'IN_PROCESS' }
  | { status: 'FAILED'; code: ErrorCode; message?: string }
  | { status: 'NOT_FOUND' }
  | { status: 'UNKNOWN'; reason: string };

/** REFUNDED: the payer had paid, so the provider refunded instead of cancelling (money moved and came back). */
export type UpstreamReverse =
  | { status: 'REVERSED' }
  | { status: 'REFUNDED'; referenceId: string; payerId: string; paidAtMs: number }
  | { status: 'FAILED'; reason: string };

export type UpstreamRefund = { status: 'SUCCESS' } | { status: 'FAILED'; reason: string } | { status: 'UNKNOWN'; reason: string };

export interface PaymentConnector {
  readonly name: string;
  readonly capabilities: ReadonlySet<ConnectorCapability>;
  readonly pollProfile: PollProfile;
  pay(request: PayRequest): Promise<UpstreamPayment>;
  /** Opens an order the payer confirms in the wallet; its progress is then followed by query like any other. */
  createPayerOrder(request: PayerOrderRequest): Promise<UpstreamPayerOrder>;
  query(upstreamOrderId: string): Promise<UpstreamPayment>;
  /** Cancel an unpaid order, or refund it in full when the payer already paid. Safe to retry. */
  reverse(upstreamOrderId: string): Promise<UpstreamReverse>;
  /** Refund part of a paid order; `refundId` makes a retry safe (the provider refunds each id once). */
  refund(upstreamOrderId: string, refundId: string, amountMinor: number): Promise<UpstreamRefund>;
}

/** Which connector serves a wallet; the name is stored on each transaction so a restart finds it again. */
export interface ConnectorRegistry {
  forMethod(method: PaymentMethod): PaymentConnector;
  byName(name: string): PaymentConnector;
}
