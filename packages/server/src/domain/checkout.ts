// Customer-scans rules without I/O: which wallets a checkout or QR offers, QR expiry, how a payment ends a checkout.
import {
  mobilePaymentMethods,
  webPaymentMethods,
  type CheckoutMethod,
  type CheckoutStatus,
  type CheckoutType,
  type ErrorCode,
  type QrExpiryType,
  type PaymentMethod,
  type Region,
  type TransactionStatus,
} from '@tunai/client/contract';
import { parseRfc3339Ms, zeroTime } from '../lib/clock.js';

export interface CheckoutWallet {
  method: PaymentMethod;
  region: Region;
  label: string;
}

/** The bare wallet and region behind each checkout method (the transaction reports the bare name). */
export const checkoutWallets: Record<CheckoutMethod, CheckoutWallet> = {
  WECHATPAY_MY: { method: 'WECHATPAY', region: 'MALAYSIA', label: 'WeChat Pay Malaysia' },
  WECHATPAY_CN: { method: 'WECHATPAY', region: 'CHINA', label: 'WeChat Pay China' },
  ALIPAY_CN: { method: 'ALIPAY', region: 'CHINA', label: 'Alipay' },
  BOOST_MY: { method: 'BOOST', region: 'MALAYSIA', label: 'Boost' },
  TNG_MY: { method: 'TNG', region: 'MALAYSIA', label: "Touch 'n Go eWallet" },
  GRABPAY_MY: { method: 'GRABPAY', region: 'MALAYSIA', label: 'GrabPay' },
  PRESTO_MY: { method: 'PRESTO', region: 'MALAYSIA', label: 'Presto' },
  MAYBANK_MY: { method: 'MAYBANK', region: 'MALAYSIA', label: 'Maybank QRPay' },
  SHOPEEPAY_MY: { method: 'SHOPEEPAY', region: 'MALAYSIA', label: 'ShopeePay' },
  RAZER_MY: { method: 'RAZER', region: 'MALAYSIA', label: 'Razer Pay' },
  FPX_MY: { method: 'FPX', region: 'MALAYSIA', label: 'FPX online banking' },
};

export type Choice<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

function isCheckoutMethod(name: string): name is CheckoutMethod {
  return Object.hasOwn(checkoutWallets, name);
}

/**
 * The methods a checkout offers: those asked for (empty: every method of its type) less the excluded ones.
 * Names outside the type's list are refused rather than silently dropped, so a typo is seen at once.
 */
export function checkoutMethodsFor(type: CheckoutType, requested: readonly string[], excluded: readonly string[]): Choice<CheckoutMethod[]> {
  const supported: readonly string[] = type === 'MOBILE_PAYMENT' ? mobilePaymentMethods : webPaymentMethods;
  for (const name of [...requested, ...excluded]) {
    if (!supported.includes(name)) {
      return { ok: false, code: 'PAYMENT_PARAM_INVALID', message: `Invalid payment params: method ${JSON.stringify(name)} is not offered for ${type} (supported: ${supported.join(', ')})` };
    }
  }
  const base = requested.length === 0 ? supported : requested;
  const offered = [...new Set(base)].filter((m) => !excluded.includes(m)).filter(isCheckoutMethod);
  if (offered.length === 0) return { ok: false, code: 'PAYMENT_PARAM_INVALID', message: 'Invalid payment params: excludeMethod leaves no method to pay with' };
  return { ok: true, value: offered };
}

/** Wallets a Transaction QR may name: bare (any region) or with a suffix; FPX is a bank redirect, not a QR wallet. */
const qrWallets: readonly CheckoutMethod[] = ['WECHATPAY_MY', 'WECHATPAY_CN', 'ALIPAY_CN', 'BOOST_MY', 'TNG_MY', 'GRABPAY_MY', 'PRESTO_MY', 'MAYBANK_MY', 'SHOPEEPAY_MY'];

function qrMatches(name: string): CheckoutMethod[] {
  if (isCheckoutMethod(name)) return qrWallets.includes(name) ? [name] : [];
  return qrWallets.filter((m) => checkoutWallets[m].method === name);
}

/** Checks a QR's `method` list; the names are kept as the merchant wrote them (RM echoes them back). */
export function checkQrMethods(requested: readonly string[]): Choice<string[]> {
  for (const name of requested) {
    if (qrMatches(name).length === 0) {
      return { ok: false, code: 'PAYMENT_PARAM_INVALID', message: `Invalid payment params: method ${JSON.stringify(name)} cannot pay a Transaction QR` };
    }
  }
  return { ok: true, value: [...requested] };
}

/** What the unified QR page offers for a QR's `method` list (empty: every QR wallet). */
export function qrOfferedMethods(methods: readonly string[]): CheckoutMethod[] {
  if (methods.length === 0) return [...qrWallets];
  return qrWallets.filter((m) => methods.some((name) => qrMatches(name).includes(m)));
}

export interface QrExpiryInput {
  type: string;
  day?: number | undefined;
  expiredAt?: string | undefined;
}

export interface QrExpiry {
  expiryType: QrExpiryType;
  expiryDays: number;
  expiresAtMs: number | null;
}

const dayMs = 86_400_000;
const zeroTimeMs = Date.parse(zeroTime);

/**
 * The go SDK's expiry is a struct, never omitted: a caller who set none sends `{"type":"","expiredAt":"0001-01-01T00:00:00Z"}`.
 * Only that all-zero form means "no expiry"; an empty type next to a real date or day count is still refused.
 */
function isGoZeroExpiry(input: QrExpiryInput): boolean {
  const at = input.expiredAt ?? '';
  return input.type === '' && (input.day ?? 0) === 0 && (at === '' || parseRfc3339Ms(at) === zeroTimeMs);
}

/** PERMANENT never expires (also when absent or Go's zero value); DYNAMIC lasts `day` days from now; FIX ends at `expiredAt` (RFC 3339, in the future). */
export function qrExpiry(input: QrExpiryInput | undefined, nowMs: number, limitsFor: { daysMax: number; spanMsMax: number }): Choice<QrExpiry> {
  const type = input === undefined || isGoZeroExpiry(input) ? 'PERMANENT' : input.type;
  if (type === 'PERMANENT') return { ok: true, value: { expiryType: 'PERMANENT', expiryDays: 0, expiresAtMs: null } };
  if (type === 'DYNAMIC') {
    const days = input?.day ?? 0;
    if (days < 1) return { ok: false, code: 'EXPIRY_MIN', message: 'Min expiry day: a DYNAMIC expiry needs day ≥ 1' };
    if (days > limitsFor.daysMax) return { ok: false, code: 'EXPIRY_INVALID', message: `Invalid expiry type: day is at most ${limitsFor.daysMax}` };
    return { ok: true, value: { expiryType: 'DYNAMIC', expiryDays: days, expiresAtMs: nowMs + days * dayMs } };
  }
  if (type === 'FIX' || type === 'FIXED') {
    const text = input?.expiredAt ?? '';
    const atMs = parseRfc3339Ms(text);
    if (!Number.isFinite(atMs)) return { ok: false, code: 'EXPIRY_INVALID', message: 'Invalid expiry type: a FIX expiry needs expiredAt as an RFC 3339 date-time' };
    if (atMs <= nowMs) return { ok: false, code: 'EXPIRY_MIN', message: 'Min expiry day: expiredAt is already past' };
    if (atMs - nowMs > limitsFor.spanMsMax) return { ok: false, code: 'EXPIRY_INVALID', message: 'Invalid expiry type: expiredAt is too far ahead' };
    return { ok: true, value: { expiryType: 'FIX', expiryDays: 0, expiresAtMs: atMs } };
  }
  return { ok: false, code: 'EXPIRY_INVALID', message: `Invalid expiry type: ${JSON.stringify(type)} is not PERMANENT, DYNAMIC or FIX` };
}

/** How a payment's end decides its checkout: a cancel on the wallet is CANCELLED, a timeout EXPIRED. */
export function checkoutStatusAfter(status: TransactionStatus, errorCode: string | null): Exclude<CheckoutStatus, 'IN_PROCESS'> | null {
  if (status === 'SUCCESS') return 'SUCCESS';
  if (status === 'FAILED') return errorCode === 'ORDER_CANCELLED' ? 'CANCELLED' : errorCode === 'PAYMENT_TIMEOUT' ? 'EXPIRED' : 'FAILED';
  if (status === 'REVERSED') return errorCode === 'PAYMENT_TIMEOUT' ? 'EXPIRED' : 'CANCELLED';
  return null;
}

/** A checkout nobody paid is EXPIRED once its time is up, whether or not anything wrote that down yet. */
export function effectiveCheckoutStatus(status: CheckoutStatus, hasPayment: boolean, endAtMs: number, nowMs: number): CheckoutStatus {
  if (status === 'IN_PROCESS' && !hasPayment && nowMs >= endAtMs) return 'EXPIRED';
  return status;
}

/** The merchant's redirectUrl with RM's result parameters appended (existing query kept). */
export function redirectWithResult(redirectUrl: string, result: { status: string; orderId: string; reason?: string }): string {
  const target = new URL(redirectUrl);
  target.searchParams.set('status', result.status);
  target.searchParams.set('orderId', result.orderId);
  if (result.reason) target.searchParams.set('reason', result.reason);
  return target.toString();
}

/** A browser-facing URL (redirectUrl): absolute http(s) only, so no script or data URL is ever followed. */
export function httpUrlProblem(text: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an absolute http(s) URL';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry a user name or password';
  return null;
}
