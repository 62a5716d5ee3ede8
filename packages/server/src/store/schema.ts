// The database schema as Kysely sees it: one interface for SQLite and PostgreSQL (snake_case columns).
import type { Generated } from 'kysely';

/** Booleans are stored as 0/1 integers so both dialects share one column type. */
export type Flag = number;

export interface MerchantsTable {
  id: string;
  company_name: string;
  company_type: string;
  company_logo_url: string;
  registration_number: string;
  business_category: string;
  established_at_ms: number | null;
  country_code: string;
  phone_number: string;
  address_line1: string;
  address_line2: string;
  postcode: string;
  city: string;
  state: string;
  country: string;
  invoice_address_json: string;
  is_active: Flag;
  status: string;
  is_master_merchant: Flag;
  master_merchant_id: string;
  is_partner: Flag;
  partner_id: string;
  gst_no: string;
  store_count: Generated<number>;
  created_at_ms: number;
  updated_at_ms: number;
}

export interface StoresTable {
  id: string;
  merchant_id: string;
  name: string;
  image_url: string;
  address_line1: string;
  address_line2: string;
  post_code: string;
  city: string;
  state: string;
  country: string;
  country_code: string;
  phone_number: string;
  latitude: number;
  longitude: number;
  status: string;
  is_default: Flag;
  created_at_ms: number;
  updated_at_ms: number;
  deleted_at_ms: number | null;
}

export interface UsersTable {
  id: string;
  merchant_id: string;
  first_name: string;
  last_name: string;
  country_code: string;
  phone_number: string;
  email: string;
  avatar_url: string;
  status: string;
  is_active: Flag;
  store_ids_json: string;
  created_at_ms: number;
  updated_at_ms: number;
}

export interface MerchantSubscriptionsTable {
  merchant_id: string;
  id: number;
  grace_period_days: number;
  expiry_at_ms: number;
  terminate_at_ms: number;
  status: string;
}

export interface ClientAppsTable {
  client_id: string;
  merchant_id: string;
  user_id: string;
  name: string;
  client_secret_hash: string;
  public_key_pem: string | null;
  scopes: string;
  redirect_uris_json: string;
  require_signature: Flag;
  is_active: Flag;
  created_at_ms: number;
  updated_at_ms: number;
}

export interface RefreshTokensTable {
  token_hash: string;
  family_id: string;
  client_id: string;
  merchant_id: string;
  user_id: string;
  scopes: string;
  expires_at_ms: number;
  created_at_ms: number;
  used_at_ms: number | null;
  revoked_at_ms: number | null;
}

export interface AuthorizationCodesTable {
  code_hash: string;
  client_id: string;
  merchant_id: string;
  user_id: string;
  redirect_uri: string;
  scopes: string;
  expires_at_ms: number;
  created_at_ms: number;
  used_at_ms: number | null;
}

export interface RequestNoncesTable {
  client_id: string;
  nonce: string;
  expires_at_ms: number;
}

export interface IdempotencyKeysTable {
  client_id: string;
  idempotency_key: string;
  fingerprint: string;
  claim_id: string;
  http_status: number | null;
  response_body: string | null;
  lease_until_ms: number | null;
  created_at_ms: number;
  expires_at_ms: number;
}

export interface SetupClaimsTable {
  name: string;
  claimed_at_ms: number;
}

/** One row, 'records': moved by every commit that writes client_apps or merchants (PostgreSQL triggers). */
export interface RecordVersionsTable {
  name: string;
  version: number;
}

/** One row: how far the sandbox clock is ahead of the wall clock, shared by every process on the database. */
export interface SandboxClockTable {
  name: string;
  offset_ms: number;
}

export interface ServerKeysTable {
  key_id: string;
  private_key_pem: string;
  public_key_pem: string;
  created_at_ms: number;
}

export interface PaymentTransactionsTable {
  id: string;
  merchant_id: string;
  store_id: string;
  order_id: string;
  order_title: string;
  order_detail: string;
  order_additional_data: string;
  amount_minor: number;
  currency: string;
  balance_minor: number;
  refunded_minor: number;
  request_fingerprint: string;
  terminal_id: string;
  ip_address: string;
  method: string;
  region: string;
  platform: string;
  type: string;
  connector: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  reference_id: string;
  payer_user_id: string;
  transaction_at_ms: number | null;
  created_at_ms: number;
  updated_at_ms: number;
  next_check_at_ms: number | null;
  lease_until_ms: number | null;
  reverse_requested: Flag;
  reverse_attempts: number;
  query_count: number;
  /** Customer-scans payments: the checkout or Transaction QR they pay, and when the payer's time runs out. */
  checkout_id: string | null;
  qr_code: string | null;
  pay_deadline_at_ms: number | null;
  pay_url: string | null;
}

export interface PaymentRefundsTable {
  id: string;
  transaction_id: string;
  merchant_id: string;
  type: string;
  amount_minor: number;
  currency: string;
  reason: string;
  status: string;
  created_at_ms: number;
  updated_at_ms: number;
  next_attempt_at_ms: number | null;
}

export interface LedgerEntriesTable {
  id: string;
  transaction_id: string;
  merchant_id: string;
  kind: string;
  refund_id: string;
  amount_minor: number;
  currency: string;
  method: string;
  region: string;
  booked_at_ms: number;
}

export interface LedgerPostingsTable {
  entry_id: string;
  line: number;
  account: string;
  currency: string;
  debit_minor: number;
  credit_minor: number;
}

export interface SimWalletOrdersTable {
  upstream_order_id: string;
  code_hash: string;
  scenario: string;
  amount_minor: number;
  status: string;
  query_count: number;
  reverse_attempts: number;
  refunded_minor: number;
  reference_id: string;
  payer_id: string;
  created_at_ms: number;
  paid_at_ms: number | null;
}

export interface SimWalletCodesTable {
  code_hash: string;
  upstream_order_id: string;
  seen_at_ms: number;
}

export interface SimWalletRefundsTable {
  refund_id: string;
  upstream_order_id: string;
  amount_minor: number;
  created_at_ms: number;
}

export interface PaymentQrCodesTable {
  code: string;
  merchant_id: string;
  store_id: string;
  type: string;
  is_pre_fill_amount: Flag;
  amount_minor: number;
  currency: string;
  platform: string;
  methods_json: string;
  expiry_type: string;
  expiry_days: number;
  expires_at_ms: number | null;
  status: string;
  redirect_url: string;
  order_title: string;
  order_detail: string;
  order_additional_data: string;
  pending_transaction_id: string | null;
  created_at_ms: number;
  updated_at_ms: number;
}

export interface PaymentCheckoutsTable {
  id: string;
  merchant_id: string;
  store_id: string;
  type: string;
  order_id: string;
  order_title: string;
  order_detail: string;
  order_additional_data: string;
  amount_minor: number;
  currency: string;
  methods_json: string;
  exclude_methods_json: string;
  redirect_url: string;
  notify_url: string;
  layout_version: string;
  status: string;
  transaction_id: string | null;
  request_fingerprint: string;
  start_at_ms: number;
  end_at_ms: number;
  created_at_ms: number;
  updated_at_ms: number;
}

export interface OutboxEventsTable {
  id: string;
  merchant_id: string;
  event_type: string;
  subject_id: string;
  target_url: string;
  body: string;
  status: string;
  attempts: number;
  next_attempt_at_ms: number | null;
  lease_until_ms: number | null;
  last_error: string;
  created_at_ms: number;
  updated_at_ms: number;
  delivered_at_ms: number | null;
  /** 0004: a re-send accepted since the last claim (its time); the next claim serves it, finishing an attempt keeps it due. */
  resent_at_ms: number | null;
  /** 0010: the target URL's origin, for the per-receiver cap on deliveries in flight. */
  receiver: string;
}

export interface OutboxAttemptsTable {
  id: string;
  event_id: string;
  attempt: number;
  started_at_ms: number;
  duration_ms: number;
  http_status: number | null;
  error: string;
  outcome: string;
}

export interface Database {
  payment_qr_codes: PaymentQrCodesTable;
  payment_checkouts: PaymentCheckoutsTable;
  outbox_events: OutboxEventsTable;
  outbox_attempts: OutboxAttemptsTable;
  payment_transactions: PaymentTransactionsTable;
  payment_refunds: PaymentRefundsTable;
  ledger_entries: LedgerEntriesTable;
  ledger_postings: LedgerPostingsTable;
  sim_wallet_orders: SimWalletOrdersTable;
  sim_wallet_codes: SimWalletCodesTable;
  sim_wallet_refunds: SimWalletRefundsTable;
  merchants: MerchantsTable;
  stores: StoresTable;
  users: UsersTable;
  merchant_subscriptions: MerchantSubscriptionsTable;
  client_apps: ClientAppsTable;
  refresh_tokens: RefreshTokensTable;
  authorization_codes: AuthorizationCodesTable;
  request_nonces: RequestNoncesTable;
  idempotency_keys: IdempotencyKeysTable;
  server_keys: ServerKeysTable;
  setup_claims: SetupClaimsTable;
  record_versions: RecordVersionsTable;
  sandbox_clock: SandboxClockTable;
}
