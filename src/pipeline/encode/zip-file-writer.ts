import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { PassThrough } from 'node:stream';
import { ZipFile } from 'yazl';

/**
 * A ZIP being written to a file, entry by entry. yazl writes into its output stream without
 * looking at backpressure, so adding waits for the stream to drain: otherwise a fast producer
 * (PNG frames) would pile whole entries up in memory whenever the disk is slower.
 */
export class ZipFileWriter {
  private readonly zip = new ZipFile();
  // yazl's typings say ReadableStream; it is a PassThrough, whose writable side we watch.
  private readonly out = this.zip.outputStream as PassThrough;
  private readonly file: WriteStream;
  private readonly done: Promise<void>;
  private readonly mtime = new Date();

  constructor(path: string) {
    this.file = createWriteStream(path);
    this.out.pipe(this.file);
    this.done = new Promise<void>((resolve, reject) => {
      this.file.once('close', resolve);
      this.file.once('error', reject);
      this.out.once('error', reject);
      this.zip.once('error', reject);
    });
    // Rejections surface through end(); until then nobody may be awaiting this promise.
    this.done.catch(() => {});
  }

  /** `compress: false` for data that is compressed already (PNG, MP4, AAC): deflate would only cost. */
  async addBuffer(data: Buffer, name: string, compress: boolean): Promise<void> {
    this.zip.addBuffer(data, name, { compress, mtime: this.mtime });
    await this.caughtUp();
  }

  async addFile(path: string, name: string, compress: boolean): Promise<void> {
    this.zip.addFile(path, name, { compress, mtime: this.mtime });
    await this.caughtUp();
  }

  async end(): Promise<void> {
    this.zip.end();
    await this.done;
  }

  destroy(): void {
    this.out.unpipe(this.file);
    this.out.destroy();
    this.file.destroy();
  }

  private async caughtUp(): Promise<void> {
    if (this.out.writableNeedDrain) await Promise.race([once(this.out, 'drain'), this.done]);
  }
}
