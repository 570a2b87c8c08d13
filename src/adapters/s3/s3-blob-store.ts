import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertBlobKey, assertBlobPrefix } from '../../core/blob-key.ts';
import { AlphacutError } from '../../core/errors.ts';
import type {
  BlobSource,
  BlobStat,
  BlobStore,
  ByteRange,
  LocalBlob,
  PresignGetOptions,
} from '../../core/ports/blob-store.ts';

type Env = Record<string, string | undefined>;

/** `s3://bucket[/prefix]` (BLOB_URL) → bucket and key prefix (no slashes at either end). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url.trim());
  if (!m?.[1]) throw new Error(`BLOB_URL must look like s3://bucket[/prefix], got ${JSON.stringify(url)}`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '') assertBlobKey(prefix);
  return { bucket: m[1], prefix };
}

/**
 * Client settings from the standard AWS variables (AWS_ENDPOINT_URL[_S3], AWS_REGION, and the
 * default credential chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles).
 * A custom endpoint means an S3-compatible server (MinIO, Swift, Ceph, R2): path-style
 * addressing, and checksums only where S3 requires them, since several of those servers reject
 * the SDK's default aws-chunked uploads.
 */
export function s3ClientConfigFromEnv(env: Env = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // Read here rather than left to the SDK so that `env` (not only process.env) decides.
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
    ...(endpoint
      ? {
          endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  };
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isMissing(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return httpStatus(err) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Every key is stored under `<prefix>/` (several deployments can share a bucket). */
  prefix?: string;
  /** Signs presigned URLs when clients reach S3 at another address than this process does. */
  signingClient?: S3Client;
  /** Where localPath downloads go; default the OS temp dir. */
  scratchDir?: string;
}

/**
 * Blobs as S3 objects. An object appears whole or not at all, so puts need no temporaries;
 * streamed puts of unknown length go through a multipart upload. Outputs can be served by S3
 * itself through presigned GETs, and uploads can go to S3 directly through presigned PUTs, so
 * API nodes need no disk of their own.
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly #s3: S3Client;
  readonly #signer: S3Client;
  readonly #scratch: string;

  constructor(o: S3BlobStoreOptions) {
    this.#s3 = o.client;
    this.#signer = o.signingClient ?? o.client;
    this.bucket = o.bucket;
    this.prefix = o.prefix ?? '';
    this.#scratch = o.scratchDir ?? tmpdir();
  }

  /** Creates the bucket when it does not exist yet (a deployment's first start). */
  async ensureBucket(): Promise<void> {
    try {
      await this.#s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    try {
      await this.#s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // Another node created it at the same moment.
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    }
  }

  #key(key: string): string {
    assertBlobKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async put(key: string, source: BlobSource): Promise<{ size: number }> {
    const Key = this.#key(key);
    if ('path' in source) {
      const size = (await stat(source.path)).size;
      // Small files in one request; lib-storage splits large ones into a multipart upload.
      if (size < 16 * 1024 * 1024)
        await this.#s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key,
            Body: createReadStream(source.path),
            ContentLength: size,
          }),
        );
      else
        await new Upload({
          client: this.#s3,
          params: { Bucket: this.bucket, Key, Body: createReadStream(source.path) },
        }).done();
      return { size };
    }
    let size = 0;
    const counted = new PassThrough();
    counted.on('data', (c: Buffer) => (size += c.length));
    source.stream.on('error', (e) => counted.destroy(e));
    source.stream.pipe(counted);
    await new Upload({
      client: this.#s3,
      params: { Bucket: this.bucket, Key, Body: counted },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
    }).done();
    return { size };
  }

  async copy(from: string, to: string): Promise<{ size: number }> {
    const Key = this.#key(to);
    const s = await this.stat(from);
    if (!s) throw new AlphacutError('not_found', `Blob ${from} was not found.`);
    // One CopyObject goes up to 5 GiB; larger objects (beyond any upload limit we ship) are streamed.
    if (s.size > 5 * 1024 ** 3) return this.put(to, { stream: await this.get(from) });
    const source = `${this.bucket}/${this.#key(from)}`;
    try {
      await this.#s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key,
          CopySource: source.split('/').map(encodeURIComponent).join('/'),
        }),
      );
    } catch (err) {
      if (isMissing(err)) throw new AlphacutError('not_found', `Blob ${from} was not found.`);
      throw err;
    }
    return { size: s.size };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const Key = this.#key(key);
    let Range: string | undefined;
    if (range) {
      const s = await this.stat(key);
      if (!s) throw new AlphacutError('not_found', `Blob ${key} was not found.`);
      const end = Math.min(range.end ?? s.size - 1, s.size - 1);
      if (!Number.isInteger(range.start) || range.start < 0 || range.start >= s.size || end < range.start)
        throw new AlphacutError(
          'invalid_request',
          `Byte range ${range.start}-${range.end ?? ''} is outside ${key}.`,
          { size: s.size },
        );
      Range = `bytes=${range.start}-${end}`;
    }
    try {
      const r = await this.#s3.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }));
      return r.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new AlphacutError('not_found', `Blob ${key} was not found.`);
      throw err;
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    const Key = this.#key(key);
    try {
      const h = await this.#s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return {
        size: h.ContentLength ?? 0,
        modifiedAt: (h.LastModified ?? new Date()).toISOString(),
      };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.#s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertBlobPrefix(prefix);
    const Prefix = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    let count = 0;
    let token: string | undefined;
    do {
      const page = await this.#s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => !!k);
      if (keys.length > 0) {
        const del = new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        });
        // S3 itself accepts the SDK's CRC32 here; Swift, Ceph and older MinIO insist on Content-MD5.
        del.middlewareStack.add(
          (next) => async (args) => {
            const req = args.request as { body?: unknown; headers?: Record<string, string> };
            if (typeof req.body === 'string' && req.headers)
              req.headers['content-md5'] = createHash('md5').update(req.body).digest('base64');
            return next(args);
          },
          { step: 'build', name: 'contentMd5ForDeleteObjects' },
        );
        const r = await this.#s3.send(del);
        const failed = r.Errors ?? [];
        if (failed.length > 0)
          throw new Error(
            `S3 could not delete ${failed.length} objects under ${Prefix}: ${failed[0]?.Message}`,
          );
        count += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return count;
  }

  async localPath(key: string): Promise<LocalBlob> {
    const body = await this.get(key);
    await mkdir(this.#scratch, { recursive: true });
    const dir = await mkdtemp(join(this.#scratch, 'blob-'));
    const path = join(dir, key.split('/').pop() ?? 'blob');
    try {
      await pipeline(body, createWriteStream(path));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { path, release: () => rm(dir, { recursive: true, force: true }) };
  }

  async check(): Promise<void> {
    await this.#s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  presignGet(key: string, opts: PresignGetOptions): Promise<string> {
    return getSignedUrl(
      opts.forThisNode ? this.#s3 : this.#signer,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.#key(key),
        ...(opts.contentType ? { ResponseContentType: opts.contentType } : {}),
        ...(opts.contentDisposition ? { ResponseContentDisposition: opts.contentDisposition } : {}),
      }),
      { expiresIn: opts.expiresInSeconds },
    );
  }

  presignPut(key: string, opts: { expiresInSeconds: number }): Promise<string> {
    return getSignedUrl(this.#signer, new PutObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }), {
      expiresIn: opts.expiresInSeconds,
    });
  }
}
