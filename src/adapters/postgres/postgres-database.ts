import { setTimeout as sleep } from 'node:timers/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../sql/database.ts';
import { migrateToLatest } from '../sql/migrate-to-latest.ts';
import { sharedDatabase, type SharedDatabase } from '../sql/shared-database.ts';
import type { TransactionRunner } from '../sql/sql-job-store.ts';

export type PostgresDatabase = SharedDatabase;

export interface PostgresOptions {
  /** `postgres://user@host:5432/db` (DATABASE_URL). */
  connectionString: string;
  /** Tables live in this schema (created if missing); tests use one per run. Default: the server's search_path. */
  schema?: string;
  /** Pool size per process. */
  maxConnections?: number;
}

// Serialization failures and deadlocks are the database asking us to run the transaction again;
// a unique violation between two racing first inserts (idempotency keys) resolves the same way.
const retryable = new Set(['40001', '40P01', '23505']);
const maxAttempts = 8;

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Opens (and migrates) the distributed store's database. Every store transaction runs at
 * SERIALIZABLE and is retried on serialization failures, which gives the same guarantee SQLite's
 * single writer does: a transaction's reads are still true when it commits. That is what keeps
 * "complete once, charge once" and "cancel refunds" exact when API nodes and workers on many
 * machines change the same job at the same moment.
 */
export async function openPostgresDatabase(opts: PostgresOptions): Promise<PostgresDatabase> {
  const schema = opts.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}`);
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.maxConnections ?? 10,
    // A dead server must fail a query, not hang the caller: the worker then stops claiming
    // until the pool can connect again.
    connectionTimeoutMillis: 5000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener that
  // would crash the process. The next query simply opens a new connection.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);

  const transaction: TransactionRunner = async (fn) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().setIsolationLevel('serializable').execute(fn);
      } catch (err) {
        const code = pgCode(err);
        if (code === undefined || !retryable.has(code) || attempt >= maxAttempts) throw err;
        await sleep(Math.random() * 10 * 2 ** attempt);
      }
    }
  };

  await migrateToLatest(db as Kysely<unknown>);

  return sharedDatabase(db, transaction);
}
