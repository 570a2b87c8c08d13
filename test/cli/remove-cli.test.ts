import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../src/app/paths.ts';
import { countFrames, makeClip, tempDir } from '../helpers/media.ts';

const run = promisify(execFile);
const cli = join(projectRoot, 'bin/alphacut.js');

async function ffmpegsNaming(fragment: string): Promise<string[]> {
  try {
    const { stdout } = await run('pgrep', ['-a', '-f', `ffmpeg.*${fragment}`]);
    return stdout.trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('alphacut CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(async () => cleanup());

  it('remove writes a WebM with every frame and prints plain progress lines off a terminal', async () => {
    const input = join(dir, 'clip.mp4');
    await makeClip(input, { seconds: 2, audio: true });
    const out = join(dir, 'clip.webm');
    const r = await runCli(['remove', input, '-o', out, '--model', 'human']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /process: \d+\/50 frames/);
    assert.match(r.stderr, /wrote .*clip\.webm: 50 frames/);
    assert.equal(await countFrames(out, true), 50);
  });

  it('a text file renamed .mp4 exits 3 with the unsupported_media code', async () => {
    const fake = join(dir, 'fake.mp4');
    await (await import('node:fs/promises')).writeFile(fake, 'hello');
    const r = await runCli(['remove', fake, '-o', join(dir, 'fake.webm')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /error \[unsupported_media\]: The file is not a video/);
  });

  it('an unknown tier is a usage error (exit 2)', async () => {
    const r = await runCli(['remove', 'x.mp4', '-o', 'y.webm', '--model', 'ultra']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ultra/);
  });

  it('Ctrl-C (SIGINT) cancels within 2 s: exit 130, no ffmpeg left, no partial output', async () => {
    const input = join(dir, 'long.mp4');
    await makeClip(input, { seconds: 60, width: 640, height: 360 });
    const out = join(dir, 'cancel-me.webm');
    const child = spawn(process.execPath, [cli, 'remove', input, '-o', out, '--model', 'original'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Wait until frames flow (the model is loaded and ffmpeg runs).
    for (let i = 0; i < 600 && !/process: [1-9]/.test(stderr); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok((await ffmpegsNaming('cancel-me')).length >= 1, `encoder should be running; stderr: ${stderr}`);
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await closed;
    assert.ok(Date.now() - t0 < 2000, `exit took ${Date.now() - t0} ms`);
    assert.equal(code, 130, stderr);
    assert.deepEqual(await ffmpegsNaming('cancel-me'), []);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('cancel-me')),
      [],
    );
  });

  it('--spec takes a POST /v1/jobs body: legacy bg_type + output_format mp4 gives an opaque H.264 file', async () => {
    const input = join(dir, 'spec-clip.mp4');
    await makeClip(input, { seconds: 1, audio: true });
    const spec = join(dir, 'job.json');
    await writeFile(
      spec,
      JSON.stringify({ video_url: input, bg_type: 'custom', bg_color: [255, 0, 255], output_format: 'mp4' }),
    );
    const out = join(dir, 'spec-out.bin');
    const r = await runCli(['remove', '--spec', spec, '-o', out, '--model', 'human', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name,pix_fmt',
      '-of',
      'csv=p=0',
      out,
    ]);
    assert.match(stdout, /h264,yuv420p/);
    assert.match(stdout, /aac/);
  });

  it('a transparent background with mp4 is alpha_not_supported (exit 2), and nothing is written', async () => {
    const input = join(dir, 'alpha-clip.mp4');
    await makeClip(input, { seconds: 1 });
    const out = join(dir, 'transparent.mp4');
    const r = await runCli(['remove', input, '-o', out, '--model', 'human']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error \[alpha_not_supported\]/);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('transparent')),
      [],
    );
  });

  it('--spec with an invalid field names it (invalid_request, exit 2)', async () => {
    const spec = join(dir, 'bad.json');
    await writeFile(spec, JSON.stringify({ composition: { foreground: { anchor: 'middle' } } }));
    const r = await runCli(['remove', 'x.mp4', '--spec', spec, '-o', join(dir, 'bad.webm')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error \[invalid_request\]: composition\.foreground\.anchor/);
  });
});
