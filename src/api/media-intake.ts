import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { jobBlobKey } from '../core/blob-key.ts';
import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import { isUploadId } from '../core/job.ts';
import type { BlobStore } from '../core/ports/blob-store.ts';
import type { JobStore, UploadRecord } from '../core/ports/job-store.ts';
import type { GuardedFetcher } from '../net/guarded-fetcher.ts';
import { probe, type MediaInfo } from '../pipeline/probe.ts';
import type { ApiConfig } from './api-deps.ts';

/**
 * Turns the URLs of a job request into blobs the worker can read: an upload of the same key is
 * copied into the job's folder (so deleting the job never touches the upload), anything else is
 * fetched through the SSRF guard. Every input is probed before the job exists, so a bad file is
 * refused before any credit moves.
 */
export interface MediaSummary {
  durationSeconds: number;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
}

export function mediaSummary(info: MediaInfo): MediaSummary {
  return {
    durationSeconds: info.durationSeconds,
    width: info.width,
    height: info.height,
    fps: info.fps.num / info.fps.den,
    frameCount: info.frameCount,
  };
}

const uploadPath = /^\/v1\/uploads\/(upl_[0-9a-f-]+)$/;

/** Raster formats an image background may have (the pipeline decodes them with sharp). */
const imageFormats = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff']);

/**
 * ffprobe's own words can name the scratch file it read (`/tmp/…/x.download: Invalid argument`);
 * a caller must never learn the server's paths, so they are replaced by `label`.
 */
export function withoutPath(err: unknown, path: string, label: string): unknown {
  const abs = resolve(path);
  if (!isAlphacutError(err) || !(err.message.includes(abs) || err.message.includes(path))) return err;
  const message = err.message.replaceAll(abs, label).replaceAll(path, label);
  return new AlphacutError(err.code, message, err.details, { cause: err });
}

/** Probes `path` as a video; error messages never carry the path. */
export async function probeUntrusted(
  path: string,
  limits: ApiConfig['probeLimits'],
  label: string,
): Promise<MediaInfo> {
  try {
    return await probe(path, limits);
  } catch (err) {
    throw withoutPath(err, path, label);
  }
}

/** Checks that `path` is a raster image the compositor can decode; its format name. */
async function checkImage(path: string, field: string): Promise<string> {
  let format: string | undefined;
  try {
    // Header only: no full decode here; sharp's pixel limit still refuses decompression bombs.
    format = (await sharp(path, { failOn: 'error' }).metadata()).format;
  } catch {
    format = undefined;
  }
  if (!format || !imageFormats.has(format))
    throw new AlphacutError(
      'unsupported_media',
      `${field}: the file is not an image in a supported format (jpeg, png, webp, gif, avif, heif, tiff).`,
      { reason: 'not_image', field, fields: [{ field, message: 'not a supported image' }] },
    );
  return format === 'jpeg' ? 'jpg' : format;
}

function safeExtension(name: string | undefined, fallback: string): string {
  const ext = name?.split('.').pop()?.toLowerCase();
  return ext && /^[a-z0-9]{1,5}$/.test(ext) && ext !== name?.toLowerCase() ? ext : fallback;
}

export class MediaIntake {
  readonly #store: JobStore;
  readonly #blobs: BlobStore;
  readonly #fetcher: GuardedFetcher;
  readonly #config: ApiConfig;

  constructor(deps: { store: JobStore; blobs: BlobStore; fetcher: GuardedFetcher; config: ApiConfig }) {
    this.#store = deps.store;
    this.#blobs = deps.blobs;
    this.#fetcher = deps.fetcher;
    this.#config = deps.config;
  }

  /** The upload id when `url` is one of this server's upload URLs (configured or request origin). */
  uploadIdOf(url: string, requestOrigin: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return undefined;
    }
    const m = uploadPath.exec(u.pathname);
    if (!m?.[1] || !isUploadId(m[1])) return undefined;
    const ours = [requestOrigin, this.#config.publicBaseUrl]
      .filter(Boolean)
      .map((o) => new URL(o as string).origin);
    return ours.includes(u.origin) ? m[1] : undefined;
  }

  async #upload(keyId: string, uploadId: string, field: string): Promise<UploadRecord> {
    const up = await this.#store.getUpload(keyId, uploadId);
    // Another key's upload answers exactly like a missing one.
    if (!up)
      throw new AlphacutError('not_found', `${field}: upload ${uploadId} not found.`, {
        fields: [{ field, message: 'upload not found' }],
      });
    return up;
  }

  /** Fetches and probes the job's input; returns its blob key and what the probe found. */
  async input(
    keyId: string,
    jobId: string,
    videoUrl: string,
    requestOrigin: string,
  ): Promise<{ blobKey: string; media: MediaSummary }> {
    const uploadId = this.uploadIdOf(videoUrl, requestOrigin);
    if (uploadId) {
      const up = await this.#upload(keyId, uploadId, 'video_url');
      const key = jobBlobKey(keyId, jobId, `input.${safeExtension(up.filename, 'bin')}`);
      // No probe: the bytes went to S3 directly (presigned PUT) and are checked now.
      if (up.probe === null) return { blobKey: key, media: await this.#copyDirect(up, key, 'video_url') };
      await this.#blobs.put(key, { stream: await this.#blobs.get(up.blobKey) });
      return { blobKey: key, media: up.probe as unknown as MediaSummary };
    }
    return this.#fetchProbed(keyId, jobId, videoUrl, 'video_url', 'input');
  }

  /**
   * An image or video background given by URL, stored as the job's background blob. An image is
   * checked as an image (the compositor decodes it with sharp), a video is probed like an input.
   */
  async background(
    keyId: string,
    jobId: string,
    url: string,
    field: string,
    requestOrigin: string,
    kind: 'image' | 'video',
  ): Promise<string> {
    const uploadId = this.uploadIdOf(url, requestOrigin);
    if (uploadId) {
      const up = await this.#upload(keyId, uploadId, field);
      // Uploads are probed videos: as an image background the compositor could not decode one,
      // and the job would only fail after its credits were reserved.
      if (kind === 'image')
        throw new AlphacutError(
          'unsupported_media',
          `${field}: upload ${uploadId} is a video; use it as {"type":"video","video_url":…} or give an image URL.`,
          { reason: 'not_image', field, fields: [{ field, message: 'an upload is a video, not an image' }] },
        );
      const key = jobBlobKey(keyId, jobId, `background.${safeExtension(up.filename, 'bin')}`);
      if (up.probe === null) await this.#copyDirect(up, key, field);
      else await this.#blobs.put(key, { stream: await this.#blobs.get(up.blobKey) });
      return key;
    }
    if (kind === 'image') return this.#fetchImage(keyId, jobId, url, field);
    return (await this.#fetchProbed(keyId, jobId, url, field, 'background')).blobKey;
  }

  /**
   * An upload that went to S3 directly (presigned PUT) has not been probed: the bytes are checked
   * now, before the job exists and before any credit moves. They are fetched once into the node's
   * scratch dir (ffprobe reads only local files, see pipeline/ffmpeg-input-policy.ts), probed and
   * stored as the job's copy, so what was probed is what the worker renders; the file is deleted
   * right after.
   */
  async #copyDirect(up: UploadRecord, key: string, field: string): Promise<MediaSummary> {
    const stored = await this.#blobs.stat(up.blobKey);
    if (!stored)
      throw new AlphacutError(
        'invalid_request',
        `${field}: upload ${up.id} has no file yet; PUT the video to its upload_url first.`,
        { reason: 'upload_missing', field, fields: [{ field, message: 'nothing was uploaded' }] },
      );
    if (stored.size > this.#config.uploadMaxBytes)
      throw new AlphacutError(
        'payload_too_large',
        `${field}: upload ${up.id} is larger than the upload limit of ${this.#config.uploadMaxBytes} bytes.`,
        { limit_bytes: this.#config.uploadMaxBytes, field },
      );
    const local = await this.#blobs.localPath(up.blobKey);
    try {
      // Replaced through the still valid upload URL since the stat: the limit holds all the same.
      if ((await stat(local.path)).size > this.#config.uploadMaxBytes)
        throw new AlphacutError(
          'payload_too_large',
          `${field}: upload ${up.id} is larger than the upload limit of ${this.#config.uploadMaxBytes} bytes.`,
          { limit_bytes: this.#config.uploadMaxBytes, field },
        );
      let info: MediaInfo;
      try {
        info = await probeUntrusted(local.path, this.#config.probeLimits, 'the file');
      } catch (err) {
        if (isAlphacutError(err))
          throw new AlphacutError(err.code, `${field}: ${err.message}`, { ...err.details, field });
        throw err;
      }
      await this.#blobs.put(key, { path: local.path });
      return mediaSummary(info);
    } finally {
      await local.release();
    }
  }

  async #fetchImage(keyId: string, jobId: string, url: string, field: string): Promise<string> {
    await mkdir(this.#config.tmpDir, { recursive: true });
    const tmp = join(this.#config.tmpDir, `${randomUUID()}.download`);
    try {
      await this.#fetcher.download(url, tmp, {
        label: field,
        limits: { maxBytes: this.#config.fetchMaxBytes },
      });
      const ext = await checkImage(tmp, field);
      const key = jobBlobKey(keyId, jobId, `background.${ext}`);
      await this.#blobs.put(key, { path: tmp });
      return key;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async #fetchProbed(
    keyId: string,
    jobId: string,
    url: string,
    field: string,
    name: string,
  ): Promise<{ blobKey: string; media: MediaSummary }> {
    await mkdir(this.#config.tmpDir, { recursive: true });
    const tmp = join(this.#config.tmpDir, `${randomUUID()}.download`);
    try {
      const got = await this.#fetcher.download(url, tmp, {
        label: field,
        limits: { maxBytes: this.#config.fetchMaxBytes },
      });
      let info: MediaInfo;
      try {
        info = await probeUntrusted(tmp, this.#config.probeLimits, 'the file');
      } catch (err) {
        if (isAlphacutError(err))
          throw new AlphacutError(err.code, `${field}: ${err.message}`, { ...err.details, field });
        throw err;
      }
      const key = jobBlobKey(keyId, jobId, `${name}.${safeExtension(got.filename, 'bin')}`);
      await this.#blobs.put(key, { path: tmp });
      return { blobKey: key, media: mediaSummary(info) };
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
