import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * The one migration list for SQLite and PostgreSQL. Only portable DDL here: text, integer,
 * bigint, double precision; no autoincrement (ids are uuidv7 text), no dialect functions.
 * Append new migrations; never edit one that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '0001_service': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text')
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('webhook_secret', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('credit_ledger')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('job_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('amount', 'integer', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addCheckConstraint('credit_ledger_amount_nonneg', sql`amount >= 0`)
        .execute();
      await db.schema
        .createIndex('credit_ledger_key')
        .on('credit_ledger')
        .columns(['key_id', 'kind'])
        .execute();
      await db.schema.createIndex('credit_ledger_job').on('credit_ledger').column('job_id').execute();

      await db.schema
        .createTable('uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('blob_key', 'text', (c) => c.notNull())
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('probe', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('video_url', 'text', (c) => c.notNull())
        .addColumn('input_blob', 'text')
        .addColumn('background_blob', 'text')
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('output_format', 'text', (c) => c.notNull())
        .addColumn('webhook_url', 'text')
        .addColumn('metadata', 'text')
        .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('frames_done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('frames_total', 'integer')
        .addColumn('eta_seconds', 'double precision')
        .addColumn('width', 'integer')
        .addColumn('height', 'integer')
        .addColumn('fps', 'double precision')
        .addColumn('duration_seconds', 'double precision')
        .addColumn('output_blob', 'text')
        .addColumn('mask_blob', 'text')
        .addColumn('error', 'text')
        .addColumn('error_code', 'text')
        .addColumn('credits_reserved', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('credits_used', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('billing_status', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('worker_id', 'text')
        .addColumn('run_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('completed_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_key_created').on('jobs').columns(['key_id', 'created_at']).execute();
      await db.schema.createIndex('jobs_key_status').on('jobs').columns(['key_id', 'status']).execute();

      await db.schema
        .createTable('job_transitions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('from_status', 'text')
        .addColumn('to_status', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('job_transitions_job').on('job_transitions').column('job_id').execute();

      await db.schema
        .createTable('webhook_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_attempt_at', 'text')
        .addColumn('next_attempt_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_events_due')
        .on('webhook_events')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema.createIndex('webhook_events_job').on('webhook_events').column('job_id').execute();

      await db.schema
        .createTable('usage_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('status_code', 'integer')
        .addColumn('seconds', 'double precision')
        .addColumn('credits', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('usage_events_key_time')
        .on('usage_events')
        .columns(['key_id', 'created_at'])
        .execute();

      await db.schema
        .createTable('idempotency_keys')
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('idem_key', 'text', (c) => c.notNull())
        .addColumn('body_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['key_id', 'idem_key'])
        .execute();

      await db.schema
        .createTable('job_queue')
        .addColumn('job_id', 'text', (c) => c.primaryKey())
        .addColumn('enqueued_at', 'text', (c) => c.notNull())
        .addColumn('available_at', 'text', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'text')
        .addColumn('claims', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('job_queue_claimable').on('job_queue').columns(['enqueued_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of [
        'job_queue',
        'idempotency_keys',
        'usage_events',
        'webhook_events',
        'job_transitions',
        'jobs',
        'uploads',
        'credit_ledger',
        'api_keys',
      ])
        await db.schema.dropTable(t).ifExists().execute();
    },
  },
  '0002_job_segments': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('job_segments')
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('start_frame', 'integer', (c) => c.notNull())
        .addColumn('end_frame', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('worker_id', 'text')
        .addColumn('frames_done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('blob_prefix', 'text')
        .addColumn('claims', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('job_segments_pk', ['job_id', 'idx'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('job_segments').ifExists().execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
