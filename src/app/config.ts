import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultProbeLimits, type ProbeLimits } from '../pipeline/probe.ts';
import { resolveDataDir } from './paths.ts';

/**
 * Everything a deployment can set, from environment variables (ALPHACUT_*) with command-line
 * flags on top. Secrets that must survive restarts but need no operator (the link-signing key)
 * are generated once into the data dir.
 */
export type AppRole = 'all' | 'api' | 'worker';

export interface AppConfig {
  /** `all`: API + worker in one process (`serve`); `api`: stateless API node; `worker`: worker only. */
  role: AppRole;
  /** PostgreSQL (`postgres://…`) instead of `<dataDir>/alphacut.db`: the distributed store. */
  databaseUrl: string | undefined;
  /** Redis (`redis://…`): BullMQ queue and shared rate limits instead of the embedded lease table. */
  redisUrl: string | undefined;
  /** `s3://bucket[/prefix]` (S3 settings from the AWS_* variables) or a directory; default `<dataDir>/blobs`. */
  blobUrl: string | undefined;
  /** Key prefix of BullMQ and the rate limiter in Redis (several deployments can share one Redis). */
  redisPrefix: string;
  port: number;
  host: string;
  dataDir: string;
  adminToken: string | undefined;
  unlimitedCredits: boolean;
  uploadMaxBytes: number;
  fetchMaxBytes: number;
  rateLimit: { limit: number; windowMs: number };
  maxActiveJobs: number;
  /** CIDRs and host names outbound fetches may reach although internal (tests: 127.0.0.1/32). */
  ssrfAllow: string;
  publicBaseUrl: string | undefined;
  fileUrlTtlSeconds: number;
  signingSecret: string | undefined;
  keyPepper: string | undefined;
  webhookRetryDelaysMs: number[] | undefined;
  workerConcurrency: number;
  /** How long a worker's claim survives without a heartbeat: a crashed worker's job waits this long. */
  workerLeaseMs: number;
  /** Run the in-process worker (`serve` = api + worker). */
  worker: boolean;
  /**
   * Long jobs are split at keyframes into segments of about `segmentSeconds` that several
   * workers render at once, then joined; undefined = never split.
   */
  split: { minSeconds: number; segmentSeconds: number } | undefined;
  defaultKeyCredits: number;
  /** Credits of the development key printed on first run. */
  devKeyCredits: number;
  probeLimits: ProbeLimits;
  logLevel: string;
}

export interface ConfigFlags {
  role?: AppRole;
  port?: number;
  host?: string;
  dataDir?: string;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a non-negative number (got ${JSON.stringify(v)})`);
  return Math.floor(n);
}

function bool(env: Env, name: string): boolean {
  return /^(1|true|yes|on)$/i.test(env[name] ?? '');
}

/**
 * ALPHACUT_SPLIT_MIN_SECONDS (0 = never). Unset, splitting is on (120 s) only where more than one
 * job slot can take segments at once: a shared queue (REDIS_URL) or a concurrency above 1. One
 * slot alone would render the segments one after another and only add the join's work.
 */
function splitConfig(env: Env, concurrency: number): AppConfig['split'] {
  const shared = Boolean(env.REDIS_URL) || concurrency > 1;
  const min = int(env, 'ALPHACUT_SPLIT_MIN_SECONDS', shared ? 120 : 0);
  if (min === 0) return undefined;
  return { minSeconds: min, segmentSeconds: Math.max(1, int(env, 'ALPHACUT_SEGMENT_SECONDS', 60)) };
}

export function loadConfig(flags: ConfigFlags = {}, env: Env = process.env): AppConfig {
  const retry = env.ALPHACUT_WEBHOOK_RETRY_DELAYS_MS?.trim();
  return {
    role: flags.role ?? 'all',
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    blobUrl: env.BLOB_URL || undefined,
    redisPrefix: env.ALPHACUT_REDIS_PREFIX || 'alphacut',
    port: flags.port ?? int(env, 'ALPHACUT_PORT', int(env, 'PORT', 8080)),
    host: flags.host ?? env.ALPHACUT_HOST ?? '0.0.0.0',
    dataDir: resolveDataDir(flags.dataDir),
    adminToken: env.ALPHACUT_ADMIN_TOKEN || undefined,
    unlimitedCredits: bool(env, 'ALPHACUT_UNLIMITED_CREDITS'),
    uploadMaxBytes: int(env, 'ALPHACUT_UPLOAD_MAX_BYTES', 500 * 1024 * 1024),
    fetchMaxBytes: int(env, 'ALPHACUT_FETCH_MAX_BYTES', 500 * 1024 * 1024),
    rateLimit: {
      limit: int(env, 'ALPHACUT_RATE_LIMIT', 600),
      windowMs: int(env, 'ALPHACUT_RATE_WINDOW_MS', 60_000),
    },
    maxActiveJobs: int(env, 'ALPHACUT_MAX_ACTIVE_JOBS', 5),
    ssrfAllow: env.ALPHACUT_SSRF_ALLOW ?? '',
    publicBaseUrl: env.ALPHACUT_PUBLIC_URL?.replace(/\/+$/, '') || undefined,
    fileUrlTtlSeconds: int(env, 'ALPHACUT_FILE_URL_TTL', 86_400),
    signingSecret: env.ALPHACUT_SIGNING_SECRET || undefined,
    keyPepper: env.ALPHACUT_KEY_PEPPER || undefined,
    webhookRetryDelaysMs: retry ? retry.split(',').map((s) => Number(s.trim())) : undefined,
    workerConcurrency: Math.max(1, int(env, 'ALPHACUT_WORKER_CONCURRENCY', 1)),
    workerLeaseMs: Math.max(1000, int(env, 'ALPHACUT_WORKER_LEASE_MS', 30_000)),
    worker: !bool(env, 'ALPHACUT_NO_WORKER'),
    split: splitConfig(env, Math.max(1, int(env, 'ALPHACUT_WORKER_CONCURRENCY', 1))),
    defaultKeyCredits: int(env, 'ALPHACUT_DEFAULT_KEY_CREDITS', 0),
    devKeyCredits: int(env, 'ALPHACUT_DEV_KEY_CREDITS', 1000),
    probeLimits: {
      ...defaultProbeLimits,
      maxDurationSeconds: int(env, 'ALPHACUT_MAX_DURATION_SECONDS', defaultProbeLimits.maxDurationSeconds),
    },
    logLevel: env.ALPHACUT_LOG_LEVEL ?? 'info',
  };
}

interface PersistedState {
  signingSecret?: string;
  /** Set once the first-run development key was created and printed; never printed again. */
  devKeyId?: string;
}

export function stateFile(dataDir: string): string {
  return join(dataDir, 'state.json');
}

export async function readState(dataDir: string): Promise<PersistedState> {
  try {
    return JSON.parse(await readFile(stateFile(dataDir), 'utf8')) as PersistedState;
  } catch {
    return {};
  }
}

export async function writeState(dataDir: string, state: PersistedState): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** The configured link-signing secret, or one generated on first start and kept in the data dir. */
export async function signingSecretFor(config: AppConfig): Promise<string> {
  if (config.signingSecret) return config.signingSecret;
  // Every API node must sign and verify links with the same key; one generated per machine
  // would make a link from one node a 404 on the next.
  if (config.databaseUrl)
    throw new Error(
      'ALPHACUT_SIGNING_SECRET must be set when DATABASE_URL is (all API nodes share it); e.g. `openssl rand -base64 32`.',
    );
  const state = await readState(config.dataDir);
  if (state.signingSecret) return state.signingSecret;
  const secret = randomBytes(32).toString('base64url');
  await writeState(config.dataDir, { ...state, signingSecret: secret });
  return secret;
}
