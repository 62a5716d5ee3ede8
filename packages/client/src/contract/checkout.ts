// Customer-scans shapes: Transaction QR (spec "Payment-Transaction QR") and online checkout ("Payment-Web/App Checkout").
import { Type, type Static } from '@sinclair/typebox';
import { limits, orderIdPattern } from './limits.js';
import { VoucherInput } from './payment.js';
import { Store } from './store.js';

/** Checkout methods carry a region suffix (rm-wire-compat §5); the transaction's `method` is the bare wallet. */
export const webPaymentMethods = ['WECHATPAY_MY', 'WECHATPAY_CN', 'PRESTO_MY', 'BOOST_MY', 'ALIPAY_CN', 'GRABPAY_MY', 'TNG_MY', 'RAZER_MY', 'MAYBANK_MY', 'SHOPEEPAY_MY', 'FPX_MY'] as const;
/** The spec's MOBILE_PAYMENT list (no Presto, no Razer; FPX is a web bank redirect). */
export const mobilePaymentMethods = ['WECHATPAY_MY', 'WECHATPAY_CN', 'BOOST_MY', 'ALIPAY_CN', 'GRABPAY_MY', 'TNG_MY'] as const;
export type CheckoutMethod = (typeof webPaymentMethods)[number];

export const checkoutTypes = ['WEB_PAYMENT', 'MOBILE_PAYMENT'] as const;
export const checkoutStatuses = ['IN_PROCESS', 'SUCCESS', 'FAILED', 'CANCELLED', 'EXPIRED'] as const;
export const qrTypes = ['STATIC', 'DYNAMIC'] as const;
export const qrExpiryTypes = ['PERMANENT', 'DYNAMIC', 'FIX'] as const;
export const qrStatuses = ['VALID', 'REDEEMED'] as const;
export const directCheckoutTypes = ['URL', 'QRCODE', 'DUITNOW_QRCODE', 'MINI_PROGRAM'] as const;
export type CheckoutType = (typeof checkoutTypes)[number];
export type CheckoutStatus = (typeof checkoutStatuses)[number];
export type QrType = (typeof qrTypes)[number];
export type QrExpiryType = (typeof qrExpiryTypes)[number];
export type QrStatus = (typeof qrStatuses)[number];

const text = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '\\S' });
const url = Type.String({ maxLength: limits.urlCharsMax });
const methodName = Type.String({ minLength: 1, maxLength: 32 });
const methodList = Type.Array(methodName, { maxItems: limits.methodListEntriesMax });
const amount = Type.Integer({ minimum: 0, maximum: limits.paymentAmountMinorMax });

export const QrExpiryInput = Type.Object(
  {
    // The go SDK sends "" (with Go's zero expiredAt) when the caller set no expiry: read as PERMANENT.
    type: Type.String({ maxLength: 16 }),
    day: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    // RFC 3339; the go SDK sends Go's zero time when unset.
    expiredAt: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: true },
);

export const CreateQrCodeRequest = Type.Object(
  {
    // "Only required when isPreFillAmount = true" (min RM 0.10).
    amount: Type.Optional(amount),
    currencyType: Type.String({ minLength: 1, maxLength: 8 }),
    // The go SDK sends null when no wallet is chosen.
    method: Type.Optional(Type.Union([methodList, Type.Null()])),
    expiry: Type.Optional(QrExpiryInput),
    order: Type.Object(
      {
        title: text(limits.orderTitleCharsMax),
        detail: Type.Optional(Type.String({ maxLength: limits.orderDetailCharsMax })),
        details: Type.Optional(Type.String({ maxLength: limits.orderDetailCharsMax })),
        additionalData: Type.Optional(Type.String({ maxLength: limits.orderAdditionalDataCharsMax })),
      },
      { additionalProperties: true },
    ),
    redirectUrl: Type.Optional(url),
    type: Type.Union(qrTypes.map((t) => Type.Literal(t))),
    storeId: Type.String({ minLength: 1, maxLength: 24 }),
    isPreFillAmount: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
export type CreateQrCodeRequest = Static<typeof CreateQrCodeRequest>;

export const QrExpiry = Type.Object({ type: Type.String(), day: Type.Integer(), expiredAt: Type.String() });
const QrOrder = Type.Object({ title: Type.String(), detail: Type.String(), additionalData: Type.String() });

const qrFields = {
  type: Type.String(),
  isPreFillAmount: Type.Boolean(),
  currencyType: Type.String(),
  amount: Type.Integer(),
  platform: Type.String(),
  method: Type.Array(Type.String()),
  expiry: QrExpiry,
  code: Type.String(),
  status: Type.String(),
  qrCodeUrl: Type.String(),
  redirectUrl: Type.String(),
  order: QrOrder,
  createdAt: Type.String(),
  updatedAt: Type.String(),
};

/** The create answer carries the store object; the queries carry `storeId` (as the spec's examples do). */
export const CreatedQrCode = Type.Object({ store: Store, ...qrFields });
export type CreatedQrCode = Static<typeof CreatedQrCode>;
export const QrCode = Type.Object({ storeId: Type.String(), ...qrFields });
export type QrCode = Static<typeof QrCode>;

export const CheckoutOrderInput = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: limits.orderIdCharsMax, pattern: orderIdPattern }),
    title: text(limits.orderTitleCharsMax),
    detail: Type.Optional(Type.String({ maxLength: limits.orderDetailCharsMax })),
    additionalData: Type.Optional(Type.String({ maxLength: limits.orderAdditionalDataCharsMax })),
    amount,
    currencyType: Type.String({ minLength: 1, maxLength: 8 }),
  },
  { additionalProperties: true },
);

export const CreateCheckoutRequest = Type.Object(
  {
    order: CheckoutOrderInput,
    // The go SDK sends null (a nil slice) when no method is chosen: like [], every method of the type.
    method: Type.Union([methodList, Type.Null()]),
    excludeMethod: Type.Optional(Type.Union([methodList, Type.Null()])),
    type: Type.Union(checkoutTypes.map((t) => Type.Literal(t))),
    storeId: Type.String({ minLength: 1, maxLength: 24 }),
    redirectUrl: Type.String({ minLength: 1, maxLength: limits.urlCharsMax }),
    notifyUrl: Type.String({ minLength: 1, maxLength: limits.urlCharsMax }),
    layoutVersion: Type.Optional(Type.String({ maxLength: limits.layoutVersionCharsMax })),
    // The go SDK sends it (default 600); 0 means the default.
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: limits.checkoutTtlSecondsMax })),
    voucher: Type.Optional(VoucherInput),
  },
  { additionalProperties: true },
);
export type CreateCheckoutRequest = Static<typeof CreateCheckoutRequest>;

export const CreatedCheckout = Type.Object({ checkoutId: Type.String(), url: Type.String() });
export type CreatedCheckout = Static<typeof CreatedCheckout>;

/** GET /v3/payment/online?checkoutId= (the go SDK's GetOnlineTransactionByCheckoutID). */
export const Checkout = Type.Object({
  id: Type.String(),
  order: Type.Object({
    id: Type.String(),
    title: Type.String(),
    detail: Type.String(),
    additionalData: Type.String(),
    amount: Type.Integer(),
    currencyType: Type.String(),
  }),
  type: Type.String(),
  transactionId: Type.String(),
  platform: Type.String(),
  method: Type.Array(Type.String()),
  redirectUrl: Type.String(),
  notifyUrl: Type.String(),
  startAt: Type.String(),
  endAt: Type.String(),
  status: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type Checkout = Static<typeof Checkout>;

export const CheckoutQrCode = Type.Object({ qrCodeImageBase64: Type.String(), url: Type.String() });
export type CheckoutQrCode = Static<typeof CheckoutQrCode>;

export const DirectCheckoutRequest = Type.Object(
  {
    checkoutId: Type.String({ minLength: 1, maxLength: 32 }),
    type: Type.String({ minLength: 1, maxLength: 32 }),
    method: methodName,
    // The go SDK sends null when unset (as it does for `gobiz` and `card`, which tunai does not offer and leaves unread).
    fpx: Type.Optional(Type.Union([Type.Object({ bankCode: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: true }), Type.Null()])),
  },
  { additionalProperties: true },
);
export type DirectCheckoutRequest = Static<typeof DirectCheckoutRequest>;

export const DirectCheckout = Type.Object({
  type: Type.String(),
  url: Type.Optional(Type.String()),
  qrcode: Type.Optional(Type.Object({ base64Image: Type.String(), data: Type.String() })),
});
export type DirectCheckout = Static<typeof DirectCheckout>;

export const FpxBank = Type.Object({ code: Type.String(), isOnline: Type.Boolean(), name: Type.String() });
export type FpxBank = Static<typeof FpxBank>;
/** GET /v3/payment/fpx-bank: `item` is a map from bank code to bank. */
export const FpxBanks = Type.Record(Type.String(), FpxBank);
export type FpxBanks = Static<typeof FpxBanks>;
