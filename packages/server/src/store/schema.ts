// The database schema as Kysely sees it: one interface for SQLite and PostgreSQL (snake_case columns).
import type { Generated } from 'kysely';

/** Booleans are stored as 0/1 integers so both dialects share one column type. */
type Flag = number;

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

export interface ServerKeysTable {
  key_id: string;
  private_key_pem: string;
  public_key_pem: string;
  created_at_ms: number;
}

export interface Database {
  merchants: MerchantsTable;
  stores: StoresTable;
  users: UsersTable;
  merchant_subscriptions: MerchantSubscriptionsTable;
  client_apps: ClientAppsTable;
  refresh_tokens: RefreshTokensTable;
  authorization_codes: AuthorizationCodesTable;
  request_nonces: RequestNoncesTable;
  server_keys: ServerKeysTable;
}
