import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { projectRoot } from '../../src/app/paths.ts';
import { outputFormats } from '../../src/core/output-formats.ts';
import { openOutputWriter } from '../../src/pipeline/encode/output-writer.ts';
import { tempDir } from '../helpers/media.ts';

/**
 * The WebGL player documented in docs/stacked-video.md, taken from the doc itself and run in
 * Debian's Chromium on a stacked MP4 we encode: the page must show the subject opaque and the
 * rest see-through. A doc snippet nobody ran is a promise nobody checked.
 */
const chromiumPath = '/usr/bin/chromium';
const skip = existsSync(chromiumPath)
  ? false
  : `Chromium not found at ${chromiumPath} (install it with scripts/ci-browser.sh); stacked player test skipped`;

const W = 160;
const H = 120;
const box = { x: 40, y: 30, w: 60, h: 50, rgb: [240, 40, 40] };

async function writeStacked(path: string): Promise<void> {
  const rgba = new Uint8Array(W * H * 4);
  const mask = new Uint8Array(W * H);
  for (let y = box.y; y < box.y + box.h; y++)
    for (let x = box.x; x < box.x + box.w; x++) {
      const p = y * W + x;
      rgba.set([...box.rgb, 255], p * 4);
      mask[p] = 255;
    }
  const w = await openOutputWriter({
    format: 'stacked',
    output: path,
    width: W,
    height: H,
    fps: { num: 25, den: 1 },
    matrix: 'bt601',
    signal: new AbortController().signal,
  });
  for (let i = 0; i < 25; i++) await w.write(rgba, mask);
  await w.finish();
}

/** The first ```html block of the doc, pointed at our file and made visible for the screenshot. */
async function playerPage(videoUrl: string): Promise<string> {
  const doc = await readFile(join(projectRoot, 'docs/stacked-video.md'), 'utf8');
  const html = /```html\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(html, 'docs/stacked-video.md has an html snippet');
  const page = html.replace(/src="https:\/\/cdn\.example\.com\/[^"]+"/, `src="${videoUrl}"`);
  assert.notEqual(page, html, 'the snippet names its video URL');
  return `<!doctype html><html><body style="margin:0;background:transparent">${page}</body></html>`;
}

describe('stacked video player snippet in Chromium', { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: Server;
  let browser: Browser;
  let base: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-stacked-'));
    const video = join(dir, 'clip.mp4');
    await writeStacked(video);
    const bytes = await readFile(video);
    server = createServer((req, res) => {
      if (req.url === '/clip.mp4') {
        res.writeHead(200, {
          'content-type': outputFormats.stacked.contentType,
          'content-length': bytes.length,
        });
        res.end(bytes);
        return;
      }
      void playerPage('/clip.mp4').then((page) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(page);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // WebGL without a GPU: Chromium's software renderer.
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    server?.close();
    await cleanup();
  });

  it('draws the subject opaque in its colour and everything else transparent', async () => {
    const page = await browser.newPage({ viewport: { width: W, height: H } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    // A string: this file is type-checked without the DOM library.
    await page.waitForFunction(`(() => {
      const c = document.getElementById('out'), v = document.getElementById('src');
      return c && v && c.width > 0 && !v.paused && v.readyState >= 2;
    })()`);
    const png = await page.locator('#out').screenshot({ omitBackground: true });
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [W, H]);
    const at = (x: number, y: number): number[] => [...data.subarray((y * W + x) * 4, (y * W + x) * 4 + 4)];
    const inside = at(box.x + 30, box.y + 25);
    assert.ok((inside[3] as number) > 245, `subject alpha ${inside}`);
    assert.ok(
      Math.abs((inside[0] as number) - 240) < 20 && (inside[1] as number) < 70,
      `subject colour ${inside}`,
    );
    assert.ok((at(10, 10)[3] as number) < 10, `outside is transparent: ${at(10, 10)}`);
    assert.ok((at(W - 5, H - 5)[3] as number) < 10, `corner is transparent: ${at(W - 5, H - 5)}`);
    assert.deepEqual(errors, []);
  });
});
