import { SqlJobStore } from '../sql/sql-job-store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

/** The embedded JobStore: the shared SQL store over a SQLite file (see openSqliteDatabase). */
export function sqliteJobStore(
  database: SqliteDatabase,
  opts: { unlimitedCredits?: boolean } = {},
): SqlJobStore {
  return new SqlJobStore({
    db: database.db,
    transaction: database.transaction,
    lockRows: false,
    unlimitedCredits: opts.unlimitedCredits ?? false,
    close: database.retain(),
  });
}
