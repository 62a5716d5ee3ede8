// Kysely implementation of the app's Storage port: row mapping, conditional updates, transactions.
import { sql, type Kysely, type Transaction } from 'kysely';
import { isScope, type Scope } from '@tunai/client/contract';
import type {
  AuthorizationCodeRecord,
  ClientAppRecord,
  ConsumeResult,
  StoredClientApp,
  MerchantRecord,
  RefreshTokenRecord,
  ServerKeyRecord,
  Storage,
  StoreChanges,
  StoreRecord,
  SubscriptionRecord,
  UserRecord,
} from '../app/ports.js';
import type {
  AuthorizationCodesTable,
  ClientAppsTable,
  Database,
  Flag,
  MerchantsTable,
  RefreshTokensTable,
  StoresTable,
  UsersTable,
} from './schema.js';
import type { Selectable } from 'kysely';
import type { NonceClaims } from './nonce-claims.js';
import type { RecordCache } from './record-cache.js';
import { createCheckoutStorage } from './checkout-storage.js';
import { createOutboxStorage } from './outbox-storage.js';
import { createIdempotencyStorage } from './idempotency-storage.js';
import { createPaymentsStorage, createWalletSimulatorStorage } from './payments-storage.js';

const flag = (value: boolean): number => (value ? 1 : 0);
const scopesToText = (scopes: readonly Scope[]): string => scopes.join(',');
const scopesFromText = (text: string): Scope[] => text.split(',').filter(isScope);

/** Rows changed by one conditional UPDATE: the database's verdict in every race this file settles. */
function affected(result: { numUpdatedRows: bigint }): number {
  return Number(result.numUpdatedRows);
}

function merchantFromRow(row: Selectable<MerchantsTable>): MerchantRecord {
  return {
    id: row.id,
    companyName: row.company_name,
    companyType: row.company_type,
    companyLogoUrl: row.company_logo_url,
    registrationNumber: row.registration_number,
    businessCategory: row.business_category,
    establishedAtMs: row.established_at_ms,
    countryCode: row.country_code,
    phoneNumber: row.phone_number,
    addressLine1: row.address_line1,
    addressLine2: row.address_line2,
    postcode: row.postcode,
    city: row.city,
    state: row.state,
    country: row.country,
    invoiceAddress: JSON.parse(row.invoice_address_json) as MerchantRecord['invoiceAddress'],
    isActive: row.is_active === 1,
    status: row.status,
    isMasterMerchant: row.is_master_merchant === 1,
    masterMerchantId: row.master_merchant_id,
    isPartner: row.is_partner === 1,
    partnerId: row.partner_id,
    gstNo: row.gst_no,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

function storeFromRow(row: Selectable<StoresTable>): StoreRecord {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    name: row.name,
    imageUrl: row.image_url,
    addressLine1: row.address_line1,
    addressLine2: row.address_line2,
    postCode: row.post_code,
    city: row.city,
    state: row.state,
    country: row.country,
    countryCode: row.country_code,
    phoneNumber: row.phone_number,
    latitude: row.latitude,
    longitude: row.longitude,
    status: row.status,
    isDefault: row.is_default === 1,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

function userFromRow(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    firstName: row.first_name,
    lastName: row.last_name,
    countryCode: row.country_code,
    phoneNumber: row.phone_number,
    email: row.email,
    avatarUrl: row.avatar_url,
    status: row.status,
    isActive: row.is_active === 1,
    storeIds: JSON.parse(row.store_ids_json) as string[],
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

function appFromRow(row: Selectable<ClientAppsTable> & { merchant_is_active: Flag }): StoredClientApp {
  return {
    clientId: row.client_id,
    merchantId: row.merchant_id,
    userId: row.user_id,
    name: row.name,
    clientSecretHash: row.client_secret_hash,
    publicKeyPem: row.public_key_pem,
    scopes: scopesFromText(row.scopes),
    redirectUris: JSON.parse(row.redirect_uris_json) as string[],
    requireSignature: row.require_signature === 1,
    isActive: row.is_active === 1,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
    merchantIsActive: row.merchant_is_active === 1,
  };
}

function refreshTokenFromRow(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    familyId: row.family_id,
    clientId: row.client_id,
    merchantId: row.merchant_id,
    userId: row.user_id,
    scopes: scopesFromText(row.scopes),
    expiresAtMs: row.expires_at_ms,
    createdAtMs: row.created_at_ms,
    usedAtMs: row.used_at_ms,
    revokedAtMs: row.revoked_at_ms,
  };
}

function authorizationCodeFromRow(row: Selectable<AuthorizationCodesTable>): AuthorizationCodeRecord {
  return {
    codeHash: row.code_hash,
    clientId: row.client_id,
    merchantId: row.merchant_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    scopes: scopesFromText(row.scopes),
    expiresAtMs: row.expires_at_ms,
    createdAtMs: row.created_at_ms,
    usedAtMs: row.used_at_ms,
  };
}

/**
 * Runs of a transaction whose insert collided with an existing primary key. Ids are drawn at random within their
 * millisecond, so two processes can draw the same one (about one in a million per pair drawn in the same ms);
 * a second draw colliding again is one in a million of that.
 */
const generatedIdAttemptsMax = 3;

/** An insert refused because its primary key exists: SQLite's extended code, or PostgreSQL's unique violation on a `<table>_pkey`. */
function isPrimaryKeyCollision(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  return code === '23505' && typeof constraint === 'string' && constraint.endsWith('_pkey');
}

/** Apps are always read with their merchant's active flag. */
function selectApp(db: Kysely<Database> | Transaction<Database>) {
  return db
    .selectFrom('client_apps')
    .innerJoin('merchants', 'merchants.id', 'client_apps.merchant_id')
    .selectAll('client_apps')
    .select('merchants.is_active as merchant_is_active');
}

/** What a store has besides its database handle: batched nonce claims, and the app and merchant cache. */
export interface StorageAids {
  nonceClaims: NonceClaims;
  recordCache?: RecordCache;
}

export function createStorage(
  db: Kysely<Database> | Transaction<Database>,
  dialect: 'sqlite' | 'postgres',
  closeDb: () => Promise<void>,
  aids: StorageAids,
): Storage {
  const inTransaction = db.isTransaction;
  const { nonceClaims, recordCache } = aids;
  const storage: Storage = {
    dialect,
    merchants: {
      async get(id) {
        const load = async () => {
          const row = await db.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirst();
          return row ? merchantFromRow(row) : null;
        };
        return recordCache && !inTransaction ? recordCache.merchant(id, load) : load();
      },
      async count() {
        const row = await db.selectFrom('merchants').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        return Number(row.n);
      },
      async insert(m) {
        recordCache?.forget('merchant', m.id);
        await db
          .insertInto('merchants')
          .values({
            id: m.id,
            company_name: m.companyName,
            company_type: m.companyType,
            company_logo_url: m.companyLogoUrl,
            registration_number: m.registrationNumber,
            business_category: m.businessCategory,
            established_at_ms: m.establishedAtMs,
            country_code: m.countryCode,
            phone_number: m.phoneNumber,
            address_line1: m.addressLine1,
            address_line2: m.addressLine2,
            postcode: m.postcode,
            city: m.city,
            state: m.state,
            country: m.country,
            invoice_address_json: JSON.stringify(m.invoiceAddress),
            is_active: flag(m.isActive),
            status: m.status,
            is_master_merchant: flag(m.isMasterMerchant),
            master_merchant_id: m.masterMerchantId,
            is_partner: flag(m.isPartner),
            partner_id: m.partnerId,
            gst_no: m.gstNo,
            created_at_ms: m.createdAtMs,
            updated_at_ms: m.updatedAtMs,
          })
          .execute();
      },
      async reserveStoreSlot(merchantId, max) {
        recordCache?.forget('merchant', merchantId);
        const result = await db
          .updateTable('merchants')
          .set((eb) => ({ store_count: eb('store_count', '+', 1) }))
          .where('id', '=', merchantId)
          .where('store_count', '<', max)
          .executeTakeFirst();
        return affected(result) === 1;
      },
      async releaseStoreSlot(merchantId) {
        recordCache?.forget('merchant', merchantId);
        await db
          .updateTable('merchants')
          .set((eb) => ({ store_count: eb('store_count', '-', 1) }))
          .where('id', '=', merchantId)
          .where('store_count', '>', 0)
          .execute();
      },
      async setActive(merchantId, isActive, updatedAtMs) {
        recordCache?.forget('merchant', merchantId);
        // Each of the merchant's apps carries the flag too.
        recordCache?.forgetAll('app');
        const row = await db
          .updateTable('merchants')
          // Only the switch moves: `status` is the merchant's verification (VERIFIED, REVIEWING…), which RM keeps apart.
          .set({ is_active: flag(isActive), updated_at_ms: updatedAtMs })
          .where('id', '=', merchantId)
          .returningAll()
          .executeTakeFirst();
        return row ? merchantFromRow(row) : null;
      },
    },
    stores: {
      async get(merchantId, storeId) {
        const row = await db
          .selectFrom('stores')
          .selectAll()
          .where('id', '=', storeId)
          .where('merchant_id', '=', merchantId)
          .where('deleted_at_ms', 'is', null)
          .executeTakeFirst();
        return row ? storeFromRow(row) : null;
      },
      async getAny(merchantId, storeId) {
        const row = await db
          .selectFrom('stores')
          .selectAll()
          .where('id', '=', storeId)
          .where('merchant_id', '=', merchantId)
          .executeTakeFirst();
        return row ? storeFromRow(row) : null;
      },
      async list(query) {
        let base = db.selectFrom('stores').where('merchant_id', '=', query.merchantId).where('deleted_at_ms', 'is', null);
        if (query.updatedAtFromMs !== null) base = base.where('updated_at_ms', '>=', query.updatedAtFromMs);
        if (query.updatedAtToMs !== null) base = base.where('updated_at_ms', '<=', query.updatedAtToMs);
        const totalRow = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
        let page = base.selectAll();
        if (query.afterId !== null) page = page.where('id', '>', query.afterId);
        // One extra row tells whether another page exists without a second count.
        const rows = await page.orderBy('id').limit(query.limit + 1).execute();
        const hasMore = rows.length > query.limit;
        const stores = rows.slice(0, query.limit).map(storeFromRow);
        return {
          stores,
          total: Number(totalRow.total),
          nextCursorId: hasMore ? (stores[stores.length - 1]?.id ?? null) : null,
        };
      },
      async insert(s) {
        await db
          .insertInto('stores')
          .values({
            id: s.id,
            merchant_id: s.merchantId,
            name: s.name,
            image_url: s.imageUrl,
            address_line1: s.addressLine1,
            address_line2: s.addressLine2,
            post_code: s.postCode,
            city: s.city,
            state: s.state,
            country: s.country,
            country_code: s.countryCode,
            phone_number: s.phoneNumber,
            latitude: s.latitude,
            longitude: s.longitude,
            status: s.status,
            is_default: flag(s.isDefault),
            created_at_ms: s.createdAtMs,
            updated_at_ms: s.updatedAtMs,
            deleted_at_ms: null,
          })
          .execute();
      },
      async update(merchantId, storeId, changes: StoreChanges, updatedAtMs) {
        const columns: Partial<Record<keyof StoresTable, string | number>> = {
          name: changes.name,
          address_line1: changes.addressLine1,
          address_line2: changes.addressLine2,
          post_code: changes.postCode,
          city: changes.city,
          state: changes.state,
          country: changes.country,
          country_code: changes.countryCode,
          phone_number: changes.phoneNumber,
          latitude: changes.latitude,
          longitude: changes.longitude,
        };
        const set = Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined));
        const result = await db
          .updateTable('stores')
          .set({ ...set, updated_at_ms: updatedAtMs })
          .where('id', '=', storeId)
          .where('merchant_id', '=', merchantId)
          .where('deleted_at_ms', 'is', null)
          .executeTakeFirst();
        if (affected(result) !== 1) return null;
        return storage.stores.get(merchantId, storeId);
      },
      async delete(merchantId, storeId, deletedAtMs) {
        const result = await db
          .updateTable('stores')
          .set({ deleted_at_ms: deletedAtMs, status: 'DELETED', updated_at_ms: deletedAtMs })
          .where('id', '=', storeId)
          .where('merchant_id', '=', merchantId)
          .where('deleted_at_ms', 'is', null)
          .executeTakeFirst();
        return affected(result) === 1;
      },
    },
    users: {
      async get(merchantId, userId) {
        const row = await db
          .selectFrom('users')
          .selectAll()
          .where('id', '=', userId)
          .where('merchant_id', '=', merchantId)
          .executeTakeFirst();
        return row ? userFromRow(row) : null;
      },
      async insert(u) {
        await db
          .insertInto('users')
          .values({
            id: u.id,
            merchant_id: u.merchantId,
            first_name: u.firstName,
            last_name: u.lastName,
            country_code: u.countryCode,
            phone_number: u.phoneNumber,
            email: u.email,
            avatar_url: u.avatarUrl,
            status: u.status,
            is_active: flag(u.isActive),
            store_ids_json: JSON.stringify(u.storeIds),
            created_at_ms: u.createdAtMs,
            updated_at_ms: u.updatedAtMs,
          })
          .execute();
      },
      async ownerOf(merchantId) {
        const row = await db
          .selectFrom('users')
          .select('id')
          .where('merchant_id', '=', merchantId)
          .orderBy('created_at_ms')
          .orderBy('id')
          .executeTakeFirst();
        return row?.id ?? null;
      },
    },
    subscriptions: {
      async list(merchantId) {
        const rows = await db
          .selectFrom('merchant_subscriptions')
          .selectAll()
          .where('merchant_id', '=', merchantId)
          .orderBy('id')
          .execute();
        return rows.map(
          (r): SubscriptionRecord => ({
            id: r.id,
            merchantId: r.merchant_id,
            gracePeriodDays: r.grace_period_days,
            expiryAtMs: r.expiry_at_ms,
            terminateAtMs: r.terminate_at_ms,
            status: r.status,
          }),
        );
      },
      async insert(s) {
        await db
          .insertInto('merchant_subscriptions')
          .values({
            merchant_id: s.merchantId,
            id: s.id,
            grace_period_days: s.gracePeriodDays,
            expiry_at_ms: s.expiryAtMs,
            terminate_at_ms: s.terminateAtMs,
            status: s.status,
          })
          .execute();
      },
    },
    apps: {
      async get(clientId) {
        const load = async () => {
          const row = await selectApp(db).where('client_apps.client_id', '=', clientId).executeTakeFirst();
          return row ? appFromRow(row) : null;
        };
        return recordCache && !inTransaction ? recordCache.app(clientId, load) : load();
      },
      async insert(a) {
        recordCache?.forget('app', a.clientId);
        await db
          .insertInto('client_apps')
          .values({
            client_id: a.clientId,
            merchant_id: a.merchantId,
            user_id: a.userId,
            name: a.name,
            client_secret_hash: a.clientSecretHash,
            public_key_pem: a.publicKeyPem,
            scopes: scopesToText(a.scopes),
            redirect_uris_json: JSON.stringify(a.redirectUris),
            require_signature: flag(a.requireSignature),
            is_active: flag(a.isActive),
            created_at_ms: a.createdAtMs,
            updated_at_ms: a.updatedAtMs,
          })
          .execute();
      },
      async setActive(clientId, isActive, updatedAtMs) {
        recordCache?.forget('app', clientId);
        const result = await db
          .updateTable('client_apps')
          .set({ is_active: flag(isActive), updated_at_ms: updatedAtMs })
          .where('client_id', '=', clientId)
          .executeTakeFirst();
        if (affected(result) === 0) return null;
        const row = await selectApp(db).where('client_apps.client_id', '=', clientId).executeTakeFirst();
        return row ? appFromRow(row) : null;
      },
    },
    refreshTokens: {
      async insert(t) {
        await db
          .insertInto('refresh_tokens')
          .values({
            token_hash: t.tokenHash,
            family_id: t.familyId,
            client_id: t.clientId,
            merchant_id: t.merchantId,
            user_id: t.userId,
            scopes: scopesToText(t.scopes),
            expires_at_ms: t.expiresAtMs,
            created_at_ms: t.createdAtMs,
            used_at_ms: t.usedAtMs,
            revoked_at_ms: t.revokedAtMs,
          })
          .execute();
      },
      async consume(tokenHash, clientId, nowMs): Promise<ConsumeResult<RefreshTokenRecord>> {
        // One conditional update decides the race: of two concurrent refreshes only one sees a row change.
        const result = await db
          .updateTable('refresh_tokens')
          .set({ used_at_ms: nowMs })
          .where('token_hash', '=', tokenHash)
          .where('client_id', '=', clientId)
          .where('used_at_ms', 'is', null)
          .where('revoked_at_ms', 'is', null)
          .where('expires_at_ms', '>', nowMs)
          .executeTakeFirst();
        const row = await db
          .selectFrom('refresh_tokens')
          .selectAll()
          .where('token_hash', '=', tokenHash)
          .where('client_id', '=', clientId)
          .executeTakeFirst();
        if (!row) return { kind: 'missing' };
        const record = refreshTokenFromRow(row);
        if (affected(result) === 1) return { kind: 'consumed', record };
        if (record.usedAtMs !== null || record.revokedAtMs !== null) return { kind: 'already-used', record };
        return { kind: 'missing' };
      },
      async revokeFamily(familyId, nowMs) {
        const result = await db
          .updateTable('refresh_tokens')
          .set({ revoked_at_ms: nowMs })
          .where('family_id', '=', familyId)
          .where('revoked_at_ms', 'is', null)
          .executeTakeFirst();
        return affected(result);
      },
    },
    authorizationCodes: {
      async insert(c) {
        await db
          .insertInto('authorization_codes')
          .values({
            code_hash: c.codeHash,
            client_id: c.clientId,
            merchant_id: c.merchantId,
            user_id: c.userId,
            redirect_uri: c.redirectUri,
            scopes: scopesToText(c.scopes),
            expires_at_ms: c.expiresAtMs,
            created_at_ms: c.createdAtMs,
            used_at_ms: c.usedAtMs,
          })
          .execute();
      },
      async consume(codeHash, clientId, nowMs): Promise<ConsumeResult<AuthorizationCodeRecord>> {
        const result = await db
          .updateTable('authorization_codes')
          .set({ used_at_ms: nowMs })
          .where('code_hash', '=', codeHash)
          .where('client_id', '=', clientId)
          .where('used_at_ms', 'is', null)
          .where('expires_at_ms', '>', nowMs)
          .executeTakeFirst();
        const row = await db
          .selectFrom('authorization_codes')
          .selectAll()
          .where('code_hash', '=', codeHash)
          .where('client_id', '=', clientId)
          .executeTakeFirst();
        if (!row) return { kind: 'missing' };
        const record = authorizationCodeFromRow(row);
        if (affected(result) === 1) return { kind: 'consumed', record };
        if (record.usedAtMs !== null) return { kind: 'already-used', record };
        return { kind: 'missing' };
      },
    },
    nonces: {
      // Every claim, in a transaction or not, goes to the batched claims (SQLite's nonce file, PostgreSQL's per-turn
      // statements): one place decides replays, and a claim never waits on a transaction.
      claim: (clientId, nonce, nowMs, expiresAtMs) => nonceClaims.claim(clientId, nonce, nowMs, expiresAtMs),
      purgeExpired: (nowMs) => nonceClaims.purgeExpired(nowMs),
    },
    serverKeys: {
      async getNewest() {
        const row = await db.selectFrom('server_keys').selectAll().orderBy('created_at_ms', 'desc').executeTakeFirst();
        return row
          ? {
              keyId: row.key_id,
              privateKeyPem: row.private_key_pem,
              publicKeyPem: row.public_key_pem,
              createdAtMs: row.created_at_ms,
            }
          : null;
      },
      async insertIfNone(key: ServerKeyRecord) {
        const existing = await storage.serverKeys.getNewest();
        if (existing) return existing;
        await db
          .insertInto('server_keys')
          .values({
            key_id: key.keyId,
            private_key_pem: key.privateKeyPem,
            public_key_pem: key.publicKeyPem,
            created_at_ms: key.createdAtMs,
          })
          .onConflict((oc) => oc.column('key_id').doNothing())
          .execute();
        const newest = await storage.serverKeys.getNewest();
        if (!newest) throw new Error('server key insert did not persist');
        return newest;
      },
    },
    setupClaims: {
      async claim(name, nowMs, lapsedBeforeMs) {
        const inserted = await db
          .insertInto('setup_claims')
          .values({ name, claimed_at_ms: nowMs })
          .onConflict((oc) => oc.column('name').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return true;
        const taken = await db
          .updateTable('setup_claims')
          .set({ claimed_at_ms: nowMs })
          .where('name', '=', name)
          .where('claimed_at_ms', '<', lapsedBeforeMs)
          .executeTakeFirst();
        return Number(taken.numUpdatedRows) > 0;
      },
    },
    sandboxClock: {
      async offsetMs() {
        const row = await db.selectFrom('sandbox_clock').select('offset_ms').where('name', '=', 'offset').executeTakeFirst();
        return Number(row?.offset_ms ?? 0);
      },
      async advance(deltaMs, offsetMaxMs) {
        const row = await db
          .updateTable('sandbox_clock')
          .set((eb) => ({ offset_ms: eb('offset_ms', '+', deltaMs) }))
          .where('name', '=', 'offset')
          .where('offset_ms', '<=', offsetMaxMs - deltaMs)
          .returning('offset_ms')
          .executeTakeFirst();
        return row ? Number(row.offset_ms) : null;
      },
    },
    payments: createPaymentsStorage(db, dialect),
    walletSimulator: createWalletSimulatorStorage(db, dialect),
    outbox: createOutboxStorage(db),
    checkout: createCheckoutStorage(db),
    idempotency: createIdempotencyStorage(db),
    async transaction(work) {
      if (inTransaction) return work(storage);
      for (let attempt = 1; ; attempt++) {
        try {
          return await (db as Kysely<Database>).transaction().execute((trx) => work(createStorage(trx, dialect, closeDb, aids)));
        } catch (error) {
          // Rolled back: a fresh run draws fresh ids. A collision that is not about a drawn id repeats and is thrown.
          if (attempt >= generatedIdAttemptsMax || !isPrimaryKeyCollision(error)) throw error;
        }
      }
    },
    async lockOrderId(merchantId, orderId) {
      if (!inTransaction) throw new Error('lockOrderId needs a transaction: the lock lasts until it ends');
      // Merchant ids are digits, so the colon cannot be confused; the 64-bit hash makes unrelated orders rarely wait.
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtextextended(${`${merchantId}:${orderId}`}, 0))`.execute(db);
    },
    close: closeDb,
  };
  return storage;
}
