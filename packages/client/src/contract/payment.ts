// Payment shapes (spec "Payment-Quickpay QR"): QuickPay, refund, reverse, transaction queries, settlement report.
import { Type, type Static } from '@sinclair/typebox';
import { limits, orderIdPattern } from './limits.js';
import { Store } from './store.js';

/** Wallets QuickPay reaches; the transaction's `method` is bare (no region suffix). */
export const quickPayMethods = ['WECHATPAY', 'ALIPAY', 'BOOST', 'TNG', 'GRABPAY', 'MAYBANK', 'SHOPEEPAY', 'PRESTO'] as const;
export type QuickPayMethod = (typeof quickPayMethods)[number];

/** Every wallet a transaction may carry: QuickPay's, plus those only reachable through checkout (bank redirect, Razer). */
export const paymentMethods = [...quickPayMethods, 'FPX', 'RAZER'] as const;
export type PaymentMethod = (typeof paymentMethods)[number];

export const regions = ['MALAYSIA', 'CHINA'] as const;
export type Region = (typeof regions)[number];

export const transactionStatuses = ['IN_PROCESS', 'SUCCESS', 'FAILED', 'REVERSED', 'FULL_REFUNDED', 'PARTIAL_REFUNDED'] as const;
export type TransactionStatus = (typeof transactionStatuses)[number];

const text = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '\\S' });

export const QuickPayOrder = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: limits.orderIdCharsMax, pattern: orderIdPattern }),
    title: text(limits.orderTitleCharsMax),
    // The spec's table says "details"; its example and every SDK send "detail". Either is accepted.
    detail: Type.Optional(Type.String({ maxLength: limits.orderDetailCharsMax })),
    details: Type.Optional(Type.String({ maxLength: limits.orderDetailCharsMax })),
    additionalData: Type.Optional(Type.String({ maxLength: limits.orderAdditionalDataCharsMax })),
    // The spec's order table omits it and its example sends "MYR"; when present it must be MYR.
    currencyType: Type.Optional(Type.String({ maxLength: 8 })),
    amount: Type.Integer({ minimum: 0, maximum: limits.paymentAmountMinorMax }),
  },
  { additionalProperties: true },
);

/**
 * A voucher to redeem with the payment (`{code}`; the go SDK's zero value is `{"code":""}` or null). tunai issues no
 * vouchers yet, so a code is refused (VOUCHER_NOT_FOUND) rather than charged at full price without a word.
 */
export const VoucherInput = Type.Union([
  Type.Object({ code: Type.Optional(Type.String({ maxLength: limits.voucherCodeCharsMax })) }, { additionalProperties: true }),
  Type.Null(),
]);

/** The code of a voucher input, or null when none was given (absent, null, or Go's empty code). */
export function voucherCodeOf(voucher: Static<typeof VoucherInput> | undefined): string | null {
  return voucher?.code ? voucher.code : null;
}

export const QuickPayRequest = Type.Object(
  {
    authCode: Type.String({ minLength: 1, maxLength: limits.authCodeCharsMax }),
    order: QuickPayOrder,
    ipAddress: Type.String({ minLength: 1, maxLength: limits.ipAddressCharsMax, pattern: '^[0-9A-Fa-f:.]+$' }),
    // The PHP SDK's QuickPay always sends it, null when the merchant has no terminal; RM (Go) reads null as "".
    terminalId: Type.Optional(Type.Union([Type.String({ maxLength: limits.terminalIdCharsMax }), Type.Null()])),
    storeId: Type.String({ minLength: 1, maxLength: 24 }),
    voucher: Type.Optional(VoucherInput),
  },
  { additionalProperties: true },
);
export type QuickPayRequest = Static<typeof QuickPayRequest>;

export const RefundRequest = Type.Object(
  {
    transactionId: Type.String({ minLength: 1, maxLength: 32 }),
    refund: Type.Object(
      {
        type: Type.Union([Type.Literal('FULL'), Type.Literal('PARTIAL')]),
        currencyType: Type.String({ minLength: 1, maxLength: 8 }),
        amount: Type.Integer({ minimum: 1, maximum: limits.paymentAmountMinorMax }),
      },
      { additionalProperties: true },
    ),
    reason: text(limits.refundReasonCharsMax),
  },
  { additionalProperties: true },
);
export type RefundRequest = Static<typeof RefundRequest>;

export const ReverseRequest = Type.Object(
  { orderId: Type.String({ minLength: 1, maxLength: limits.orderIdCharsMax }) },
  { additionalProperties: true },
);
export type ReverseRequest = Static<typeof ReverseRequest>;

/** Settlement report methods as the spec lists them (two carry a region suffix), plus the bare name of every method tunai books. */
export const settlementMethods = ['ALL', ...paymentMethods, 'ALIPAY_CN', 'GRABPAY_MY'] as const;

export const SettlementCsvRequest = Type.Object(
  {
    sequence: Type.Integer({ minimum: 1, maximum: limits.settlementSequenceMax }),
    date: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }),
    method: Type.Union(settlementMethods.map((m) => Type.Literal(m))),
    region: Type.Union(regions.map((r) => Type.Literal(r))),
  },
  { additionalProperties: true },
);
export type SettlementCsvRequest = Static<typeof SettlementCsvRequest>;

export const TransactionOrder = Type.Object({
  id: Type.String(),
  title: Type.String(),
  detail: Type.String(),
  additionalData: Type.String(),
  amount: Type.Integer(),
});

/** The inner error of a failed transaction; `{}` when there is none (never a top-level `error`). */
export const TransactionError = Type.Object({
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

export const Transaction = Type.Object({
  store: Store,
  referenceId: Type.String(),
  transactionId: Type.String(),
  order: TransactionOrder,
  terminalId: Type.String(),
  payee: Type.Object({ userId: Type.Optional(Type.String()) }),
  currencyType: Type.String(),
  balanceAmount: Type.Integer(),
  platform: Type.String(),
  method: Type.String(),
  transactionAt: Type.String(),
  type: Type.String(),
  status: Type.Union(transactionStatuses.map((s) => Type.Literal(s))),
  region: Type.String(),
  error: TransactionError,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type Transaction = Static<typeof Transaction>;

/**
 * The transaction inside a payment notify (rm-wire-compat §4): RM's Transaction plus `finalAmount`, what the payer
 * paid (the order amount: tunai applies no vouchers), and `voucher`, null when none was applied.
 */
export const NotifyTransaction = Type.Object({
  ...Transaction.properties,
  finalAmount: Type.Integer(),
  voucher: Type.Null(),
});
export type NotifyTransaction = Static<typeof NotifyTransaction>;

/** The body POSTed to a checkout's notifyUrl when its payment succeeds. */
export const PaymentNotify = Type.Object({ eventType: Type.Literal('PAYMENT_WEB_ONLINE'), data: NotifyTransaction });
export type PaymentNotify = Static<typeof PaymentNotify>;
