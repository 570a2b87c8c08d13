import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBlobStore } from '../../src/adapters/local-blob-store.ts';
import { sqliteLeaseQueue } from '../../src/adapters/lease-queue/sqlite-lease-queue.ts';
import { openSqliteDatabase } from '../../src/adapters/sqlite/sqlite-database.ts';
import { sqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.ts';
import { generateApiKey, generateWebhookSecret, hashApiKey } from '../../src/core/api-keys.ts';
import { uploadBlobKey } from '../../src/core/blob-key.ts';
import { creditsFor } from '../../src/core/credits.ts';
import { newJobId, newUploadId, type JobRecord } from '../../src/core/job.ts';
import type { ModelName } from '../../src/core/job-spec.ts';
import type { JobSegment } from '../../src/core/ports/job-store.ts';
import { defaultSplit, type SplitSettings } from '../../src/worker/worker-runtime.ts';

/**
 * bench/scale: one long clip through 1, 2 and 4 worker processes on this machine (embedded
 * SQLite store and lease queue shared through the file), plus a 1-worker split run that isolates
 * the split/join overhead. Writes bench/results/scale-<date>-<commit>.{json,md}.
 *
 *   npm run bench:scale [-- --clip path] [--loops 3] [--segment 8] [--model human] [--workers 1,2,4]
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const clipSource = flag('clip', join(root, '..', 'shared', 'media', 'clips', 'sam2-05_juggle.mp4'));
const loops = Number(flag('loops', '3'));
const segmentSeconds = Number(flag('segment', '8'));
const model = flag('model', 'human') as ModelName;
const workerCounts = flag('workers', '1,2,4').split(',').map(Number);

interface RunResult {
  label: string;
  workers: number;
  split: boolean;
  segments: number;
  warmupFrames: number;
  frames: number;
  wallSeconds: number;
  framesPerSecond: number;
  /** Wall time from the last segment's finish to the job's completion (the join, mostly encoding). */
  joinSeconds: number | null;
  /** Per segment: wall seconds from the job's start to its finish, and the worker that rendered it. */
  segmentTimes: { index: number; frames: number; doneAtSeconds: number; worker: string | null }[];
  /** 1-minute load average at the end: other work on the machine skews the figures. */
  loadAfter: number;
}

function ffprobeDuration(file: string): { seconds: number; fps: string; size: string } {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=r_frame_rate,width,height:format=duration',
    '-of',
    'json',
    file,
  ]).toString();
  const j = JSON.parse(out) as {
    streams: { r_frame_rate: string; width: number; height: number }[];
    format: { duration: string };
  };
  const s = j.streams[0]!;
  return { seconds: Number(j.format.duration), fps: s.r_frame_rate, size: `${s.width}x${s.height}` };
}

async function runOnce(
  clip: string,
  seconds: number,
  workers: number,
  split: SplitSettings | null,
): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'alphacut-scale-'));
  const dbFile = join(dir, 'alphacut.db');
  const blobRoot = join(dir, 'blobs');
  const scratch = join(dir, 'scratch');
  await mkdir(scratch, { recursive: true });
  const database = await openSqliteDatabase(dbFile);
  const store = sqliteJobStore(database);
  const queue = sqliteLeaseQueue(database);
  const blobs = new LocalBlobStore(blobRoot);
  const key = await store.createApiKey({
    keyHash: hashApiKey(generateApiKey()),
    fingerprint: 'ak_…bench',
    webhookSecret: generateWebhookSecret(),
  });
  await store.grantCredits(key.id, 1_000_000);
  const procs: ChildProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      const settings = { dbFile, blobRoot, scratch, workerId: `w${i + 1}`, split };
      const p = spawn(process.execPath, ['--import', 'tsx', join(here, 'scale-worker.ts')], {
        cwd: root,
        env: { ...process.env, ALPHACUT_SCALE_WORKER: JSON.stringify(settings) },
        stdio: ['ignore', 'inherit', process.env.ALPHACUT_SCALE_VERBOSE ? 'inherit' : 'ignore'],
      });
      procs.push(p);
    }
    // Model start-up is not what we measure: the workers warm up before the job is submitted.
    await sleep(3000);
    const uploadId = newUploadId();
    const inputBlob = uploadBlobKey(key.id, uploadId, 'input.mp4');
    await blobs.put(inputBlob, { path: clip });
    const t0 = Date.now();
    const job = await store.insertJob(
      {
        id: newJobId(),
        keyId: key.id,
        videoUrl: `upload://${uploadId}`,
        inputBlob,
        request: { model },
        model,
        outputFormat: 'webm',
        webhookUrl: null,
        metadata: null,
        durationSeconds: seconds,
        width: null,
        height: null,
        fps: null,
      },
      { credits: creditsFor(model, seconds) },
    );
    await queue.enqueue(job.id);
    let done: JobRecord | null = null;
    for (;;) {
      done = await store.getJobById(job.id);
      if (done && ['completed', 'failed', 'canceled'].includes(done.status)) break;
      await sleep(200);
    }
    const wall = (Date.now() - t0) / 1000;
    if (done.status !== 'completed') throw new Error(`job ${done.status}: ${done.error}`);
    const segments: JobSegment[] = await store.listSegments(job.id);
    const completedAt = Date.parse(done.completedAt ?? '');
    const lastSegment = Math.max(...segments.map((s) => Date.parse(s.updatedAt)));
    const frames = done.framesTotal ?? 0;
    return {
      label: `${workers} worker${workers > 1 ? 's' : ''}${split ? ', split' : ', whole'}`,
      workers,
      split: segments.length > 0,
      segments: segments.length,
      warmupFrames: segments.filter((s) => s.startFrame > 0).length * (split?.warmupFrames ?? 0),
      frames,
      wallSeconds: wall,
      framesPerSecond: frames / wall,
      joinSeconds: segments.length > 0 ? (completedAt - lastSegment) / 1000 : null,
      segmentTimes: segments.map((s) => ({
        index: s.index,
        frames: s.endFrame - s.startFrame,
        doneAtSeconds: (Date.parse(s.updatedAt) - t0) / 1000,
        worker: s.workerId,
      })),
      loadAfter: loadavg()[0] ?? 0,
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
    );
    await store.close();
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const loadBefore = loadavg()[0] ?? 0;
const work = await mkdtemp(join(tmpdir(), 'alphacut-scale-clip-'));
try {
  // A long clip with a keyframe every 2 s, as a camera or an upload usually has.
  const clip = join(work, 'long.mp4');
  const src = ffprobeDuration(clipSource);
  const rate = src.fps.split('/').map(Number);
  const gop = Math.round((rate[0]! / (rate[1] ?? 1)) * 2);
  execFileSync('ffmpeg', [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    '-stream_loop', String(loops - 1), '-i', clipSource,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-g', String(gop), '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', clip,
  ]); // prettier-ignore
  const info = ffprobeDuration(clip);
  const split: SplitSettings = { ...defaultSplit, minSeconds: 1, segmentSeconds };
  const runs: RunResult[] = [];
  const plan: [number, SplitSettings | null][] = [
    [1, null],
    [1, split],
    ...workerCounts.filter((n) => n > 1).map((n): [number, SplitSettings] => [n, split]),
  ];
  for (const [n, s] of plan) {
    process.stdout.write(`${n} worker(s), ${s ? 'split' : 'whole'}… `);
    const r = await runOnce(clip, info.seconds, n, s);
    runs.push(r);
    process.stdout.write(`${r.wallSeconds.toFixed(1)} s, ${r.framesPerSecond.toFixed(2)} fps\n`);
  }
  const base = runs[0]!;
  const splitOne = runs[1]!;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
  const date = new Date().toISOString().slice(0, 10);
  const result = {
    date,
    commit,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadBefore },
    clip: { source: clipSource, loops, ...info },
    model,
    segmentSeconds,
    warmupFramesPerSegment: split.warmupFrames,
    runs: runs.map((r) => ({ ...r, speedup: base.wallSeconds / r.wallSeconds })),
    overhead: {
      /** What splitting costs when nothing runs in parallel: 1 worker split vs 1 worker whole. */
      splitJoinSeconds: splitOne.wallSeconds - base.wallSeconds,
      splitJoinFraction: (splitOne.wallSeconds - base.wallSeconds) / base.wallSeconds,
      joinSeconds: splitOne.joinSeconds,
      warmupFrames: splitOne.warmupFrames,
    },
  };
  const out = join(root, 'bench', 'results', `scale-${date}-${commit}`);
  await writeFile(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    `# bench/scale — ${date} (${commit})`,
    '',
    `Machine: ${result.machine.cpus} × ${result.machine.model}. Clip: ${clipSource.split('/').pop()} looped ${loops}× → ${info.size} ${info.fps} fps, ${info.seconds.toFixed(1)} s (${base.frames} frames), keyframe every 2 s. Model \`${model}\`, WebM output, segments of ~${segmentSeconds} s with ${split.warmupFrames} warm-up frames. Each worker is its own process; the store and lease queue are one SQLite file.`,
    '',
    '| run | segments | wall s | frames/s | speed-up vs 1 whole | join s | load after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.runs.map(
      (r) =>
        `| ${r.label} | ${r.segments || '–'} | ${r.wallSeconds.toFixed(1)} | ${r.framesPerSecond.toFixed(2)} | ${r.speedup.toFixed(2)}× | ${r.joinSeconds?.toFixed(1) ?? '–'} | ${r.loadAfter.toFixed(1)} |`,
    ),
    '',
    `Split/join overhead (1 worker, split vs whole): ${result.overhead.splitJoinSeconds.toFixed(1)} s (${(result.overhead.splitJoinFraction * 100).toFixed(0)} %), of which the join ${result.overhead.joinSeconds?.toFixed(1)} s and ${result.overhead.warmupFrames} warm-up frames.`,
    '',
  ].join('\n');
  await writeFile(`${out}.md`, md);
  process.stdout.write(`\n${md}\nwrote ${out}.json and .md\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
