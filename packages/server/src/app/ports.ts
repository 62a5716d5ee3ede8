// The ports use cases need from storage and the outside world; store/ and main/ provide them.
import type { Scope } from '@tunai/client/contract';
import type { CheckoutStorage } from './checkout-ports.js';
import type { IdempotencyStorage } from './idempotency-ports.js';
import type { OutboxStorage } from './outbox-ports.js';
import type { PaymentsStorage, WalletSimulatorStorage } from './payment-ports.js';

export interface MerchantRecord {
  id: string;
  companyName: string;
  companyType: string;
  companyLogoUrl: string;
  registrationNumber: string;
  businessCategory: string;
  establishedAtMs: number | null;
  countryCode: string;
  phoneNumber: string;
  addressLine1: string;
  addressLine2: string;
  postcode: string;
  city: string;
  state: string;
  country: string;
  invoiceAddress: {
    addressLine1: string;
    addressLine2: string;
    postcode: string;
    city: string;
    state: string;
    country: string;
  };
  isActive: boolean;
  status: string;
  isMasterMerchant: boolean;
  masterMerchantId: string;
  isPartner: boolean;
  partnerId: string;
  gstNo: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface StoreRecord {
  id: string;
  merchantId: string;
  name: string;
  imageUrl: string;
  addressLine1: string;
  addressLine2: string;
  postCode: string;
  city: string;
  state: string;
  country: string;
  countryCode: string;
  phoneNumber: string;
  latitude: number;
  longitude: number;
  status: string;
  isDefault: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

export type StoreChanges = Partial<
  Pick<
    StoreRecord,
    | 'name'
    | 'addressLine1'
    | 'addressLine2'
    | 'postCode'
    | 'city'
    | 'state'
    | 'country'
    | 'countryCode'
    | 'phoneNumber'
    | 'latitude'
    | 'longitude'
  >
>;

export interface UserRecord {
  id: string;
  merchantId: string;
  firstName: string;
  lastName: string;
  countryCode: string;
  phoneNumber: string;
  email: string;
  avatarUrl: string;
  status: string;
  isActive: boolean;
  storeIds: string[];
  createdAtMs: number;
  updatedAtMs: number;
}

export interface SubscriptionRecord {
  id: number;
  merchantId: string;
  gracePeriodDays: number;
  expiryAtMs: number;
  terminateAtMs: number;
  status: string;
}

export interface ClientAppRecord {
  clientId: string;
  merchantId: string;
  userId: string;
  name: string;
  clientSecretHash: string;
  publicKeyPem: string | null;
  scopes: Scope[];
  redirectUris: string[];
  requireSignature: boolean;
  isActive: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

/** An app as read back: its record and whether its merchant is active (a deactivated merchant's apps are refused). */
export type StoredClientApp = ClientAppRecord & { merchantIsActive: boolean };

export interface RefreshTokenRecord {
  tokenHash: string;
  familyId: string;
  clientId: string;
  merchantId: string;
  userId: string;
  scopes: Scope[];
  expiresAtMs: number;
  createdAtMs: number;
  usedAtMs: number | null;
  revokedAtMs: number | null;
}

export interface AuthorizationCodeRecord {
  codeHash: string;
  clientId: string;
  merchantId: string;
  userId: string;
  redirectUri: string;
  scopes: Scope[];
  expiresAtMs: number;
  createdAtMs: number;
  usedAtMs: number | null;
}

export interface ServerKeyRecord {
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
  createdAtMs: number;
}

export interface StorePage {
  stores: StoreRecord[];
  total: number;
  nextCursorId: string | null;
}

export interface StoreListQuery {
  merchantId: string;
  limit: number;
  afterId: string | null;
  updatedAtFromMs: number | null;
  updatedAtToMs: number | null;
}

/** Outcome of spending a single-use credential with one conditional update. */
export type ConsumeResult<T> = { kind: 'consumed'; record: T } | { kind: 'already-used'; record: T } | { kind: 'missing' };

export interface Storage {
  merchants: {
    get(id: string): Promise<MerchantRecord | null>;
    count(): Promise<number>;
    insert(merchant: MerchantRecord): Promise<void>;
    /** Reserves one store slot if fewer than `max` are in use; false when the merchant is at its limit. */
    reserveStoreSlot(merchantId: string, max: number): Promise<boolean>;
    releaseStoreSlot(merchantId: string): Promise<void>;
    /** Activates or deactivates the merchant (`isActive` only; its `status` is untouched); null when it does not exist. */
    setActive(merchantId: string, isActive: boolean, updatedAtMs: number): Promise<MerchantRecord | null>;
  };
  stores: {
    get(merchantId: string, storeId: string): Promise<StoreRecord | null>;
    /** Also finds a deleted store: a transaction keeps showing the store it was paid at. */
    getAny(merchantId: string, storeId: string): Promise<StoreRecord | null>;
    list(query: StoreListQuery): Promise<StorePage>;
    insert(store: StoreRecord): Promise<void>;
    update(merchantId: string, storeId: string, changes: StoreChanges, updatedAtMs: number): Promise<StoreRecord | null>;
    /** Marks the store deleted; false when it did not exist (or was already gone). */
    delete(merchantId: string, storeId: string, deletedAtMs: number): Promise<boolean>;
  };
  users: {
    get(merchantId: string, userId: string): Promise<UserRecord | null>;
    insert(user: UserRecord): Promise<void>;
    /** The merchant's first user: the owner every client-credentials app acts for. */
    ownerOf(merchantId: string): Promise<string | null>;
  };
  subscriptions: {
    list(merchantId: string): Promise<SubscriptionRecord[]>;
    insert(subscription: SubscriptionRecord): Promise<void>;
  };
  apps: {
    /** The app, with whether the merchant it acts for is active: every authentication checks both in one read. */
    get(clientId: string): Promise<StoredClientApp | null>;
    insert(app: ClientAppRecord): Promise<void>;
    /** Activates or deactivates the app; null when it does not exist. */
    setActive(clientId: string, isActive: boolean, updatedAtMs: number): Promise<StoredClientApp | null>;
  };
  refreshTokens: {
    insert(token: RefreshTokenRecord): Promise<void>;
    /** Marks the client's token used if it was unused, unrevoked and unexpired at `nowMs`; another client's is 'missing'. */
    consume(tokenHash: string, clientId: string, nowMs: number): Promise<ConsumeResult<RefreshTokenRecord>>;
    /** Revokes every unrevoked token of the family; returns how many it revoked. */
    revokeFamily(familyId: string, nowMs: number): Promise<number>;
  };
  authorizationCodes: {
    insert(code: AuthorizationCodeRecord): Promise<void>;
    consume(codeHash: string, clientId: string, nowMs: number): Promise<ConsumeResult<AuthorizationCodeRecord>>;
  };
  nonces: {
    /** Records a nonce for the client; false when the same client already used it and it has not expired. */
    claim(clientId: string, nonce: string, nowMs: number, expiresAtMs: number): Promise<boolean>;
    purgeExpired(nowMs: number): Promise<number>;
  };
  serverKeys: {
    getNewest(): Promise<ServerKeyRecord | null>;
    /** Inserts unless a key already exists; returns the newest key either way (several processes may race). */
    insertIfNone(key: ServerKeyRecord): Promise<ServerKeyRecord>;
  };
  setupClaims: {
    /**
     * Claims a one-time setup step: true for the one caller that inserts its row, or that takes over a claim made
     * before `lapsedBeforeMs` (its process died before finishing); false while another caller's claim stands.
     */
    claim(name: string, nowMs: number, lapsedBeforeMs: number): Promise<boolean>;
  };
  sandboxClock: {
    /** How far the sandbox clock is ahead of the wall clock, shared by every process on this database (0 until moved). */
    offsetMs(): Promise<number>;
    /**
     * Moves the shared offset forward by `deltaMs` in one statement, so concurrent moves add up, unless that would
     * take it past `offsetMaxMs`; the new offset, or null when it was refused.
     */
    advance(deltaMs: number, offsetMaxMs: number): Promise<number | null>;
  };
  payments: PaymentsStorage;
  walletSimulator: WalletSimulatorStorage;
  checkout: CheckoutStorage;
  outbox: OutboxStorage;
  idempotency: IdempotencyStorage;
  /**
   * Runs `work` in one database transaction; everything it writes commits together or not at all. When an insert
   * collides with an existing primary key (another process drew the same id), the transaction is rolled back and
   * `work` runs again, a few times at most: so `work` draws its ids itself and does nothing outside the database.
   */
  transaction<T>(work: (tx: Storage) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction: holds this merchant's order id until the transaction ends, so the transactions that give
   * an order id to a payment or a checkout (two tables) take turns, whichever process runs them. On SQLite every
   * write transaction already takes turns (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock.
   */
  lockOrderId(merchantId: string, orderId: string): Promise<void>;
  close(): Promise<void>;
  readonly dialect: 'sqlite' | 'postgres';
}
