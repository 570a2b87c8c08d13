import { sqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sqliteLeaseQueue } from '../../src/adapters/lease-queue/sqlite-lease-queue.ts';
import { tempDir } from '../helpers/media.ts';
import { jobQueueContract } from './job-queue.contract.ts';
import { jobStoreContract } from './job-store.contract.ts';

// A file rather than :memory: so WAL, busy_timeout and BEGIN IMMEDIATE are what is tested.
jobStoreContract('sqlite', async (opts) => {
  const { dir, cleanup } = await tempDir('alphacut-store-');
  const database = await openSqliteDatabase(`${dir}/alphacut.db`);
  const store = sqliteJobStore(database, opts);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await cleanup();
    },
  };
});

jobQueueContract('sqlite lease table', async () => {
  const { dir, cleanup } = await tempDir('alphacut-queue-');
  const database = await openSqliteDatabase(`${dir}/alphacut.db`);
  const queue = sqliteLeaseQueue(database);
  return {
    queue,
    cleanup: async () => {
      await queue.close();
      await cleanup();
    },
  };
});
