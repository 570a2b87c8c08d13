import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from '../sql/database.ts';
import { migrateToLatest } from '../sql/migrate-to-latest.ts';
import { sharedDatabase, type SharedDatabase } from '../sql/shared-database.ts';
import type { TransactionRunner } from '../sql/sql-job-store.ts';

export type SqliteDatabase = SharedDatabase;

/**
 * Opens (creating and migrating) the embedded database. Several processes may share the file:
 * WAL lets readers run beside the one writer, busy_timeout makes a writer wait for the lock
 * instead of failing, and every transaction starts with BEGIN IMMEDIATE so it takes the write
 * lock up front; a deferred BEGIN that upgrades later fails with SQLITE_BUSY without waiting.
 */
export async function openSqliteDatabase(
  file: string,
  opts: { busyTimeoutMs?: number } = {},
): Promise<SqliteDatabase> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  raw.pragma(`busy_timeout = ${Math.floor(opts.busyTimeoutMs ?? 10_000)}`);
  raw.pragma('journal_mode = WAL');
  // NORMAL in WAL mode loses at most the last transactions on power loss, never consistency.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });

  const transaction: TransactionRunner = (fn) =>
    db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        if (raw.inTransaction) await sql`rollback`.execute(conn);
        throw err;
      }
    });

  await migrateWithRetry(db);

  return sharedDatabase(db, transaction);
}

// Kysely's migrator opens a deferred transaction; processes starting together on one file can
// collide on it with SQLITE_BUSY, and a retry then finds the schema already migrated.
async function migrateWithRetry(db: Kysely<Database>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await migrateToLatest(db as Kysely<unknown>);
      return;
    } catch (err) {
      const busy =
        err instanceof Error &&
        /SQLITE_BUSY|database is locked/i.test(`${(err as { code?: string }).code} ${err.message}`);
      if (!busy || i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
}
