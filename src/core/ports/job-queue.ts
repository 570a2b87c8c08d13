/**
 * Hands job ids to workers with a lease. A claimed id stays invisible to other workers while its
 * lease is renewed; when a worker dies the lease runs out and the id is claimable again, so a
 * crash delays a job but never loses it. Implementations: the lease table in the embedded
 * database, BullMQ (distributed).
 */
export interface JobQueue {
  /** Idempotent: enqueueing an id already queued or claimed changes nothing. */
  enqueue(jobId: string, opts?: { delayMs?: number }): Promise<void>;
  /** Oldest claimable id (never claimed, released, or lease expired), now leased to `workerId`. */
  claim(workerId: string, leaseMs: number): Promise<string | null>;
  /** Extends the lease; false when `workerId` no longer holds it (expired and re-claimed, or acked). */
  heartbeat(jobId: string, workerId: string, leaseMs: number): Promise<boolean>;
  /** Gives the id back for any worker to claim (after `delayMs`); no-op unless `workerId` holds it. */
  release(jobId: string, workerId: string, opts?: { delayMs?: number }): Promise<void>;
  /** Done with the id (whatever the job's outcome); no-op unless `workerId` holds it. */
  ack(jobId: string, workerId: string): Promise<void>;
  /** Removes an id whatever its state (job deleted/canceled); false if it was not queued. */
  remove(jobId: string): Promise<boolean>;
  /** Whether the id is in the queue at all (waiting, delayed or leased). */
  has(jobId: string): Promise<boolean>;
  /** Makes expired leases claimable again; returns how many. Claim also honours expiry, this keeps stats true. */
  sweep(): Promise<number>;
  stats(): Promise<{ queued: number; active: number }>;
  close(): Promise<void>;
}
