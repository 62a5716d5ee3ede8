// The one migration set for both dialects; append new migrations, never edit a released one.
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { receiverOf } from '../domain/outbound-url.js';

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
  '0002_payments': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('payment_transactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('store_id', 'text', (c) => c.notNull().references('stores.id'))
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('order_title', 'text', (c) => c.notNull())
        .addColumn('order_detail', 'text', (c) => c.notNull())
        .addColumn('order_additional_data', 'text', (c) => c.notNull())
        .addColumn('amount_minor', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('balance_minor', bigint, (c) => c.notNull())
        .addColumn('refunded_minor', bigint, (c) => c.notNull())
        .addColumn('request_fingerprint', 'text', (c) => c.notNull())
        .addColumn('terminal_id', 'text', (c) => c.notNull())
        .addColumn('ip_address', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('connector', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('reference_id', 'text', (c) => c.notNull())
        .addColumn('payer_user_id', 'text', (c) => c.notNull())
        .addColumn('transaction_at_ms', bigint)
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .addColumn('next_check_at_ms', bigint)
        .addColumn('lease_until_ms', bigint)
        .addColumn('reverse_requested', 'integer', (c) => c.notNull())
        .addColumn('reverse_attempts', 'integer', (c) => c.notNull())
        .addColumn('query_count', 'integer', (c) => c.notNull())
        // RM: an order id is unique per merchant; the database settles concurrent duplicates.
        .addUniqueConstraint('payment_transactions_order_unique', ['merchant_id', 'order_id'])
        .addCheckConstraint('payment_transactions_balance_floor', sql`balance_minor >= 0 and refunded_minor >= 0 and balance_minor + refunded_minor <= amount_minor`)
        .execute();
      await db.schema.createIndex('payment_transactions_by_merchant').on('payment_transactions').columns(['merchant_id', 'id']).execute();
      await db.schema.createIndex('payment_transactions_due').on('payment_transactions').column('next_check_at_ms').execute();

      await db.schema
        .createTable('payment_refunds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('transaction_id', 'text', (c) => c.notNull().references('payment_transactions.id'))
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('amount_minor', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .addColumn('next_attempt_at_ms', bigint)
        .execute();
      await db.schema.createIndex('payment_refunds_by_transaction').on('payment_refunds').column('transaction_id').execute();
      await db.schema.createIndex('payment_refunds_due').on('payment_refunds').column('next_attempt_at_ms').execute();

      await db.schema
        .createTable('ledger_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('transaction_id', 'text', (c) => c.notNull().references('payment_transactions.id'))
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('refund_id', 'text', (c) => c.notNull())
        .addColumn('amount_minor', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('booked_at_ms', bigint, (c) => c.notNull())
        // One payment, one reversal and one entry per refund for each transaction, ever: no double booking.
        .addUniqueConstraint('ledger_entries_once', ['transaction_id', 'kind', 'refund_id'])
        .execute();
      await db.schema.createIndex('ledger_entries_by_day').on('ledger_entries').columns(['merchant_id', 'booked_at_ms', 'id']).execute();

      await db.schema
        .createTable('ledger_postings')
        .addColumn('entry_id', 'text', (c) => c.notNull().references('ledger_entries.id'))
        .addColumn('line', 'integer', (c) => c.notNull())
        .addColumn('account', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('debit_minor', bigint, (c) => c.notNull())
        .addColumn('credit_minor', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_postings_pk', ['entry_id', 'line'])
        .addCheckConstraint('ledger_postings_non_negative', sql`debit_minor >= 0 and credit_minor >= 0`)
        .execute();
      await db.schema.createIndex('ledger_postings_by_account').on('ledger_postings').column('account').execute();

      // The wallet simulator's own books (it plays the upstream provider, whose memory outlives our crashes).
      await db.schema
        .createTable('sim_wallet_orders')
        .addColumn('upstream_order_id', 'text', (c) => c.primaryKey())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('scenario', 'text', (c) => c.notNull())
        .addColumn('amount_minor', bigint, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('query_count', 'integer', (c) => c.notNull())
        .addColumn('reverse_attempts', 'integer', (c) => c.notNull())
        .addColumn('refunded_minor', bigint, (c) => c.notNull())
        .addColumn('reference_id', 'text', (c) => c.notNull())
        .addColumn('payer_id', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('paid_at_ms', bigint)
        .execute();
      await db.schema
        .createTable('sim_wallet_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('upstream_order_id', 'text', (c) => c.notNull())
        .addColumn('seen_at_ms', bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sim_wallet_refunds')
        .addColumn('refund_id', 'text', (c) => c.primaryKey())
        .addColumn('upstream_order_id', 'text', (c) => c.notNull())
        .addColumn('amount_minor', bigint, (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .execute();
    },
  },
  '0003_checkout': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('payment_transactions').addColumn('checkout_id', 'text').execute();
      await db.schema.alterTable('payment_transactions').addColumn('qr_code', 'text').execute();
      await db.schema.alterTable('payment_transactions').addColumn('pay_deadline_at_ms', bigint).execute();
      await db.schema.alterTable('payment_transactions').addColumn('pay_url', 'text').execute();
      await db.schema.createIndex('payment_transactions_by_qr').on('payment_transactions').columns(['qr_code', 'id']).execute();

      await db.schema
        .createTable('payment_qr_codes')
        .addColumn('code', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('store_id', 'text', (c) => c.notNull().references('stores.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('is_pre_fill_amount', 'integer', (c) => c.notNull())
        .addColumn('amount_minor', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('methods_json', 'text', (c) => c.notNull())
        .addColumn('expiry_type', 'text', (c) => c.notNull())
        .addColumn('expiry_days', 'integer', (c) => c.notNull())
        .addColumn('expires_at_ms', bigint)
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('redirect_url', 'text', (c) => c.notNull())
        .addColumn('order_title', 'text', (c) => c.notNull())
        .addColumn('order_detail', 'text', (c) => c.notNull())
        .addColumn('order_additional_data', 'text', (c) => c.notNull())
        // A dynamic QR is paid once: the payment under way holds it, so a second payer cannot start.
        .addColumn('pending_transaction_id', 'text')
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payment_qr_codes_by_merchant').on('payment_qr_codes').columns(['merchant_id', 'created_at_ms', 'code']).execute();

      await db.schema
        .createTable('payment_checkouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('store_id', 'text', (c) => c.notNull().references('stores.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('order_title', 'text', (c) => c.notNull())
        .addColumn('order_detail', 'text', (c) => c.notNull())
        .addColumn('order_additional_data', 'text', (c) => c.notNull())
        .addColumn('amount_minor', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('methods_json', 'text', (c) => c.notNull())
        .addColumn('exclude_methods_json', 'text', (c) => c.notNull())
        .addColumn('redirect_url', 'text', (c) => c.notNull())
        .addColumn('notify_url', 'text', (c) => c.notNull())
        .addColumn('layout_version', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        // One payment attempt per checkout: set once by a conditional update when the payer picks a method.
        .addColumn('transaction_id', 'text')
        .addColumn('request_fingerprint', 'text', (c) => c.notNull())
        .addColumn('start_at_ms', bigint, (c) => c.notNull())
        .addColumn('end_at_ms', bigint, (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        // RM: an order id is unique per merchant, for checkouts as for QuickPay.
        .addUniqueConstraint('payment_checkouts_order_unique', ['merchant_id', 'order_id'])
        .execute();

      // The transactional outbox: written in the same db transaction as the state change it announces.
      await db.schema
        .createTable('outbox_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('target_url', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at_ms', bigint)
        .addColumn('lease_until_ms', bigint)
        .addColumn('last_error', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('updated_at_ms', bigint, (c) => c.notNull())
        .addColumn('delivered_at_ms', bigint)
        // One notify per event type and subject: a state change announced twice is still one event id.
        .addUniqueConstraint('outbox_events_once', ['event_type', 'subject_id'])
        .execute();
      await db.schema.createIndex('outbox_events_due').on('outbox_events').column('next_attempt_at_ms').execute();
      await db.schema.createIndex('outbox_events_by_merchant').on('outbox_events').columns(['merchant_id', 'id']).execute();
      await db.schema
        .createTable('outbox_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull().references('outbox_events.id'))
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('started_at_ms', bigint, (c) => c.notNull())
        .addColumn('duration_ms', bigint, (c) => c.notNull())
        .addColumn('http_status', 'integer')
        .addColumn('error', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('outbox_attempts_by_event').on('outbox_attempts').columns(['event_id', 'attempt']).execute();
    },
  },
  '0004_outbox_resend': {
    async up(db: Kysely<any>): Promise<void> {
      // A re-send accepted while an attempt is in flight: set by resend, cleared by the next claim, and it keeps the
      // event due when the attempt in flight settles (that attempt's own result would otherwise overwrite it).
      await db.schema.alterTable('outbox_events').addColumn('resent_at_ms', bigint).execute();
    },
  },
  '0005_idempotency_keys': {
    async up(db: Kysely<any>): Promise<void> {
      // Idempotency-Key: one row per app and key; the answer is stored as the exact JSON text first sent.
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('claim_id', 'text', (c) => c.notNull())
        .addColumn('http_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('lease_until_ms', bigint)
        .addColumn('created_at_ms', bigint, (c) => c.notNull())
        .addColumn('expires_at_ms', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['client_id', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_by_expiry').on('idempotency_keys').column('expires_at_ms').execute();
    },
  },
  '0006_setup_claims': {
    async up(db: Kysely<any>): Promise<void> {
      // One-time setup steps several processes may start at once (the demo merchant of `tunai start`): the first
      // to insert the row does it; a claim older than its lapse may be taken over (its process died half-way).
      await db.schema
        .createTable('setup_claims')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('claimed_at_ms', bigint, (c) => c.notNull())
        .execute();
    },
  },
  '0008_merchant_status': {
    async up(db: Kysely<any>): Promise<void> {
      // `tunai merchant deactivate/activate` used to write status INACTIVE/ACTIVE, but status is the merchant's
      // verification (RM: REVIEWING, VERIFIED…) and tunai creates every merchant VERIFIED; only that switch ever
      // changed it, so those two values can only mean VERIFIED. The switch is is_active, left as it is.
      await db.updateTable('merchants').set({ status: 'VERIFIED' }).where('status', 'in', ['ACTIVE', 'INACTIVE']).execute();
    },
  },
  '0009_sandbox_clock': {
    async up(db: Kysely<any>): Promise<void> {
      // The sandbox clock's offset lived in each process's memory: other processes on the database and a restarted
      // one ran at real time, so work scheduled in moved time waited for the clock to be moved there again.
      await db.schema
        .createTable('sandbox_clock')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('offset_ms', bigint, (c) => c.notNull())
        .execute();
      await db.insertInto('sandbox_clock').values({ name: 'offset', offset_ms: 0 }).execute();
    },
  },
  '0010_outbox_receiver': {
    async up(db: Kysely<any>): Promise<void> {
      // Sweeps pick due events at most webhookInFlightPerReceiverMax per receiver, which the query needs as a column.
      await db.schema.alterTable('outbox_events').addColumn('receiver', 'text', (c) => c.notNull().defaultTo('')).execute();
      // Page by page, one UPDATE by primary key per receiver of the page: notify URLs usually carry the order id, so
      // one UPDATE per distinct URL (on a column with no index) took minutes on a long outbox history.
      for (let afterId = ''; ; ) {
        const page = (await db.selectFrom('outbox_events').select(['id', 'target_url']).where('id', '>', afterId).orderBy('id').limit(1_000).execute()) as {
          id: string;
          target_url: string;
        }[];
        const last = page[page.length - 1];
        if (!last) break;
        const idsByReceiver = new Map<string, string[]>();
        for (const row of page) {
          const receiver = receiverOf(row.target_url);
          const ids = idsByReceiver.get(receiver);
          if (ids) ids.push(row.id);
          else idsByReceiver.set(receiver, [row.id]);
        }
        for (const [receiver, ids] of idsByReceiver) await db.updateTable('outbox_events').set({ receiver }).where('id', 'in', ids).execute();
        afterId = last.id;
      }
    },
  },
};

/**
 * 0007: a version the app and merchant cache (store/record-cache.ts) reads to know whether its rows may be stale. On
 * PostgreSQL, statement-level triggers add one in every transaction that writes client_apps or merchants, whoever
 * writes (a server, the CLI, an operator's SQL); the function names the table's own schema, so several tunai schemas
 * in one database keep their own counts. SQLite needs no trigger (PRAGMA data_version does this), but gets the table
 * so both dialects keep one schema.
 */
function recordVersions(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('record_versions')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', bigint, (c) => c.notNull())
        .execute();
      await db.insertInto('record_versions').values({ name: 'records', version: 0 }).execute();
      if (dialect !== 'postgres') return;
      await sql`
        create function tunai_count_record_change() returns trigger language plpgsql as $body$
        begin
          execute format('update %I.record_versions set version = version + 1 where name = ''records''', tg_table_schema);
          return null;
        end
        $body$`.execute(db);
      for (const table of ['client_apps', 'merchants']) {
        await sql`
          create trigger ${sql.id(`${table}_count_record_change`)}
          after insert or update or delete or truncate on ${sql.table(table)}
          for each statement execute function tunai_count_record_change()`.execute(db);
      }
    },
  };
}

export function migrationProvider(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  return {
    getMigrations: async () => ({ ...migrations, '0007_record_versions': recordVersions(dialect) }),
  };
}
