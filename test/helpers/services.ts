import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * The real services of the distributed mode for tests: PostgreSQL and Redis on loopback (started
 * with the machine's own commands when they are down) and an S3-compatible OpenStack Swift
 * started per test process in a temp dir (scripts/s3-swift.sh). Each returns a skip reason
 * instead of a connection only when the service truly cannot be started here.
 */
const run = promisify(execFile);
const swiftScript = fileURLToPath(new URL('../../scripts/s3-swift.sh', import.meta.url));

export const postgresUrl =
  process.env.ALPHACUT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.ALPHACUT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A name unique to this run, safe as a schema, bucket or key prefix: lower case, digits, '-'→'_'. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

async function postgresUp(): Promise<boolean> {
  const c = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

function redisPing(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once('error', () => done(false));
    s.connect(Number(u.port || 6379), u.hostname, () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

async function waitUntil(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await probe()) return true;
    await sleep(250);
  }
  return probe();
}

async function tryRun(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    await run(cmd, args, { timeout: 30_000 });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

let pgReady: Promise<string | false> | undefined;
/** false when PostgreSQL is reachable at `postgresUrl`, else why it could not be started. */
export function ensurePostgres(): Promise<string | false> {
  pgReady ??= (async () => {
    if (await postgresUp()) return false;
    let version: string | undefined;
    try {
      version = readdirSync('/etc/postgresql')[0];
    } catch {
      // not installed
    }
    if (!version) return `PostgreSQL is not reachable at ${postgresUrl} and not installed here`;
    const err = await tryRun('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
    if (await waitUntil(postgresUp, 15_000)) return false;
    return `PostgreSQL is not reachable at ${postgresUrl} and could not be started: ${err ?? 'timed out'}`;
  })();
  return pgReady;
}

let redisReady: Promise<string | false> | undefined;
/** false when Redis answers at `redisUrl`, else why it could not be started. */
export function ensureRedis(): Promise<string | false> {
  redisReady ??= (async () => {
    if (await redisPing(redisUrl)) return false;
    const err = await tryRun('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '-::1',
      '--port',
      '6379',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      '/var/lib/redis',
      '--logfile',
      '/var/log/redis/ci.log',
    ]);
    if (await waitUntil(() => redisPing(redisUrl), 10_000)) return false;
    return `Redis is not reachable at ${redisUrl} and could not be started: ${err ?? 'timed out'}`;
  })();
  return redisReady;
}

/** Deletes every Redis key under `prefix` (a test's BullMQ prefix or rate-limit namespace). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export interface S3Server {
  /** The standard AWS variables the app reads (AWS_ENDPOINT_URL, AWS_REGION, keys). */
  env: Record<string, string>;
  endpoint: string;
  stop(): Promise<void>;
}

let swift: Promise<S3Server | string> | undefined;
/** One Swift per test process, stopped when the process exits; a string is the skip reason. */
export function startS3(): Promise<S3Server | string> {
  swift ??= (async () => {
    const dir = join(tmpdir(), uniqueName('alphacut-swift'));
    const proxy = await freePort();
    let base = 0;
    for (let i = 0; i < 50 && base === 0; i++) {
      const b = 20_000 + Math.floor(Math.random() * 30_000);
      if ((await portFree(b)) && (await portFree(b + 1)) && (await portFree(b + 2))) base = b;
    }
    let out: string;
    try {
      ({ stdout: out } = await run('bash', [swiftScript, 'start', dir, String(proxy), String(base)], {
        timeout: 60_000,
      }));
    } catch (err) {
      return `S3 (OpenStack Swift) could not be started: ${err instanceof Error ? err.message : String(err)}`;
    }
    const env: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) env[m[1]] = m[2];
    }
    let stopped = false;
    // Synchronous: it also runs from the process 'exit' handler.
    const stopSync = (): void => {
      if (stopped) return;
      stopped = true;
      for (const n of ['proxy', 'object', 'container', 'account'])
        try {
          process.kill(Number(readFileSync(join(dir, 'run', `${n}.pid`), 'utf8')), 'SIGTERM');
        } catch {
          // already gone
        }
      rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', stopSync);
    return {
      env,
      endpoint: env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${proxy}`,
      stop: async () => stopSync(),
    };
  })();
  return swift;
}
