// Routes: Transaction QR and online checkout (signed, scope manage_payment), plus the FPX bank list.
import { Type } from '@sinclair/typebox';
import {
  CreateCheckoutRequest,
  CreateQrCodeRequest,
  DirectCheckoutRequest,
  ListQuery,
  qrExpiryTypes,
  qrStatuses,
  qrTypes,
  type FpxBanks,
  type QrExpiryType,
  type QrStatus,
  type QrType,
} from '@tunai/client/contract';
import { createCheckout } from '../../app/create-checkout.js';
import { createQrCode } from '../../app/create-qr-code.js';
import { directCheckout } from '../../app/direct-checkout.js';
import { getCheckout } from '../../app/get-checkout.js';
import { getQrCode } from '../../app/get-qr-code.js';
import { listQrCodes } from '../../app/list-qr-codes.js';
import { listQrTransactions } from '../../app/list-qr-transactions.js';
import { payCheckout } from '../../app/pay-checkout.js';
import type { PaymentDeps } from '../../app/payment-deps.js';
import { fpxBanks } from '../../domain/fpx-banks.js';
import { CatalogError } from '../../lib/catalog-error.js';
import { qrPngBase64 } from '../../lib/qr-image.js';
import { jsonBody } from '../body.js';
import { presentCheckout, presentCreatedQrCode, presentQrCode } from '../checkout-presenters.js';
import { itemEnvelope, itemsEnvelope } from '../envelope.js';
import { encodeCursor, parseFilterObject, parsePageParams } from '../list-query.js';
import { openApiRoute, type OpenApiContext } from '../open-api.js';
import { presentTransaction } from '../presenters.js';
import { parseTransactionFilter } from '../transaction-filter.js';
import { validate } from '../validate.js';

const CheckoutQuery = Type.Object({ checkoutId: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: true });
const CheckoutQrQuery = Type.Object(
  { checkoutId: Type.String({ minLength: 1, maxLength: 32 }), method: Type.String({ minLength: 1, maxLength: 32 }) },
  { additionalProperties: true },
);

const invalid = (detail: string) => new CatalogError('VALIDATION_ERROR', `Validations error: ${detail}`);

/** RM's `order[]=-createdAt` (or `order=createdAt`): newest first unless ascending is asked for. */
function newestFirst(query: Record<string, unknown>): boolean {
  const raw = query['order[]'] ?? query.order;
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (values.length > 1) throw invalid('order takes one field');
  const value = values[0];
  if (value === undefined || value === '' || value === '-createdAt') return true;
  if (value === 'createdAt') return false;
  throw invalid('order must be -createdAt or createdAt');
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw invalid(`filter.${key} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function parseQrFilter(filterText: string | undefined): { type: QrType | null; expiryType: QrExpiryType | null; status: QrStatus | null; storeId: string | null } {
  const filter = { type: null as QrType | null, expiryType: null as QrExpiryType | null, status: null as QrStatus | null, storeId: null as string | null };
  for (const [key, value] of Object.entries(parseFilterObject(filterText) ?? {})) {
    if (key === 'type') filter.type = oneOf(key, value, qrTypes);
    // RM's tables name the fixed-date expiry both FIXED and FIX; creating a QR takes both, and so does the filter.
    else if (key === 'expiry.type') filter.expiryType = oneOf(key, value === 'FIXED' ? 'FIX' : value, qrExpiryTypes);
    else if (key === 'status') filter.status = oneOf(key, value, qrStatuses);
    else if (key === 'storeId') {
      if (typeof value !== 'string' || value.length === 0 || value.length > 24) throw invalid('filter.storeId must be a store id');
      filter.storeId = value;
    } else throw invalid(`filter.${key} is not supported (type, expiry.type, status, storeId)`);
  }
  return filter;
}

/** QR list cursors name the last row's (createdAt, code) in the page's order. */
function encodeQrCursor(createdAtMs: number, code: string): string {
  return Buffer.from(`qr:${createdAtMs}.${code}`).toString('base64url');
}

function decodeQrCursor(cursor: string | undefined): { createdAtMs: number; code: string } | null {
  if (cursor === undefined || cursor === '') return null;
  const decoded = cursor.length <= 96 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^qr:([0-9]{1,16})\.([0-9a-f]{32})$/.exec(decoded);
  if (!match?.[1] || !match[2]) throw invalid('cursor is invalid; pass meta.cursor from the previous page');
  return { createdAtMs: Number(match[1]), code: match[2] };
}

function codeParam(params: unknown): string {
  return (params as { code?: string }).code ?? '';
}

export function registerCustomerScansRoutes(ctx: OpenApiContext, deps: PaymentDeps): void {
  const signed = { scope: 'manage_payment', signature: 'required' } as const;
  openApiRoute(ctx, {
    ...signed,
    method: 'POST',
    url: '/v3/payment/transaction/qrcode',
    handler: async (request, auth) => {
      const created = await createQrCode(deps, auth.principal, validate(CreateQrCodeRequest, jsonBody(request)));
      return itemEnvelope(presentCreatedQrCode(created, created.store));
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/transaction/qrcodes',
    handler: async (request, auth) => {
      const query = validate(ListQuery, request.query, 'query');
      const limit = parsePageParams({ limit: query.limit }).limit;
      const result = await listQrCodes(deps, auth.principal, {
        ...parseQrFilter(query.filter),
        limit,
        newestFirst: newestFirst(request.query as Record<string, unknown>),
        after: decodeQrCursor(query.cursor),
      });
      const last = result.views[result.views.length - 1];
      return itemsEnvelope(result.views.map(presentQrCode), {
        count: result.views.length,
        ...(result.hasMore && last ? { cursor: encodeQrCursor(last.qr.createdAtMs, last.qr.code) } : {}),
      });
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/transaction/qrcode/:code',
    handler: async (request, auth) => itemEnvelope(presentQrCode(await getQrCode(deps, auth.principal, codeParam(request.params)))),
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/transaction/qrcode/:code/transactions',
    handler: async (request, auth) => {
      const query = validate(ListQuery, request.query, 'query');
      const page = parsePageParams(query);
      const result = await listQrTransactions(deps, auth.principal, codeParam(request.params), {
        limit: page.limit,
        beforeId: page.afterId,
        ...parseTransactionFilter(query.filter),
      });
      return itemsEnvelope(result.views.map(presentTransaction), {
        count: result.views.length,
        ...(result.nextBeforeId ? { cursor: encodeCursor(result.nextBeforeId) } : {}),
      });
    },
  });

  openApiRoute(ctx, {
    ...signed,
    method: 'POST',
    url: '/v3/payment/online',
    handler: async (request, auth) => {
      const created = await createCheckout(deps, auth.principal, validate(CreateCheckoutRequest, jsonBody(request)));
      return itemEnvelope({ checkoutId: created.checkout.id, url: created.url });
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/online',
    handler: async (request, auth) => {
      const query = validate(CheckoutQuery, request.query, 'query');
      return itemEnvelope(presentCheckout(await getCheckout(deps, query.checkoutId, auth.principal.merchantId)));
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/online/qrcode',
    handler: async (request, auth) => {
      const query = validate(CheckoutQrQuery, request.query, 'query');
      const started = await payCheckout(deps, { checkoutId: query.checkoutId, method: query.method, merchantId: auth.principal.merchantId });
      return itemEnvelope({ qrCodeImageBase64: await qrPngBase64(started.payUrl), url: started.payUrl });
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'POST',
    url: '/v3/payment/online/checkout',
    handler: async (request, auth) => {
      const result = await directCheckout(deps, auth.principal, validate(DirectCheckoutRequest, jsonBody(request)));
      if (result.type === 'URL') return itemEnvelope({ type: result.type, url: result.url });
      return itemEnvelope({ type: result.type, qrcode: { base64Image: await qrPngBase64(result.qrData), data: result.qrData } });
    },
  });
  openApiRoute(ctx, {
    ...signed,
    method: 'GET',
    url: '/v3/payment/fpx-bank',
    handler: async () => {
      const banks: FpxBanks = {};
      for (const bank of fpxBanks) banks[bank.code] = { code: bank.code, isOnline: bank.isOnline, name: bank.name };
      return itemEnvelope(banks);
    },
  });
}
