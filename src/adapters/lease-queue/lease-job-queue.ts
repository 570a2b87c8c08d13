import type { ExpressionBuilder, Kysely } from 'kysely';
import type { JobQueue } from '../../core/ports/job-queue.ts';
import type { Database } from '../sql/database.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The embedded queue: a lease table in the service database. Claiming is one UPDATE whose WHERE
 * re-checks claimability, so two workers (threads or processes) racing for the same row cannot
 * both win; a dead worker's row becomes claimable again when its lease time passes.
 */
export class LeaseJobQueue implements JobQueue {
  readonly #db: Kysely<Database>;
  readonly #close: () => Promise<void>;

  constructor(db: Kysely<Database>, close: () => Promise<void> = async () => {}) {
    this.#db = db;
    this.#close = close;
  }

  async enqueue(jobId: string, opts: { delayMs?: number } = {}): Promise<void> {
    const now = Date.now();
    await this.#db
      .insertInto('job_queue')
      .values({
        job_id: jobId,
        enqueued_at: iso(now),
        available_at: iso(now + (opts.delayMs ?? 0)),
        lease_owner: null,
        lease_expires_at: null,
        claims: 0,
      })
      .onConflict((oc) => oc.column('job_id').doNothing())
      .execute();
  }

  async claim(workerId: string, leaseMs: number): Promise<string | null> {
    const now = iso(Date.now());
    const claimable = (eb: ExpressionBuilder<Database, 'job_queue'>) =>
      eb.or([
        eb.and([eb('lease_owner', 'is', null), eb('available_at', '<=', now)]),
        eb.and([eb('lease_owner', 'is not', null), eb('lease_expires_at', '<=', now)]),
      ]);
    const row = await this.#db
      .updateTable('job_queue')
      .set((eb) => ({
        lease_owner: workerId,
        lease_expires_at: iso(Date.now() + leaseMs),
        claims: eb('claims', '+', 1),
      }))
      .where('job_id', '=', (eb) =>
        eb
          .selectFrom('job_queue')
          .select('job_id')
          .where(claimable)
          .orderBy('enqueued_at')
          .orderBy('job_id')
          .limit(1),
      )
      .where(claimable)
      .returning('job_id')
      .executeTakeFirst();
    return row?.job_id ?? null;
  }

  async heartbeat(jobId: string, workerId: string, leaseMs: number): Promise<boolean> {
    const r = await this.#db
      .updateTable('job_queue')
      .set({ lease_expires_at: iso(Date.now() + leaseMs) })
      .where('job_id', '=', jobId)
      .where('lease_owner', '=', workerId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async release(jobId: string, workerId: string, opts: { delayMs?: number } = {}): Promise<void> {
    await this.#db
      .updateTable('job_queue')
      .set({ lease_owner: null, lease_expires_at: null, available_at: iso(Date.now() + (opts.delayMs ?? 0)) })
      .where('job_id', '=', jobId)
      .where('lease_owner', '=', workerId)
      .execute();
  }

  async ack(jobId: string, workerId: string): Promise<void> {
    await this.#db
      .deleteFrom('job_queue')
      .where('job_id', '=', jobId)
      .where('lease_owner', '=', workerId)
      .execute();
  }

  async remove(jobId: string): Promise<boolean> {
    const r = await this.#db.deleteFrom('job_queue').where('job_id', '=', jobId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async has(jobId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('job_queue')
      .select('job_id')
      .where('job_id', '=', jobId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async sweep(): Promise<number> {
    const now = iso(Date.now());
    const r = await this.#db
      .updateTable('job_queue')
      .set({ lease_owner: null, lease_expires_at: null, available_at: now })
      .where('lease_owner', 'is not', null)
      .where('lease_expires_at', '<=', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async stats(): Promise<{ queued: number; active: number }> {
    const now = iso(Date.now());
    const r = await this.#db
      .selectFrom('job_queue')
      .select((eb) => [
        eb.fn
          .sum<number | string | null>(
            eb
              .case()
              .when(eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<=', now)]))
              .then(1)
              .else(0)
              .end(),
          )
          .as('queued'),
        eb.fn.countAll<number | string>().as('all'),
      ])
      .executeTakeFirstOrThrow();
    const queued = Number(r.queued ?? 0);
    return { queued, active: Number(r.all) - queued };
  }

  close(): Promise<void> {
    return this.#close();
  }
}
