import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { S3Client, ListObjectsV2Command, DeleteObjectCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { s3ClientConfigFromEnv } from '../../src/adapters/s3/s3-blob-store.ts';
import { projectRoot, resolveDataDir } from '../../src/app/paths.ts';
import { tempDir } from './media.ts';
import {
  deleteRedisKeys,
  ensurePostgres,
  ensureRedis,
  postgresUrl,
  redisUrl,
  startS3,
  uniqueName,
} from './services.ts';

export const clusterAdminToken = 'cluster-admin-token';
/** What clients (and output links) see: a load balancer in front of the API nodes. */
export const publicUrl = 'http://alphacut.lb.invalid';

export interface Node {
  child: ChildProcess;
  /** The node's own address (API nodes); '' for workers. */
  url: string;
  output(): string;
}

export interface Cluster {
  env: Record<string, string>;
  bucket: string;
  s3: S3Client;
  db: pg.Pool;
  apis: Node[];
  workers: Node[];
  startApi(): Promise<Node>;
  startWorker(extraEnv?: Record<string, string>): Promise<Node>;
  /** Every S3 key in the deployment's bucket. */
  objects(): Promise<string[]>;
  close(): Promise<void>;
}

/** A skip reason when a service cannot be started, else undefined. */
/** The job's credit ledger as `kind:amount`, in kind order (what every billing check compares). */
export async function ledgerOf(c: Pick<Cluster, 'db'>, jobId: string): Promise<string[]> {
  const r = await c.db.query<{ kind: string; amount: number }>(
    'select kind, amount from credit_ledger where job_id = $1 order by kind',
    [jobId],
  );
  return r.rows.map((row) => `${row.kind}:${row.amount}`);
}

export async function clusterUnavailable(): Promise<string | undefined> {
  const s3 = await startS3();
  return (await ensurePostgres()) || (await ensureRedis()) || (typeof s3 === 'string' ? s3 : undefined);
}

function startNode(args: string[], env: Record<string, string>, ready: RegExp): Promise<Node> {
  // Own process group, so kill -9 takes the node's ffmpeg and inference children with it.
  const child = spawn(process.execPath, [join(projectRoot, 'bin/alphacut.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out = (out + d.toString()).slice(-20_000);
      const m = ready.exec(out);
      if (m) resolve({ child, url: m[1] ?? '', output: () => out });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, sig) =>
      reject(new Error(`alphacut ${args.join(' ')} exited ${code ?? sig}:\n${out}`)),
    );
    setTimeout(
      () => reject(new Error(`alphacut ${args.join(' ')} did not start in 60 s:\n${out}`)),
      60_000,
    ).unref();
  });
}

/**
 * A distributed deployment on this machine: a fresh PostgreSQL database, a Redis key prefix and
 * an S3 bucket of its own, API nodes (`serve --role api`, each with an empty data dir of its
 * own) and worker processes (`alphacut worker`, sharing the project's model cache).
 */
export async function startCluster(o: { workerEnv?: Record<string, string> } = {}): Promise<Cluster> {
  const s3 = await startS3();
  if (typeof s3 === 'string') throw new Error(s3);
  const dbName = uniqueName('alphacut_e2e');
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const dbUrl = new URL(postgresUrl);
  dbUrl.pathname = `/${dbName}`;
  const prefix = uniqueName('alphacut_e2e');
  const bucket = uniqueName('alphacut-e2e').replaceAll('_', '-');
  const { dir, cleanup } = await tempDir('alphacut-cluster-');
  const env: Record<string, string> = {
    ...s3.env,
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: redisUrl,
    ALPHACUT_REDIS_PREFIX: prefix,
    BLOB_URL: `s3://${bucket}/deploy`,
    ALPHACUT_SIGNING_SECRET: 'cluster-signing-secret',
    ALPHACUT_ADMIN_TOKEN: clusterAdminToken,
    ALPHACUT_PUBLIC_URL: publicUrl,
    ALPHACUT_SSRF_ALLOW: '127.0.0.1/32',
    ALPHACUT_LOG_LEVEL: 'warn',
  };
  const s3c = new S3Client(s3ClientConfigFromEnv(s3.env));
  const db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  const apis: Node[] = [];
  const workers: Node[] = [];
  let n = 0;
  const cluster: Cluster = {
    env,
    bucket,
    s3: s3c,
    db,
    apis,
    workers,
    async startApi() {
      const node = await startNode(
        [
          '--data-dir',
          join(dir, `api-${n++}`),
          'serve',
          '--role',
          'api',
          '--port',
          '0',
          '--host',
          '127.0.0.1',
        ],
        env,
        /listening on (http:\/\/\S+)\n[^]*API docs: .*\n/,
      );
      // The banner prints the public URL; the node's own address is in the log line of Fastify.
      apis.push(node);
      return node;
    },
    async startWorker(extraEnv = {}) {
      const node = await startNode(
        ['--data-dir', resolveDataDir(), 'worker'],
        { ...env, ...o.workerEnv, ...extraEnv },
        /alphacut worker running/,
      );
      workers.push(node);
      return node;
    },
    async objects() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3c.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const c of page.Contents ?? []) if (c.Key) keys.push(c.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async close() {
      for (const node of [...apis, ...workers])
        if (node.child.exitCode === null && node.child.signalCode === null && node.child.pid) {
          process.kill(-node.child.pid, 'SIGKILL');
          await once(node.child, 'exit');
        }
      await db.end();
      for (const k of await cluster.objects().catch(() => []))
        await s3c.send(new DeleteObjectCommand({ Bucket: bucket, Key: k })).catch(() => {});
      await s3c.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
      s3c.destroy();
      await deleteRedisKeys(redisUrl, prefix);
      const a = new pg.Client({ connectionString: postgresUrl });
      await a.connect();
      await a.query(`drop database if exists ${dbName} with (force)`);
      await a.end();
      await cleanup();
    },
  };
  return cluster;
}
