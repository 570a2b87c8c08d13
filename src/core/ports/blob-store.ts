import type { Readable } from 'node:stream';

/** Inclusive byte range, as in an HTTP `Range: bytes=start-end` header. */
export interface ByteRange {
  start: number;
  /** Inclusive; absent means to the end. */
  end?: number;
}

export interface BlobStat {
  size: number;
  modifiedAt: string;
}

/** A blob as a file on this machine, for tools that need a path (ffmpeg). */
export interface LocalBlob {
  path: string;
  /** Frees a temporary download (S3); a no-op where the blob already is a local file. */
  release(): Promise<void>;
}

export type BlobSource = { path: string } | { stream: Readable };

export interface PresignGetOptions {
  expiresInSeconds: number;
  /** Served as the response's Content-Type / Content-Disposition. */
  contentType?: string;
  contentDisposition?: string;
  /**
   * For this process's own use (ffprobe reading a blob in place), not for clients: signed for
   * the address this process reaches the store at, which can differ from the public one.
   */
  forThisNode?: boolean;
}

/**
 * Input copies, outputs, masks and backgrounds. Keys are `/`-separated and validated by every
 * adapter (see core/blob-key.ts): an invalid key throws `invalid_request` before any I/O.
 */
export interface BlobStore {
  /** Stores (replacing) a blob; readers never see a partly written one. Resolves to its size. */
  put(key: string, source: BlobSource): Promise<{ size: number }>;
  /**
   * Stores a copy of blob `from` as `to` (replacing it), without the bytes passing through this
   * process where the store can copy by itself (S3 CopyObject). `not_found` if `from` is absent.
   */
  copy(from: string, to: string): Promise<{ size: number }>;
  /** A stream of the blob or of a byte range of it; `not_found` if absent, `invalid_request` for a range past the end. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** null when absent. */
  stat(key: string): Promise<BlobStat | null>;
  /** Absent keys are fine (delete is idempotent). */
  delete(key: string): Promise<void>;
  /** Deletes every blob whose key starts with `prefix` (ending in '/' means "a folder"); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** `not_found` if absent. */
  localPath(key: string): Promise<LocalBlob>;
  /** Cheap readiness probe for /health; throws when the store cannot be used. */
  check(): Promise<void>;
  /**
   * A URL that serves the blob without us, valid `expiresInSeconds` (S3 presigned GET). Absent
   * where the store has no server of its own (local disk): the API streams the bytes itself.
   */
  presignGet?(key: string, opts: PresignGetOptions): Promise<string>;
  /** A URL a client can PUT the blob's bytes to directly (S3 presigned PUT); absent on local disk. */
  presignPut?(key: string, opts: { expiresInSeconds: number }): Promise<string>;
}
