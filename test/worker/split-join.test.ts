import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveDataDir } from '../../src/app/paths.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { parseEntry } from '../../src/core/queue-entries.ts';
import { startWorker, type RunningWorker } from '../../src/worker/start-worker.ts';
import { defaultSplit, type SplitSettings } from '../../src/worker/worker-runtime.ts';
import { countFrames, ffprobeJson, readGray, readWebmAlpha, tempDir } from '../helpers/media.ts';
import { longClip, waitFor, workerFixture, type WorkerFixture } from './worker-fixture.ts';

const seconds = 12;
const split: SplitSettings = { ...defaultSplit, minSeconds: 4, segmentSeconds: 4 };

/** Video frame timestamps and where the audio starts and ends, from the packets ffprobe reads. */
async function timing(file: string): Promise<{ pts: string[]; audioStart: number; audioEnd: number }> {
  const read = async (stream: string, entries: string): Promise<Record<string, string>[]> => {
    const j = (await ffprobeJson(file, ['-select_streams', stream, '-show_entries', entries])) as unknown as {
      frames?: Record<string, string>[];
      packets?: Record<string, string>[];
    };
    return j.frames ?? j.packets ?? [];
  };
  const frames = await read('v:0', 'frame=pts_time');
  const packets = await read('a:0', 'packet=pts_time,duration_time');
  if (packets.length === 0) return { pts: frames.map((f) => f.pts_time ?? ''), audioStart: 0, audioEnd: 0 };
  const ends = packets.map((p) => Number(p.pts_time) + Number(p.duration_time ?? 0));
  return {
    pts: frames.map((f) => f.pts_time ?? ''),
    audioStart: Math.min(...packets.map((p) => Number(p.pts_time))),
    audioEnd: Math.max(...ends),
  };
}

describe('split and join (SQLite store, lease queue, 2 workers, human model)', () => {
  let clips: string;
  let cleanupClips: () => Promise<void>;
  let clip: string;
  before(async () => {
    ({ dir: clips, cleanup: cleanupClips } = await tempDir('alphacut-split-'));
    clip = join(clips, 'long.mp4');
    await longClip(clip, seconds);
  });
  after(() => cleanupClips());

  async function withWorkers(
    n: number,
    splitting: SplitSettings | undefined,
    fn: (f: WorkerFixture, start: () => RunningWorker[]) => Promise<void>,
  ): Promise<void> {
    const f = await workerFixture();
    const stop = new AbortController();
    const workers: RunningWorker[] = [];
    const start = (): RunningWorker[] => {
      for (let i = 0; i < n; i++)
        workers.push(
          startWorker({
            store: f.store,
            queue: f.queue,
            blobs: f.blobs,
            dataDir: resolveDataDir(),
            scratchDir: f.scratch,
            workerId: `w${workers.length + 1}`,
            leaseMs: 2000,
            pollMs: 50,
            signal: stop.signal,
            ...(splitting ? { split: splitting } : {}),
          }),
        );
      return workers;
    };
    try {
      await fn(f, start);
    } finally {
      stop.abort();
      await Promise.all(workers.map((w) => w.stopped));
      await f.cleanup();
    }
  }

  async function settled(f: WorkerFixture, id: string): Promise<JobRecord> {
    return waitFor(
      'the job to settle',
      async () => {
        const j = await f.store.getJob(f.keyId, id);
        return j && ['completed', 'failed', 'canceled'].includes(j.status) ? j : undefined;
      },
      120_000,
    );
  }

  let whole: { file: string; job: JobRecord } | undefined;

  it('an unsplit run of the job (the reference)', () =>
    withWorkers(1, undefined, async (f, start) => {
      start();
      const job = await f.submit(clip, seconds);
      const done = await settled(f, job.id);
      assert.equal(done.status, 'completed', `${done.errorCode}: ${done.error}`);
      assert.deepEqual(await f.store.listSegments(job.id), []);
      const file = join(clips, 'whole.webm');
      await copyFile((await f.blobs.localPath(done.outputBlob!)).path, file);
      whole = { file, job: done };
    }));

  it('splits at keyframes over 2 workers, aggregates progress, and joins frame-exactly', () =>
    withWorkers(2, split, async (f, start) => {
      assert.ok(whole, 'the reference run failed');
      start();
      const job = await f.submit(clip, seconds);
      const samples: { jobFrames: number; eta: number | null; maxSeg: number; processing: number }[] = [];
      let done: JobRecord | undefined;
      while (!done) {
        const j = await f.store.getJob(f.keyId, job.id);
        const segs = await f.store.listSegments(job.id);
        if (j && segs.length > 0 && j.status === 'processing')
          samples.push({
            jobFrames: j.framesDone,
            eta: j.etaSeconds,
            maxSeg: Math.max(...segs.map((s) => s.framesDone)),
            processing: segs.filter((s) => s.status === 'processing' && s.framesDone > 0).length,
          });
        if (j && ['completed', 'failed', 'canceled'].includes(j.status)) done = j;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(done.status, 'completed', `${done.errorCode}: ${done.error}`);

      const segs = await f.store.listSegments(job.id);
      assert.deepEqual(
        segs.map((s) => [s.startFrame, s.endFrame]),
        [
          [0, 100],
          [100, 200],
          [200, 300],
        ],
      );
      assert.ok(new Set(segs.map((s) => s.workerId)).size >= 2, 'segments ran on both workers');
      assert.ok(
        samples.some((s) => s.processing >= 2),
        'two segments rendered at the same time',
      );
      assert.ok(
        samples.some((s) => s.jobFrames > s.maxSeg),
        'the job’s frames_done sums the segments',
      );
      assert.ok(
        samples.some((s) => s.eta !== null && s.eta > 0),
        'an ETA while segments run',
      );

      // Same outputs as the whole run: frames, timestamps, audio; charged once, like it.
      assert.equal(done.framesTotal, whole.job.framesTotal);
      assert.equal(done.creditsUsed, whole.job.creditsUsed);
      assert.deepEqual((await f.store.listLedger(f.keyId, { jobId: job.id })).map((l) => l.kind).sort(), [
        'charge',
        'reserve',
      ]);
      const out = (await f.blobs.localPath(done.outputBlob!)).path;
      assert.equal(await countFrames(out, true), 300);
      const [a, b] = await Promise.all([timing(whole.file), timing(out)]);
      assert.deepEqual(b.pts, a.pts);
      assert.ok(a.audioEnd - a.audioStart > 11.9, `reference audio ${a.audioStart}–${a.audioEnd}`);
      assert.equal(b.audioStart, a.audioStart);
      assert.equal(b.audioEnd, a.audioEnd);

      // Mattes: identical away from the seams; at a seam only the warm-up's residue differs.
      const [ra, rb] = await Promise.all([readWebmAlpha(whole.file, 320, 240), readWebmAlpha(out, 320, 240)]);
      const diffs = ra.map((fa, i) => {
        const fb = rb[i]!;
        let sum = 0;
        for (let p = 0; p < fa.length; p++) sum += Math.abs(fa[p]! - fb[p]!);
        return sum / fa.length;
      });
      const seams = [100, 200].flatMap((s) => [s - 1, s, s + 1, s + 2]);
      const maxAt = (idx: number[]): number => Math.max(...idx.map((i) => diffs[i] ?? 0));
      const maxAll = Math.max(...diffs);
      console.log(
        `alpha mean |Δ| per frame: max overall ${maxAll.toFixed(3)}, max at seams ${maxAt(seams).toFixed(3)} (0..255)`,
      );
      assert.ok(maxAll < 2, `alpha differs by ${maxAll.toFixed(3)}/255 on some frame`);
      // Intermediates are gone once the job completed.
      assert.equal((await f.blobs.deletePrefix(`${f.keyId}/jobs/${job.id}/segments/`)) === 0, true);
    }));

  // The webm job above joins by packet copy; these cover the other two joins: another codec of the
  // packet-copy family (H.264 with B-frames, AAC audio) and the lossless re-encode (GIF).
  const formats: [string, Record<string, unknown>][] = [
    ['mp4', { output_format: 'mp4', background: { type: 'color', color: '#20a040' } }],
    ['gif', { output_format: 'gif' }],
  ];
  for (const [format, request] of formats)
    it(`a split ${format} job gives the whole run's frames, timestamps and audio`, async () => {
      const outputs: string[] = [];
      for (const splitting of [undefined, split])
        await withWorkers(splitting ? 2 : 1, splitting, async (f, start) => {
          start();
          const job = await f.submit(clip, seconds, { request });
          const done = await settled(f, job.id);
          assert.equal(done.status, 'completed', `${done.errorCode}: ${done.error}`);
          assert.equal((await f.store.listSegments(job.id)).length, splitting ? 3 : 0);
          const file = join(clips, `${format}-${outputs.length}.${format}`);
          await copyFile((await f.blobs.localPath(done.outputBlob!)).path, file);
          outputs.push(file);
        });
      const [wholeFile, joined] = outputs as [string, string];
      assert.equal(await countFrames(joined), 300);
      const [a, b] = await Promise.all([timing(wholeFile), timing(joined)]);
      assert.deepEqual(b.pts, a.pts);
      assert.equal(b.audioStart, a.audioStart);
      assert.equal(b.audioEnd, a.audioEnd);
      if (format === 'mp4')
        assert.ok(a.audioEnd - a.audioStart > 11.9, `audio ${a.audioStart}–${a.audioEnd}`);
      // Same pictures: the split run's own encode differs from the whole run's by codec noise only.
      const [ga, gb] = (await Promise.all(
        [wholeFile, joined].map((file) => readGray(['-i', file], 320, 240)),
      )) as [Uint8Array[], Uint8Array[]];
      assert.equal(gb.length, ga.length);
      let worst = 0;
      for (let i = 0; i < ga.length; i++) {
        let sum = 0;
        for (let p = 0; p < ga[i]!.length; p++) sum += Math.abs(ga[i]![p]! - gb[i]![p]!);
        worst = Math.max(worst, sum / ga[i]!.length);
      }
      console.log(`${format}: luma mean |Δ| split vs whole, worst frame ${worst.toFixed(3)} (0..255)`);
      assert.ok(worst < 2, `luma differs by ${worst.toFixed(3)}/255 on some frame`);
      // The container says the same about the picture: codec, size, pixel format, colour tags.
      const described = async (file: string): Promise<unknown> => {
        const { streams } = await ffprobeJson(file, ['-select_streams', 'v:0']);
        const v = streams[0] ?? {};
        const keys = [
          'codec_name',
          'width',
          'height',
          'pix_fmt',
          'color_space',
          'color_primaries',
          'color_transfer',
        ];
        return Object.fromEntries(keys.map((k) => [k, v[k]]));
      };
      assert.deepEqual(await described(joined), await described(wholeFile));
    });

  it('cancel stops every segment within seconds', () =>
    withWorkers(2, split, async (f, start) => {
      start();
      const job = await f.submit(clip, seconds);
      await waitFor(
        'two segments rendering',
        async () =>
          (await f.store.listSegments(job.id)).filter((s) => s.status === 'processing' && s.framesDone > 0)
            .length >= 2,
        60_000,
      );
      const t0 = Date.now();
      await f.store.cancelJob(f.keyId, job.id);
      await waitFor(
        'the queue to drain',
        async () => {
          const s = await f.queue.stats();
          return s.active === 0 && s.queued === 0;
        },
        10_000,
      );
      assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
      const canceled = await f.store.getJob(f.keyId, job.id);
      assert.equal(canceled?.status, 'canceled');
      assert.equal(canceled?.billingStatus, 'refunded');
      assert.equal(canceled?.outputBlob, null);
      assert.ok((await f.store.listSegments(job.id)).every((s) => s.status !== 'done'));
      await waitFor('temp files removed', async () => (await f.scratchEntries()).length === 0, 5000);
    }));

  it('a segment whose worker vanished is re-claimed after its lease and counts once', () =>
    withWorkers(1, split, async (f, start) => {
      const job = await f.submit(clip, seconds);
      start();
      await waitFor('the split', async () => (await f.store.listSegments(job.id)).length > 0);
      // A worker that claims a segment, begins it, then dies: no heartbeat, no finish.
      let ghost: { index: number; runId: string } | undefined;
      while (!ghost) {
        const id = await f.queue.claim('ghost', 1500);
        assert.ok(id, 'a segment to claim');
        const entry = parseEntry(id);
        if (entry.kind !== 'segment') continue;
        const begun = await f.store.beginSegment(job.id, entry.index, 'ghost');
        assert.ok(begun);
        ghost = { index: entry.index, runId: begun.segment.runId! };
      }
      start(); // a second worker
      const done = await settled(f, job.id);
      assert.equal(done.status, 'completed', `${done.errorCode}: ${done.error}`);
      const seg = (await f.store.listSegments(job.id))[ghost.index]!;
      assert.equal(seg.claims, 2);
      assert.notEqual(seg.runId, ghost.runId);
      assert.notEqual(seg.workerId, 'ghost');
      // The ghost's late report and finish are refused.
      assert.equal(await f.store.updateSegmentProgress(job.id, ghost.index, ghost.runId, 10), null);
      assert.equal(
        await f.store.finishSegment({
          jobId: job.id,
          index: ghost.index,
          runId: ghost.runId,
          blobPrefix: 'x',
        }),
        null,
      );
      assert.equal(await countFrames((await f.blobs.localPath(done.outputBlob!)).path, true), 300);
      assert.deepEqual((await f.store.listLedger(f.keyId, { jobId: job.id })).map((l) => l.kind).sort(), [
        'charge',
        'reserve',
      ]);
    }));
});
