import { randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertBlobKey, assertBlobPrefix } from '../core/blob-key.ts';
import { AlphacutError } from '../core/errors.ts';
import type { BlobSource, BlobStat, BlobStore, ByteRange, LocalBlob } from '../core/ports/blob-store.ts';

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Blobs as files under one directory, the key being the relative path. Writes go to a hidden
 * temporary name in the target folder and are renamed into place, so a reader (or a crash)
 * never sees half a file. Valid keys never start a segment with '.', so temporaries cannot be
 * mistaken for blobs.
 */
export class LocalBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  #path(key: string): string {
    assertBlobKey(key);
    const p = resolve(this.root, key);
    // assertBlobKey already rules out '..'; this is the second lock on the same door.
    if (!p.startsWith(this.root + sep))
      throw new AlphacutError('invalid_request', `Invalid blob key: ${JSON.stringify(key)}`);
    return p;
  }

  async put(key: string, source: BlobSource): Promise<{ size: number }> {
    const target = this.#path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
    try {
      if ('path' in source) await copyFile(source.path, tmp, constants.COPYFILE_FICLONE);
      else await pipeline(source.stream, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { size: (await stat(target)).size };
  }

  async copy(from: string, to: string): Promise<{ size: number }> {
    const source = this.#path(from);
    if (!(await this.stat(from))) throw new AlphacutError('not_found', `Blob ${from} was not found.`);
    return this.put(to, { path: source });
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.#path(key);
    const s = await this.stat(key);
    if (!s) throw new AlphacutError('not_found', `Blob ${key} was not found.`);
    if (!range) return createReadStream(path);
    const end = Math.min(range.end ?? s.size - 1, s.size - 1);
    if (!Number.isInteger(range.start) || range.start < 0 || range.start >= s.size || end < range.start)
      throw new AlphacutError(
        'invalid_request',
        `Byte range ${range.start}-${range.end ?? ''} is outside ${key}.`,
        {
          size: s.size,
        },
      );
    return createReadStream(path, { start: range.start, end });
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const s = await stat(this.#path(key));
      return s.isFile() ? { size: s.size, modifiedAt: s.mtime.toISOString() } : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertBlobPrefix(prefix);
    const folder = prefix.endsWith('/');
    const base = this.#path(folder ? prefix.slice(0, -1) : prefix);
    // "a/b" also matches "a/bc" (a key prefix, as on S3): look at the siblings too.
    const scanDir = folder ? base : dirname(base);
    const namePrefix = folder ? '' : basename(base);
    let count = 0;
    let entries: string[];
    try {
      entries = await readdir(scanDir);
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
    for (const name of entries) {
      if (name.startsWith('.') || !name.startsWith(namePrefix)) continue;
      count += await removeCounting(join(scanDir, name));
    }
    if (folder) await rm(base, { recursive: true, force: true });
    return count;
  }

  async localPath(key: string): Promise<LocalBlob> {
    const path = this.#path(key);
    if (!(await this.stat(key))) throw new AlphacutError('not_found', `Blob ${key} was not found.`);
    return { path, release: async () => {} };
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, constants.R_OK | constants.W_OK);
  }
}

async function removeCounting(path: string): Promise<number> {
  const s = await stat(path).catch(() => null);
  if (!s) return 0;
  let n = 0;
  if (s.isDirectory()) {
    for (const name of await readdir(path))
      if (!name.startsWith('.')) n += await removeCounting(join(path, name));
  } else n = 1;
  await rm(path, { recursive: true, force: true });
  return n;
}
