import { Migrator, type Kysely } from 'kysely';
import { migrationProvider } from './migrations.ts';

/**
 * Brings a database to the latest schema. Kysely's Migrator takes a lock (a table on SQLite,
 * an advisory lock on PostgreSQL), so several processes starting at once migrate only once.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${String(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
