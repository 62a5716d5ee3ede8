// Transaction QR codes and online checkouts on Kysely (SQLite and PostgreSQL); claims are conditional updates.
import type { Kysely, Selectable } from 'kysely';
import type {
  CheckoutRecord,
  CheckoutStatus,
  CheckoutStorage,
  CheckoutType,
  QrCodeRecord,
  QrExpiryType,
  QrStatus,
  QrType,
} from '../app/checkout-ports.js';
import { changed } from './rows.js';
import type { Database, PaymentCheckoutsTable, PaymentQrCodesTable } from './schema.js';

type Db = Kysely<Database>;


function stringList(json: string): string[] {
  const parsed = JSON.parse(json) as unknown;
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
}

function qrFromRow(row: Selectable<PaymentQrCodesTable>): QrCodeRecord {
  return {
    code: row.code,
    merchantId: row.merchant_id,
    storeId: row.store_id,
    type: row.type as QrType,
    isPreFillAmount: row.is_pre_fill_amount === 1,
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    platform: row.platform,
    methods: stringList(row.methods_json),
    expiryType: row.expiry_type as QrExpiryType,
    expiryDays: Number(row.expiry_days),
    expiresAtMs: row.expires_at_ms === null ? null : Number(row.expires_at_ms),
    status: row.status as QrStatus,
    redirectUrl: row.redirect_url,
    orderTitle: row.order_title,
    orderDetail: row.order_detail,
    orderAdditionalData: row.order_additional_data,
    pendingTransactionId: row.pending_transaction_id,
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
}

function checkoutFromRow(row: Selectable<PaymentCheckoutsTable>): CheckoutRecord {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    storeId: row.store_id,
    type: row.type as CheckoutType,
    orderId: row.order_id,
    orderTitle: row.order_title,
    orderDetail: row.order_detail,
    orderAdditionalData: row.order_additional_data,
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    methods: stringList(row.methods_json),
    excludeMethods: stringList(row.exclude_methods_json),
    redirectUrl: row.redirect_url,
    notifyUrl: row.notify_url,
    layoutVersion: row.layout_version,
    status: row.status as CheckoutStatus,
    transactionId: row.transaction_id,
    requestFingerprint: row.request_fingerprint,
    startAtMs: Number(row.start_at_ms),
    endAtMs: Number(row.end_at_ms),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
}

export function createCheckoutStorage(db: Db): CheckoutStorage {
  /** Moves an IN_PROCESS checkout to a final status; `onlyUnpaid` adds "no payment linked" to the condition. */
  const finishCheckout = async (checkoutId: string, status: Exclude<CheckoutStatus, 'IN_PROCESS'>, nowMs: number, onlyUnpaid: boolean): Promise<boolean> => {
    let update = db.updateTable('payment_checkouts').set({ status, updated_at_ms: nowMs }).where('id', '=', checkoutId).where('status', '=', 'IN_PROCESS');
    if (onlyUnpaid) update = update.where('transaction_id', 'is', null);
    return changed(await update.executeTakeFirst());
  };
  const getCheckout = async (checkoutId: string): Promise<CheckoutRecord | null> => {
    const row = await db.selectFrom('payment_checkouts').selectAll().where('id', '=', checkoutId).executeTakeFirst();
    return row ? checkoutFromRow(row) : null;
  };
  return {
    qr: {
      async insert(qr) {
        await db
          .insertInto('payment_qr_codes')
          .values({
            code: qr.code,
            merchant_id: qr.merchantId,
            store_id: qr.storeId,
            type: qr.type,
            is_pre_fill_amount: qr.isPreFillAmount ? 1 : 0,
            amount_minor: qr.amountMinor,
            currency: qr.currency,
            platform: qr.platform,
            methods_json: JSON.stringify(qr.methods),
            expiry_type: qr.expiryType,
            expiry_days: qr.expiryDays,
            expires_at_ms: qr.expiresAtMs,
            status: qr.status,
            redirect_url: qr.redirectUrl,
            order_title: qr.orderTitle,
            order_detail: qr.orderDetail,
            order_additional_data: qr.orderAdditionalData,
            pending_transaction_id: qr.pendingTransactionId,
            created_at_ms: qr.createdAtMs,
            updated_at_ms: qr.updatedAtMs,
          })
          .execute();
      },
      async get(code) {
        const row = await db.selectFrom('payment_qr_codes').selectAll().where('code', '=', code).executeTakeFirst();
        return row ? qrFromRow(row) : null;
      },
      async list(query) {
        let q = db.selectFrom('payment_qr_codes').selectAll().where('merchant_id', '=', query.merchantId);
        if (query.type !== null) q = q.where('type', '=', query.type);
        if (query.expiryType !== null) q = q.where('expiry_type', '=', query.expiryType);
        if (query.status !== null) q = q.where('status', '=', query.status);
        if (query.storeId !== null) q = q.where('store_id', '=', query.storeId);
        const after = query.after;
        if (after !== null) {
          const op = query.newestFirst ? '<' : '>';
          q = q.where((eb) =>
            eb.or([eb('created_at_ms', op, after.createdAtMs), eb.and([eb('created_at_ms', '=', after.createdAtMs), eb('code', op, after.code)])]),
          );
        }
        const direction = query.newestFirst ? 'desc' : 'asc';
        const rows = await q.orderBy('created_at_ms', direction).orderBy('code', direction).limit(query.limit).execute();
        return rows.map(qrFromRow);
      },
      async hold(code, transactionId, nowMs) {
        const result = await db
          .updateTable('payment_qr_codes')
          .set({ pending_transaction_id: transactionId, updated_at_ms: nowMs })
          .where('code', '=', code)
          .where('status', '=', 'VALID')
          .where('pending_transaction_id', 'is', null)
          .executeTakeFirst();
        return changed(result);
      },
      async release(code, transactionId, nowMs) {
        await db
          .updateTable('payment_qr_codes')
          .set({ pending_transaction_id: null, updated_at_ms: nowMs })
          .where('code', '=', code)
          .where('pending_transaction_id', '=', transactionId)
          .execute();
      },
      async redeem(code, transactionId, nowMs) {
        await db
          .updateTable('payment_qr_codes')
          .set({ status: 'REDEEMED', updated_at_ms: nowMs })
          .where('code', '=', code)
          .where('type', '=', 'DYNAMIC')
          .where('pending_transaction_id', '=', transactionId)
          .execute();
      },
    },
    checkouts: {
      async insertIfNewOrder(c) {
        const result = await db
          .insertInto('payment_checkouts')
          .values({
            id: c.id,
            merchant_id: c.merchantId,
            store_id: c.storeId,
            type: c.type,
            order_id: c.orderId,
            order_title: c.orderTitle,
            order_detail: c.orderDetail,
            order_additional_data: c.orderAdditionalData,
            amount_minor: c.amountMinor,
            currency: c.currency,
            methods_json: JSON.stringify(c.methods),
            exclude_methods_json: JSON.stringify(c.excludeMethods),
            redirect_url: c.redirectUrl,
            notify_url: c.notifyUrl,
            layout_version: c.layoutVersion,
            status: c.status,
            transaction_id: c.transactionId,
            request_fingerprint: c.requestFingerprint,
            start_at_ms: c.startAtMs,
            end_at_ms: c.endAtMs,
            created_at_ms: c.createdAtMs,
            updated_at_ms: c.updatedAtMs,
          })
          .onConflict((oc) => oc.columns(['merchant_id', 'order_id']).doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 1) return { inserted: true };
        const row = await db
          .selectFrom('payment_checkouts')
          .selectAll()
          .where('merchant_id', '=', c.merchantId)
          .where('order_id', '=', c.orderId)
          .executeTakeFirst();
        if (!row) throw new Error(`checkout order ${c.orderId} conflicted but cannot be read back`);
        return { inserted: false, existing: checkoutFromRow(row) };
      },
      get: getCheckout,
      async hasOrder(merchantId, orderId) {
        const row = await db.selectFrom('payment_checkouts').select('id').where('merchant_id', '=', merchantId).where('order_id', '=', orderId).executeTakeFirst();
        return row !== undefined;
      },
      async getByOrder(merchantId, orderId) {
        const row = await db.selectFrom('payment_checkouts').selectAll().where('merchant_id', '=', merchantId).where('order_id', '=', orderId).executeTakeFirst();
        return row ? checkoutFromRow(row) : null;
      },
      async attachTransaction(checkoutId, transactionId, nowMs) {
        const result = await db
          .updateTable('payment_checkouts')
          .set({ transaction_id: transactionId, updated_at_ms: nowMs })
          .where('id', '=', checkoutId)
          .where('status', '=', 'IN_PROCESS')
          .where('transaction_id', 'is', null)
          .where('end_at_ms', '>', nowMs)
          .executeTakeFirst();
        return changed(result);
      },
      finish: (checkoutId, status, nowMs) => finishCheckout(checkoutId, status, nowMs, false),
      finishUnpaid: (checkoutId, status, nowMs) => finishCheckout(checkoutId, status, nowMs, true),
    },
  };
}
