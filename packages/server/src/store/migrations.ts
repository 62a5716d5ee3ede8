// The one migration set for both dialects; append new migrations, never edit a released one.
import type { Kysely, Migration, MigrationProvider } from 'kysely';

/** Column type names both SQLite and PostgreSQL accept with the meaning we want. */
const bigint = 'bigint';
const double = 'double precision';

const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('merchants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('company_name', 'text', (c) => c.notNull())
        .addColumn('company_type', 'text', (c) => c.notNull())
        .addColumn('company_logo_url', 'text', (c) => c.notNull())
        .addColumn('registration_number', 'text', (c) => c.notNull())
        .addColumn('business_category', 'text', (c) => c.notNull())
        .addColumn('established_at_ms', bigint)
        .addColumn('country_code', 'text', (c) => c.notNull())
        .addColumn('phone_number', 'text', (c) => c.notNull())
        .addColumn('address_line1', 'text', (c) => c.notNull())
        .addColumn('address_line2', 'text', (c) => c.notNull())
        .addColumn('postcode', 'text', (c) => c.notNull())
        .addColumn('city', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('invoice_address_json', 'text', (c) => c.notNull())
        .addColumn('is_active', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('is_master_merchant', 'integer', (c) => c.notNull())
        .addColumn('master_merchant_id', 'text', (c) => c.notNull())
        .addColumn('is_partner', 'integer', (c) => c.notNull())
        .addColumn('partner_id', 'text', (c) => c.notNull())
        .addColumn('gst_no', 'text', (c) => c.notNull())
        .addColumn('store_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('stores')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('image_url', 'text', (c) => c.notNull())
        .addColumn('address_line1', 'text', (c) => c.notNull())
        .addColumn('address_line2', 'text', (c) => c.notNull())
        .addColumn('post_code', 'text', (c) => c.notNull())
        .addColumn('city', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('country_code', 'text', (c) => c.notNull())
        .addColumn('phone_number', 'text', (c) => c.notNull())
        .addColumn('latitude', double, (c) => c.notNull())
        .addColumn('longitude', double, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .addColumn('deleted_at_ms', bigint)
        .execute();
      await db.schema.createIndex('stores_by_merchant').on('stores').columns(['merchant_id', 'id']).execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('first_name', 'text', (c) => c.notNull())
        .addColumn('last_name', 'text', (c) => c.notNull())
        .addColumn('country_code', 'text', (c) => c.notNull())
        .addColumn('phone_number', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('avatar_url', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('is_active', 'integer', (c) => c.notNull())
        .addColumn('store_ids_json', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('merchant_subscriptions')
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('id', 'integer', (c) => c.notNull())
        .addColumn('grace_period_days', 'integer', (c) => c.notNull())
        .addColumn('expiry_at_ms', bigint, (c) => c.notNull())
        .addColumn('terminate_at_ms', bigint, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('merchant_subscriptions_pk', ['merchant_id', 'id'])
        .execute();

      await db.schema
        .createTable('client_apps')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('client_secret_hash', 'text', (c) => c.notNull())
        .addColumn('public_key_pem', 'text')
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('redirect_uris_json', 'text', (c) => c.notNull())
        .addColumn('require_signature', 'integer', (c) => c.notNull())
        .addColumn('is_active', 'integer', (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('family_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull().references('client_apps.client_id'))
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('expires_at_ms', bigint, (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('used_at_ms', bigint)
        .addColumn('revoked_at_ms', bigint)
        .execute();
      await db.schema.createIndex('refresh_tokens_by_family').on('refresh_tokens').column('family_id').execute();

      await db.schema
        .createTable('authorization_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull().references('client_apps.client_id'))
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('expires_at_ms', bigint, (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('used_at_ms', bigint)
        .execute();

      await db.schema
        .createTable('request_nonces')
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('expires_at_ms', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('request_nonces_pk', ['client_id', 'nonce'])
        .execute();
      await db.schema.createIndex('request_nonces_by_expiry').on('request_nonces').column('expires_at_ms').execute();

      await db.schema
        .createTable('server_keys')
        .addColumn('key_id', 'text', (c) => c.primaryKey())
        .addColumn('private_key_pem', 'text', (c) => c.notNull())
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
