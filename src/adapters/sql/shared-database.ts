import type { Kysely } from 'kysely';
import type { Database } from './database.ts';
import type { TransactionRunner } from './sql-job-store.ts';

/** An open, migrated database that several adapters (store, queue, rate limiter) use together. */
export interface SharedDatabase {
  db: Kysely<Database>;
  transaction: TransactionRunner;
  /** Each user retains the database and releases it; the last release closes it. */
  retain(): () => Promise<void>;
}

/** Reference-counts the users of `db` so the one that leaves last closes it, exactly once. */
export function sharedDatabase(db: Kysely<Database>, transaction: TransactionRunner): SharedDatabase {
  let users = 0;
  let closed = false;
  return {
    db,
    transaction,
    retain() {
      users++;
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        if (--users === 0 && !closed) {
          closed = true;
          await db.destroy();
        }
      };
    },
  };
}
