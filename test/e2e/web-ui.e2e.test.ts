import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from '../../src/app/paths.ts';
import { noSharedMedia, sharedMedia, tempDir } from '../helpers/media.ts';

/**
 * The browser UI end to end: the real `alphacut serve`, Debian's Chromium driven by
 * playwright-core, a shared clip uploaded through the page, a `light` job watched to completion,
 * the result played and downloaded. Screenshots of each step go to test-results/ui/.
 */
const chromiumPath = '/usr/bin/chromium';
const pastedUrl = 'http://127.0.0.1:1/clip.mp4';
const shots = join(projectRoot, 'test-results', 'ui');
const skip =
  noSharedMedia ||
  (existsSync(chromiumPath)
    ? false
    : `Chromium not found at ${chromiumPath} (install it with scripts/ci-browser.sh); browser UI test skipped`);

function startServe(dataDir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(
    process.execPath,
    [
      join(projectRoot, 'bin/alphacut.js'),
      '--data-dir',
      dataDir,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ],
    { env: { ...process.env, ALPHACUT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)\n[^]*Development API key/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1], output: () => out });
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited ${code} before listening:\n${out}`)));
    setTimeout(() => reject(new Error(`serve did not start in 30 s:\n${out}`)), 30_000).unref();
  });
}

describe('web UI in Chromium', { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let serve: { child: ChildProcess; url: string; output: () => string };
  let context: BrowserContext;
  let page: Page;
  let devKey: string;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];
  let step = 0;
  const shot = async (name: string): Promise<void> => {
    step++;
    await page.screenshot({
      path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`),
      fullPage: true,
    });
  };

  before(async () => {
    if (!existsSync(join(projectRoot, 'web/dist/index.html'))) {
      const built = spawnSync('npm', ['run', '-s', 'build:web'], { cwd: projectRoot, encoding: 'utf8' });
      assert.equal(built.status, 0, built.stderr);
    }
    await rm(shots, { recursive: true, force: true });
    await mkdir(shots, { recursive: true });
    ({ dir, cleanup } = await tempDir('alphacut-ui-'));
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { recursive: true });
    // Reuse the models setup.sh built, so the test measures the UI and not a model build.
    const models = join(projectRoot, 'data', 'models');
    if (existsSync(models)) await symlink(models, join(dataDir, 'models'));
    serve = await startServe(dataDir);
    devKey = (await readFile(join(dataDir, 'dev-key'), 'utf8')).trim();
    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(serve.url).origin;
    page.on('request', (r) => {
      const u = r.url();
      // The URL pasted in the error step is the user's own choice, which the preview may load.
      if (!u.startsWith(origin) && !/^(blob|data):/.test(u) && u !== pastedUrl) foreignRequests.push(u);
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await context?.close();
    if (serve?.child.exitCode === null) {
      const exited = new Promise((r) => serve.child.once('exit', r));
      serve.child.kill('SIGTERM');
      await exited;
    }
    await cleanup?.();
  });

  it('asks for a key when none is offered, shows a wrong one as an error', { timeout: 30_000 }, async () => {
    // As a remote browser would see it: the dev-key endpoint answers 404.
    await page.route('**/ui/dev-key', (r) => r.fulfill({ status: 404, body: '{}' }));
    await page.goto(serve.url);
    await page.getByRole('heading', { name: 'Sign in with an API key' }).waitFor();
    await page.getByLabel('API key').fill('ak_wrongwrongwrongwrongwrongwrongwr');
    await page.getByRole('button', { name: 'Use this key' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /not valid[^]*\(invalid_api_key\)/);
    await shot('key-error');
    await page.getByLabel('API key').fill(devKey);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('heading', { name: "Remove a video's background" }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("alphacut.apiKey")'), devKey);
    await page.unroute('**/ui/dev-key');
  });

  it('fills in the development key on localhost', { timeout: 30_000 }, async () => {
    await page.evaluate('sessionStorage.clear()');
    await page.reload();
    await page.getByText('development key').waitFor();
    await page.getByText('1000 credits').waitFor();
    await shot('start');
  });

  it('uploads, composes, runs a light job and shows the result', { timeout: 170_000 }, async () => {
    const clip = sharedMedia('clips/grid-lwbsza.mp4');
    await page.locator('input[type=file]').first().setInputFiles(clip);
    await page.getByText(/Uploaded grid-lwbsza\.mp4/).waitFor({ timeout: 30_000 });
    await shot('uploaded');

    await page.getByRole('radio', { name: /^light\b/ }).check();
    assert.match(
      await page
        .getByRole('radio', { name: /^light\b/ })
        .locator('..')
        .innerText(),
      /45 credits\/min/,
    );
    await page.getByLabel(/Only a preview/).check();
    await page.getByLabel('Preview length (seconds)').fill('1');

    // A background video is uploaded like the source (uploads are videos) and shows in the preview.
    await page.getByRole('radio', { name: 'Image or video' }).check();
    await page.getByLabel('Background video file').setInputFiles(sharedMedia('clips/opencv-box.mp4'));
    await page.getByText('Background: opencv-box.mp4').waitFor({ timeout: 30_000 });
    await shot('background-video');
    // Colour presets are buttons; then back to transparent for the job itself.
    await page.getByRole('radio', { name: 'Colour' }).check();
    await page.getByRole('button', { name: 'Green screen' }).click();
    assert.equal(await page.getByLabel('Background colour').inputValue(), '#09a246');
    await page.getByRole('radio', { name: 'Transparent' }).check();

    await page.getByLabel(/Place the cut-out on a canvas/).check();
    await page.getByLabel('Canvas', { exact: true }).selectOption('1280x720');
    // The anchor grid is a radio group: arrow keys move the choice.
    await page.getByRole('radio', { name: 'Centre', exact: true }).focus();
    await page.keyboard.press('ArrowRight');
    assert.ok(await page.getByRole('radio', { name: 'Centre right' }).isChecked());
    await page.getByRole('radio', { name: 'Bottom right' }).check();
    await page.getByLabel(/^Scale:/).fill('50');
    // 360×288 at 50 % is 180×144, bottom-right of 1280×720: x 1100, y 576 (compositor arithmetic).
    await page.getByText('Canvas 1280 × 720; video 180 × 144 at x 1100, y 576').waitFor();
    await shot('settings-and-preview');

    await page.getByRole('button', { name: 'Start' }).click();
    await page.locator('#job-progress').waitFor();
    await shot('progress');
    const status = page.locator('.job-status');
    await page.waitForFunction(
      `['completed','failed','canceled'].includes(document.querySelector('.job-status')?.dataset.status)`,
      undefined,
      { timeout: 150_000, polling: 500 },
    );
    assert.equal(
      await status.getAttribute('data-status'),
      'completed',
      `${await status.innerText()}\n${serve.output()}`,
    );

    await page.waitForFunction(
      `(() => { const v = document.querySelector('video.result-video'); return !!v && v.readyState >= 1 && v.duration > 0; })()`,
      undefined,
      { timeout: 20_000 },
    );
    // Both players have a frame to show before the screenshot (not a loading spinner).
    await page.waitForFunction(
      `[...document.querySelectorAll('.compare video')].every((v) => v.readyState >= 2)`,
      undefined,
      { timeout: 20_000 },
    );
    const duration = await page
      .locator('video.result-video')
      .evaluate((v: { duration: number }) => v.duration);
    assert.ok(duration > 0.5 && duration < 1.6, `result duration ${duration}`);
    await shot('result');

    const output = await page.getByRole('link', { name: /Download output/ }).getAttribute('href');
    const mask = await page.getByRole('link', { name: /Download mask/ }).getAttribute('href');
    assert.ok(output && mask);
    const file = await fetch(output);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'video/webm');
    assert.ok((await file.arrayBuffer()).byteLength > 1000);
    assert.equal((await fetch(mask)).status, 200);
  });

  it('lists the job with its credits and shows usage', { timeout: 30_000 }, async () => {
    await page.getByRole('link', { name: 'Jobs & usage' }).click();
    const row = page.locator('table.jobs tbody tr').first();
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /Done/);
    assert.match(text, /light/);
    assert.match(text, /1 s/);
    // ceil(1 s) at 45 credits/minute → 1 credit.
    assert.match(text, /\b1\b/);
    assert.equal(await page.getByTestId('remaining-credits').innerText(), '999');
    await page.locator('svg.chart').waitFor();
    assert.equal(await page.locator('svg.chart rect.bar').count(), 7);
    await shot('jobs-and-usage');
  });

  it('shows API errors in plain words with the code', { timeout: 30_000 }, async () => {
    await page.getByRole('link', { name: 'New job' }).click();
    await page.getByLabel(/paste a video URL/).fill(pastedUrl);
    await page.getByRole('button', { name: 'Use URL' }).click();
    await page.getByRole('button', { name: 'Start' }).click();
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    assert.match(await alert.innerText(), /\((invalid_request|unsupported_media|not_found)\)/);
    await shot('api-error');
  });

  it('works at phone width without sideways scrolling', { timeout: 30_000 }, async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.reload();
    await page.getByRole('heading', { name: "Remove a video's background" }).waitFor();
    await page.getByLabel(/Place the cut-out on a canvas/).check();
    const width = await page.evaluate('document.documentElement.scrollWidth');
    assert.ok(Number(width) <= 360, `page is ${width} px wide at 360`);
    await shot('phone-new-job');
    await page.goto(`${serve.url}/#/jobs`);
    await page.locator('table.jobs').waitFor();
    await shot('phone-jobs');
    assert.deepEqual(foreignRequests, [], 'the UI must not reach other hosts');
    assert.deepEqual(pageErrors, []);
  });
});
