import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobQueue } from '../../core/ports/job-queue.ts';

export interface BullmqQueueOptions {
  /** `redis://host:6379` (REDIS_URL). Redis must use `maxmemory-policy noeviction`. */
  redisUrl: string;
  /** Key prefix; tests use one per run. */
  prefix?: string;
  queueName?: string;
  /** Claims look for expired leases at most this often (ms); 0 = on every claim. */
  expiryCheckMs?: number;
}

// Compare-and-delete of a lease we took ourselves; never touches a lock another worker now holds.
const releaseOwnLock = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

function isLockError(err: unknown): boolean {
  return err instanceof Error && /lock|not in the active state|Missing key/i.test(err.message);
}

/**
 * JobQueue on BullMQ (Redis), used manually: `claim` is Worker#getNextJob with the worker id as
 * the lock token, a heartbeat extends that lock, `ack` completes (and removes) the job. BullMQ's
 * own stalled-job checker is off: it needs two passes and a fixed interval, while the port
 * promises that a lease is claimable as soon as it has expired. Instead a claim (at most every
 * `expiryCheckMs`) and `sweep` take every active job whose lock key has expired — atomically,
 * by setting that lock themselves with NX — and move it back to wait through BullMQ's own
 * token-checked `moveToWait`, so a racing claim or heartbeat can never be overtaken.
 */
export class BullmqJobQueue implements JobQueue {
  readonly #queue: Queue;
  readonly #worker: Worker;
  readonly #redis: Redis;
  readonly #expiryCheckMs: number;
  readonly #sweeperToken = `sweeper-${process.pid}-${Math.random().toString(36).slice(2)}`;
  #lastExpiryCheck = 0;

  private constructor(queue: Queue, worker: Worker, redis: Redis, expiryCheckMs: number) {
    this.#queue = queue;
    this.#worker = worker;
    this.#redis = redis;
    this.#expiryCheckMs = expiryCheckMs;
  }

  static async open(opts: BullmqQueueOptions): Promise<BullmqJobQueue> {
    const name = opts.queueName ?? 'jobs';
    const base = { connection: { url: opts.redisUrl }, prefix: opts.prefix ?? 'alphacut' };
    const queue = new Queue(name, base);
    const worker = new Worker(name, null, {
      ...base,
      autorun: false,
      skipStalledCheck: true,
      skipLockRenewal: true,
      // Overwritten by the claim's own lease right after the fetch.
      lockDuration: 30_000,
    });
    // Without listeners a lost connection would be an unhandled 'error' event; BullMQ and
    // ioredis reconnect by themselves and the calls in flight reject, which callers handle.
    queue.on('error', () => {});
    worker.on('error', () => {});
    const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false });
    redis.on('error', () => {});
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    return new BullmqJobQueue(queue, worker, redis, opts.expiryCheckMs ?? 1000);
  }

  #lockKey(jobId: string): string {
    return `${this.#queue.toKey(jobId)}:lock`;
  }

  async #owner(jobId: string): Promise<string | null> {
    return this.#redis.get(this.#lockKey(jobId));
  }

  async enqueue(jobId: string, opts: { delayMs?: number } = {}): Promise<void> {
    // A job id that exists in any state makes add a no-op: enqueue is idempotent for free.
    await this.#queue.add(
      'job',
      {},
      { jobId, delay: opts.delayMs ?? 0, removeOnComplete: true, removeOnFail: true },
    );
  }

  async claim(workerId: string, leaseMs: number): Promise<string | null> {
    if (Date.now() - this.#lastExpiryCheck >= this.#expiryCheckMs) {
      this.#lastExpiryCheck = Date.now();
      await this.sweep();
    }
    const job = await this.#worker.getNextJob(workerId, { block: false });
    if (!job?.id) return null;
    await job.extendLock(workerId, leaseMs);
    return job.id;
  }

  async heartbeat(jobId: string, workerId: string, leaseMs: number): Promise<boolean> {
    const job = await this.#queue.getJob(jobId);
    if (!job) return false;
    return (await job.extendLock(workerId, leaseMs)) === 1;
  }

  async release(jobId: string, workerId: string, opts: { delayMs?: number } = {}): Promise<void> {
    if ((await this.#owner(jobId)) !== workerId) return;
    const job = await this.#queue.getJob(jobId);
    if (!job) return;
    try {
      if (opts.delayMs && opts.delayMs > 0) await job.moveToDelayed(Date.now() + opts.delayMs, workerId);
      else await job.moveToWait(workerId);
    } catch (err) {
      // Lost the lease between the check and the move: someone else owns it now.
      if (!isLockError(err)) throw err;
    }
  }

  async ack(jobId: string, workerId: string): Promise<void> {
    if ((await this.#owner(jobId)) !== workerId) return;
    const job = await this.#queue.getJob(jobId);
    if (!job) return;
    try {
      await job.moveToCompleted(null, workerId, false);
    } catch (err) {
      if (!isLockError(err)) throw err;
    }
  }

  async remove(jobId: string): Promise<boolean> {
    // A job a worker holds is locked and stays: that worker acks it when it sees the job's new
    // state (canceled or deleted) on its next heartbeat.
    // BullMQ's remove also answers 1 for an id it does not know, hence the look first.
    if (!(await this.#queue.getJob(jobId))) return false;
    return (await this.#queue.remove(jobId)) === 1;
  }

  async has(jobId: string): Promise<boolean> {
    // Completed entries are removed on ack, so any job hash left is a live entry.
    return (await this.#queue.getJob(jobId)) !== undefined;
  }

  async sweep(): Promise<number> {
    const active = await this.#queue.getActive();
    const ids = active.map((j) => j.id).filter((id): id is string => typeof id === 'string');
    if (ids.length === 0) return 0;
    const exists = await Promise.all(ids.map((id) => this.#redis.exists(this.#lockKey(id))));
    let moved = 0;
    for (const [i, id] of ids.entries()) {
      if (exists[i] !== 0) continue;
      // Taking the expired lease ourselves is the atomic step: only one sweeper wins, and a
      // heartbeat of the old owner now fails, as it must.
      const took = await this.#redis.set(this.#lockKey(id), this.#sweeperToken, 'PX', 10_000, 'NX');
      if (took !== 'OK') continue;
      const job = await this.#queue.getJob(id);
      if (job && (await job.getState()) === 'active') {
        await job.moveToWait(this.#sweeperToken);
        moved++;
      } else await this.#redis.eval(releaseOwnLock, 1, this.#lockKey(id), this.#sweeperToken);
    }
    return moved;
  }

  async stats(): Promise<{ queued: number; active: number }> {
    const c = await this.#queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
    return {
      queued: (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
    };
  }

  async close(): Promise<void> {
    await this.#worker.close();
    await this.#queue.close();
    this.#redis.disconnect();
  }
}
