import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { LeaseJobQueue } from './lease-job-queue.ts';

/** The embedded queue in the same SQLite file as the store. */
export function sqliteLeaseQueue(database: SqliteDatabase): LeaseJobQueue {
  return new LeaseJobQueue(database.db, database.retain());
}
