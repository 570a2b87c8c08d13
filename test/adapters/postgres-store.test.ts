import { it } from 'node:test';
import { sql } from 'kysely';
import { openPostgresDatabase } from '../../src/adapters/postgres/postgres-database.ts';
import { postgresJobStore } from '../../src/adapters/postgres/postgres-job-store.ts';
import { ensurePostgres, postgresUrl, uniqueName } from '../helpers/services.ts';
import { jobStoreContract } from './job-store.contract.ts';

const skip = await ensurePostgres();
if (skip) it('JobStore contract: postgres', { skip }, () => {});
else
  // A fresh schema per store: each contract test starts from an empty, freshly migrated database.
  jobStoreContract('postgres', async (opts) => {
    const schema = uniqueName('alphacut_test');
    const database = await openPostgresDatabase({ connectionString: postgresUrl, schema });
    const store = postgresJobStore(database, opts);
    const drop = database.retain();
    return {
      store,
      cleanup: async () => {
        await store.close();
        await sql`drop schema ${sql.id(schema)} cascade`.execute(database.db);
        await drop();
      },
    };
  });
