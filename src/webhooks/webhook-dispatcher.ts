import type { JobRecord } from '../core/job.ts';
import type { JobStore, WebhookEventRecord } from '../core/ports/job-store.ts';
import type { GuardedFetcher } from '../net/guarded-fetcher.ts';
import { webhookHeaders } from './webhook-signature.ts';

/**
 * Delivers the webhook_events rows that job transitions create. It runs beside the API and the
 * worker and never inside a job's path: a slow or dead receiver only occupies one of a bounded
 * number of delivery slots, and a failed attempt is rescheduled in the store (so restarts and
 * other nodes pick it up), never retried in a loop here.
 */
export interface WebhookDispatcherOptions {
  store: JobStore;
  fetcher: GuardedFetcher;
  /** The wire form of a job (API.md job object) as sent in `data`. */
  render: (job: JobRecord) => unknown;
  /**
   * Delay before each retry; attempts = retryDelaysMs.length + 1. The default (30 s … 3 h,
   * 7 attempts over ~4.7 h) satisfies API.md's "at least 6 attempts over ≥ 1 h".
   */
  retryDelaysMs?: readonly number[];
  /** Deliveries in flight at once. */
  concurrency?: number;
  pollMs?: number;
  /** A receiver must answer within this (API.md: 10 s). */
  timeoutMs?: number;
  now?: () => Date;
  onError?: (err: unknown) => void;
}

export const defaultRetryDelaysMs: readonly number[] = [
  30_000, 120_000, 600_000, 1_800_000, 3_600_000, 10_800_000,
];

export class WebhookDispatcher {
  readonly #o: Required<Omit<WebhookDispatcherOptions, 'onError'>> &
    Pick<WebhookDispatcherOptions, 'onError'>;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #ticking: Promise<void> | undefined;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = {
      retryDelaysMs: defaultRetryDelaysMs,
      concurrency: 8,
      pollMs: 1000,
      timeoutMs: 10_000,
      now: () => new Date(),
      ...options,
    };
  }

  get maxAttempts(): number {
    return this.#o.retryDelaysMs.length + 1;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops polling and waits for deliveries in flight (each bounded by the timeout). */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#ticking;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Poll now instead of at the next interval (e.g. right after a transition). */
  nudge(): void {
    if (this.#running) this.#schedule(0);
  }

  /** Claims what is due and starts delivering it; resolves when the claim is done, not the sends. */
  async tick(): Promise<number> {
    const free = this.#o.concurrency - this.#inFlight.size;
    if (free <= 0) return 0;
    const events = await this.#o.store.claimDueWebhookEvents({
      limit: free,
      // The lock outlives the attempt, so another dispatcher never sends the same attempt twice.
      lockMs: this.#o.timeoutMs + 30_000,
      now: this.#o.now(),
    });
    for (const e of events) {
      const p = this.#deliver(e)
        .catch((err: unknown) => this.#o.onError?.(err))
        .finally(() => {
          this.#inFlight.delete(p);
          // A freed slot may have work waiting.
          this.nudge();
        });
      this.#inFlight.add(p);
    }
    return events.length;
  }

  /** Resolves when no delivery is in flight (tests). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (!this.#running || this.#ticking) return;
      this.#ticking = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.#o.onError?.(err))
        .finally(() => {
          this.#ticking = undefined;
          if (this.#running) this.#schedule(this.#o.pollMs);
        });
    }, ms);
    this.#timer.unref();
  }

  async #deliver(e: WebhookEventRecord): Promise<void> {
    const secret = await this.#o.store.getWebhookSecret(e.keyId);
    const at = this.#o.now();
    if (!secret) {
      // A delivery signed with an empty secret would be forgeable by anyone; give up on it
      // instead (the key was deleted or its secret lost), visibly, in webhook_events.
      await this.#o.store.recordWebhookAttempt({
        id: e.id,
        ok: false,
        statusCode: null,
        error: 'the API key has no webhook secret; delivery not attempted',
        nextAttemptAt: null,
        at,
      });
      return;
    }
    const body = JSON.stringify({ event: e.event, data: this.#o.render(e.job) });
    const headers = webhookHeaders({
      deliveryId: e.id,
      event: e.event,
      timestamp: Math.floor(at.getTime() / 1000),
      body,
      secret,
    });
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const r = await this.#o.fetcher.send(
        e.url,
        { method: 'POST', headers, body: Buffer.from(body) },
        {
          label: 'webhook_url',
          limits: { timeoutMs: this.#o.timeoutMs, idleTimeoutMs: this.#o.timeoutMs, maxBytes: 64 * 1024 },
        },
      );
      statusCode = r.status;
      if (r.status < 200 || r.status > 299) error = `receiver answered HTTP ${r.status}`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const attempts = e.attempts + 1;
    const ok = error === null;
    const delay = this.#o.retryDelaysMs[attempts - 1];
    await this.#o.store.recordWebhookAttempt({
      id: e.id,
      ok,
      statusCode,
      error,
      nextAttemptAt: ok || delay === undefined ? null : new Date(this.#o.now().getTime() + delay),
      at,
    });
  }
}
