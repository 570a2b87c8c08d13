import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { jobBlobKey } from '../core/blob-key.ts';
import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import { isUploadId } from '../core/job.ts';
import type { BlobStore } from '../core/ports/blob-store.ts';
import type { JobStore, UploadRecord } from '../core/ports/job-store.ts';
import type { GuardedFetcher } from '../net/guarded-fetcher.ts';
import { canProbeInPlace, probe, probeBlob, type MediaInfo } from '../pipeline/probe.ts';
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

/**
 * Probes a stored blob where it is: over a presigned GET where the store has one (S3: no copy on
 * the API node), else through localPath (local disk: the blob file itself). Error messages
 * never carry a path or URL.
 */
export async function probeStored(
  blobs: BlobStore,
  key: string,
  limits: ApiConfig['probeLimits'],
  label: string,
): Promise<MediaInfo> {
  if (canProbeInPlace(blobs)) return probeBlob(blobs, key, label, limits);
  const local = await blobs.localPath(key);
  try {
    return await probeUntrusted(local.path, limits, label);
  } finally {
    await local.release();
  }
}

/**
 * Checks that a stored blob is a raster image the compositor can decode; its format name. Read
 * by sharp from the blob file on local disk, or from a stream of it (S3): sharp then holds the
 * image in memory (at most fetchMaxBytes) instead of on the API node's disk.
 */
async function checkImage(blobs: BlobStore, key: string, field: string): Promise<string> {
  let format: string | undefined;
  try {
    // Header only: no full decode here; sharp's pixel limit still refuses decompression bombs.
    if (canProbeInPlace(blobs)) {
      const reader = sharp({ failOn: 'error' });
      const body = await blobs.get(key);
      body.on('error', (e) => reader.destroy(e));
      body.pipe(reader);
      format = (await reader.metadata()).format;
    } else {
      const local = await blobs.localPath(key);
      try {
        format = (await sharp(local.path, { failOn: 'error' }).metadata()).format;
      } finally {
        await local.release();
      }
    }
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

/** A probe failure named after the request field it came from. */
function inField(err: unknown, field: string): unknown {
  return isAlphacutError(err)
    ? new AlphacutError(err.code, `${field}: ${err.message}`, { ...err.details, field })
    : err;
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
      await this.#blobs.copy(up.blobKey, key);
      return { blobKey: key, media: up.probe as unknown as MediaSummary };
    }
    // A new job: its folder is empty, so the input goes to its final key directly.
    const got = await this.#fetchProbed(videoUrl, 'video_url', (filename) =>
      jobBlobKey(keyId, jobId, `input.${safeExtension(filename, 'bin')}`),
    );
    return { blobKey: got.key, media: got.media };
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
      if (up.probe === null)
        return (
          await this.#staged(
            keyId,
            jobId,
            (stage) => this.#copyDirect(up, stage, field),
            () => key,
          )
        ).key;
      await this.#blobs.copy(up.blobKey, key);
      return key;
    }
    if (kind === 'image') {
      const staged = await this.#staged(
        keyId,
        jobId,
        async (stage) => {
          await this.#fetchInto(url, field, () => stage);
          return checkImage(this.#blobs, stage, field);
        },
        (ext) => jobBlobKey(keyId, jobId, `background.${ext}`),
      );
      return staged.key;
    }
    const staged = await this.#staged(
      keyId,
      jobId,
      (stage) => this.#fetchProbed(url, field, () => stage),
      (r) => jobBlobKey(keyId, jobId, `background.${safeExtension(r.filename, 'bin')}`),
    );
    return staged.key;
  }

  /**
   * Stores a background under a staging key of the job's folder, checks it there, and only then
   * copies it to its final key: a job restarted with a new background keeps its old one until
   * the new one passed (they can have the same name), and an image's name needs its format.
   */
  async #staged<T>(
    keyId: string,
    jobId: string,
    fill: (stage: string) => Promise<T>,
    finalKey: (result: T) => string,
  ): Promise<{ key: string; result: T }> {
    const stage = jobBlobKey(keyId, jobId, `intake-${randomUUID()}`);
    try {
      const result = await fill(stage);
      const key = finalKey(result);
      await this.#blobs.copy(stage, key);
      return { key, result };
    } finally {
      await this.#blobs.delete(stage).catch(() => undefined);
    }
  }

  /**
   * An upload that went to S3 directly (presigned PUT) has not been probed: the bytes are checked
   * now, before the job exists and before any credit moves. The object is copied into the job's
   * folder first (server-side on S3) and the copy is what gets checked, so what was probed is
   * what the worker renders even if the client PUTs again through the still valid upload URL.
   * The probe reads the copy in place (probeStored): no byte on the API node's disk.
   */
  async #copyDirect(up: UploadRecord, key: string, field: string): Promise<MediaSummary> {
    const tooLarge = (): AlphacutError =>
      new AlphacutError(
        'payload_too_large',
        `${field}: upload ${up.id} is larger than the upload limit of ${this.#config.uploadMaxBytes} bytes.`,
        { limit_bytes: this.#config.uploadMaxBytes, field },
      );
    const missing = (): AlphacutError =>
      new AlphacutError(
        'invalid_request',
        `${field}: upload ${up.id} has no file yet; PUT the video to its upload_url first.`,
        { reason: 'upload_missing', field, fields: [{ field, message: 'nothing was uploaded' }] },
      );
    const stored = await this.#blobs.stat(up.blobKey);
    if (!stored) throw missing();
    if (stored.size > this.#config.uploadMaxBytes) throw tooLarge();
    try {
      try {
        await this.#blobs.copy(up.blobKey, key);
      } catch (err) {
        if (isAlphacutError(err) && err.code === 'not_found') throw missing();
        throw err;
      }
      // Replaced through the still valid upload URL since the stat: the limit holds all the same.
      if (((await this.#blobs.stat(key))?.size ?? 0) > this.#config.uploadMaxBytes) throw tooLarge();
      try {
        return mediaSummary(await probeStored(this.#blobs, key, this.#config.probeLimits, 'the file'));
      } catch (err) {
        throw inField(err, field);
      }
    } catch (err) {
      await this.#blobs.delete(key).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Streams `url` (through the SSRF guard, within fetchMaxBytes) into blob `key(filename)`; no
   * byte touches the API node's disk. The blob is deleted again on any failure.
   */
  async #fetchInto(
    url: string,
    field: string,
    key: (filename: string | undefined) => string,
  ): Promise<{ key: string; filename: string | undefined }> {
    let target: string | undefined;
    let filename: string | undefined;
    try {
      await this.#fetcher.stream(
        url,
        async (body, meta) => {
          filename = meta.filename;
          target = key(filename);
          await this.#blobs.put(target, { stream: body });
        },
        { label: field, limits: { maxBytes: this.#config.fetchMaxBytes } },
      );
    } catch (err) {
      if (target) await this.#blobs.delete(target).catch(() => undefined);
      throw err;
    }
    return { key: target as string, filename };
  }

  /** A video from `url`, stored as blob `key(filename)` and probed there; deleted on failure. */
  async #fetchProbed(
    url: string,
    field: string,
    key: (filename: string | undefined) => string,
  ): Promise<{ key: string; filename: string | undefined; media: MediaSummary }> {
    const got = await this.#fetchInto(url, field, key);
    try {
      const info = await probeStored(this.#blobs, got.key, this.#config.probeLimits, 'the file');
      return { ...got, media: mediaSummary(info) };
    } catch (err) {
      await this.#blobs.delete(got.key).catch(() => undefined);
      throw inField(err, field);
    }
  }
}
