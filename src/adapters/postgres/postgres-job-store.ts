import { SqlJobStore } from '../sql/sql-job-store.ts';
import type { PostgresDatabase } from './postgres-database.ts';

/** The distributed JobStore: the shared SQL store over PostgreSQL (see openPostgresDatabase). */
export function postgresJobStore(
  database: PostgresDatabase,
  opts: { unlimitedCredits?: boolean } = {},
): SqlJobStore {
  return new SqlJobStore({
    db: database.db,
    transaction: database.transaction,
    lockRows: true,
    unlimitedCredits: opts.unlimitedCredits ?? false,
    close: database.retain(),
  });
}
