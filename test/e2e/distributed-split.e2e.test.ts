import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BullmqJobQueue } from '../../src/adapters/bullmq/bullmq-job-queue.ts';
import type { JobSegmentsTable } from '../../src/adapters/sql/database.ts';
import { creditsFor } from '../../src/core/credits.ts';
import {
  clusterAdminToken,
  clusterUnavailable,
  ledgerOf,
  publicUrl,
  startCluster,
  type Cluster,
  type Node,
} from '../helpers/cluster.ts';
import { countFrames, ffprobeJson, tempDir } from '../helpers/media.ts';
import { longClip, waitFor } from '../worker/worker-fixture.ts';

const skip = await clusterUnavailable();

/** 12 s at 25 fps with a keyframe every 2 s: three 4 s segments of 100 frames. */
const seconds = 12;
const frames = 300;
const cost = creditsFor('human', seconds);

/** The job_segments columns this test reads. */
type SegmentRow = Omit<JobSegmentsTable, 'job_id' | 'blob_prefix' | 'created_at' | 'updated_at'>;

/** What GET /v1/jobs/{id} answers (the fields this test reads). */
interface JobView {
  id: string;
  status: string;
  progress: number;
  frames_done: number | null;
  frames_total: number | null;
  eta_seconds: number | null;
  output_url: string | null;
  credits_used: number | null;
  billing_status: string;
  error: string | null;
}

/** One poll while the job was processing: the API's view, then the segment rows. */
interface Sample {
  job: JobView;
  segments: SegmentRow[];
}

/** The node's own address for a link the deployment gave out under its public URL. */
function via(node: { url: string }, link: string): string {
  return link.startsWith(publicUrl) ? node.url + link.slice(publicUrl.length) : link;
}

/**
 * Issue 7 over the distributed stack: API node and worker processes apart, PostgreSQL store,
 * BullMQ on Redis, S3 (Swift) blobs. A job longer than ALPHACUT_SPLIT_MIN_SECONDS is split at
 * keyframes, its segments are rendered by both workers at once and joined, with progress summed
 * over the segments; a worker killed mid-segment leaves that segment to the other worker, and the
 * job completes once, charged once, with no intermediate left in S3; a cancel stops the segments
 * on both workers. The in-process counterpart (frame-exactness against a whole run, mattes at the
 * seams, mp4 and gif joins) is test/worker/split-join.test.ts.
 */
describe('distributed split and join: two worker processes, PostgreSQL, BullMQ, S3', { skip }, () => {
  let c: Cluster;
  let dir: string;
  let cleanup: () => Promise<void>;
  let clip: string;
  let key: string;
  let keyId: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-dist-split-'));
    clip = join(dir, 'long.mp4');
    await longClip(clip, seconds);
    c = await startCluster({
      workerEnv: {
        ALPHACUT_SPLIT_MIN_SECONDS: '4',
        ALPHACUT_SEGMENT_SECONDS: '4',
        // Short leases, so a killed worker's segment is claimable again within seconds.
        ALPHACUT_WORKER_LEASE_MS: '3000',
      },
    });
    await Promise.all([c.startApi(), c.startWorker(), c.startWorker()]);
    const res = await fetch(`${c.apis[0]!.url}/v1/admin/keys`, {
      method: 'POST',
      headers: { 'x-admin-token': clusterAdminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'dist-split', credits: 100 }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    ({ key, id: keyId } = (await res.json()) as { key: string; id: string });
  });
  after(async () => {
    await c?.close();
    await cleanup?.();
  });

  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${c.apis[0]!.url}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { 'x-api-key': key, ...(init.headers as Record<string, string>) },
    });

  const getJob = async (id: string): Promise<JobView> => {
    const r = await call(`/v1/jobs/${id}`);
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as JobView;
  };

  const segments = async (id: string): Promise<SegmentRow[]> =>
    (
      await c.db.query<SegmentRow>(
        'select idx, start_frame, end_frame, status, run_id, worker_id, frames_done, claims from job_segments where job_id = $1 order by idx',
        [id],
      )
    ).rows;

  const credits = async (): Promise<{ used: number; reserved: number }> => {
    const b = (await (await call('/v1/credits')).json()) as {
      used_credits: number;
      reserved_credits: number;
    };
    return { used: b.used_credits, reserved: b.reserved_credits };
  };

  /** Uploads the clip and starts a job on it (human, WebM with alpha); returns the job id. */
  async function submit(): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([await readFile(clip)]), 'long.mp4');
    const up = await call('/v1/uploads', { method: 'POST', body: form });
    assert.equal(up.status, 201, await up.clone().text());
    const { video_url } = (await up.json()) as { video_url: string };
    const created = await call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ video_url, model: 'human', output_format: 'webm' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    return ((await created.json()) as { id: string }).id;
  }

  /** Polls the job until it settles, keeping every sample taken while it was processing with segments. */
  async function settle(id: string): Promise<{ done: JobView; samples: Sample[] }> {
    const samples: Sample[] = [];
    const until = Date.now() + 240_000;
    for (;;) {
      const job = await getJob(id);
      if (['completed', 'failed', 'canceled'].includes(job.status)) return { done: job, samples };
      const segs = await segments(id);
      if (job.status === 'processing' && segs.length > 0) samples.push({ job, segments: segs });
      if (Date.now() > until) throw new Error(`job ${id} did not settle: ${JSON.stringify(job)}`);
      await sleep(200);
    }
  }

  /**
   * Kills (-9, with its ffmpeg and inference children) the worker of the first segment seen
   * rendering (frames done > 0). The worker is frozen (SIGSTOP) first and the segment read
   * again, so the kill surely lands before the segment is done, however fast this machine
   * renders; should it have finished meanwhile, the worker goes on and the next one is taken.
   */
  async function killMidSegment(id: string): Promise<{ node: Node; segment: SegmentRow }> {
    const until = Date.now() + 240_000;
    while (Date.now() < until) {
      const { rows } = await c.db.query<{ status: string }>('select status from jobs where id = $1', [id]);
      if (!['pending', 'processing'].includes(rows[0]?.status ?? '')) break;
      const seg = (await segments(id)).find(
        (g) => g.status === 'processing' && g.frames_done > 0 && workerOf(g.worker_id),
      );
      if (seg) {
        const node = workerOf(seg.worker_id)!;
        process.kill(-node.child.pid!, 'SIGSTOP');
        const now = (await segments(id))[seg.idx]!;
        if (now.status === 'processing' && now.run_id === seg.run_id) {
          process.kill(-node.child.pid!, 'SIGKILL');
          await once(node.child, 'exit');
          return { node, segment: now };
        }
        process.kill(-node.child.pid!, 'SIGCONT');
      }
      await sleep(50);
    }
    throw new Error(`no segment of job ${id} was seen rendering`);
  }

  /** The output through its signed link (a redirect to S3), saved to a file. */
  async function download(job: JobView, name: string): Promise<string> {
    assert.ok(job.output_url);
    const redirect = await fetch(via(c.apis[0]!, job.output_url), { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const file = await fetch(redirect.headers.get('location') ?? '');
    assert.equal(file.status, 200);
    const out = join(dir, name);
    await writeFile(out, Buffer.from(await file.arrayBuffer()));
    return out;
  }

  /** 300 frames (decoded by libvpx-vp9, which keeps alpha) at 25 fps, and ~12 s of audio. */
  async function assertOutput(file: string): Promise<void> {
    assert.equal(await countFrames(file, true), frames);
    const v = (await ffprobeJson(file, [
      '-select_streams',
      'v:0',
      '-show_entries',
      'frame=pts_time',
    ])) as unknown as {
      frames: { pts_time: string }[];
    };
    // WebM timestamps are whole milliseconds, and the first one is the Opus encoder's delay
    // (6.5 ms), as in a whole run of the job; from there, one frame every 40 ms across the seams.
    const pts = v.frames.map((f) => Number(f.pts_time));
    assert.ok(pts[0]! >= 0 && pts[0]! < 0.01, `first frame at ${pts[0]} s`);
    const off = pts.flatMap((t, i) => (Math.abs(t - pts[0]! - i / 25) > 0.0015 ? [`#${i}: ${t}`] : []));
    assert.deepEqual(off, [], 'one frame every 40 ms, no gap or repeat at a seam');
    const { streams, format } = await ffprobeJson(file);
    const audio = streams.filter((s) => s.codec_type === 'audio');
    assert.equal(audio.length, 1, 'one audio stream');
    const a = (await ffprobeJson(file, [
      '-select_streams',
      'a:0',
      '-show_entries',
      'packet=pts_time,duration_time',
    ])) as unknown as { packets: { pts_time: string; duration_time?: string }[] };
    const start = Math.min(...a.packets.map((p) => Number(p.pts_time)));
    const end = Math.max(...a.packets.map((p) => Number(p.pts_time) + Number(p.duration_time ?? 0)));
    assert.ok(start < 0.05 && end - start > 11.9 && end - start < 12.1, `audio ${start}–${end} s`);
    assert.ok(Math.abs(Number(format.duration) - seconds) < 0.1, `duration ${format.duration}`);
  }

  /** A reserve and a charge of the job's cost, nothing else; and nothing left reserved. */
  async function assertChargedOnce(id: string, job: JobView): Promise<void> {
    assert.equal(job.credits_used, cost);
    assert.equal(job.billing_status, 'charged');
    assert.deepEqual(await ledgerOf(c, id), [`charge:${cost}`, `reserve:${cost}`]);
  }

  /**
   * The job's objects in S3 are its input copy and the join's two outputs: no segment
   * intermediate is left under `segments/`, and no output of another run.
   */
  async function assertNoOrphans(id: string): Promise<void> {
    const row = (
      await c.db.query<{ input_blob: string; output_blob: string; mask_blob: string }>(
        'select input_blob, output_blob, mask_blob from jobs where id = $1',
        [id],
      )
    ).rows[0]!;
    const mine = (await c.objects()).filter((k) => k.startsWith(`deploy/${keyId}/jobs/${id}/`)).sort();
    assert.deepEqual(
      mine.filter((k) => k.includes('/segments/')),
      [],
      'segment intermediates left',
    );
    assert.deepEqual(mine, [row.input_blob, row.mask_blob, row.output_blob].map((k) => `deploy/${k}`).sort());
  }

  /** Which worker process a segment row's worker id names (ids are `<host>-<pid>-<hex>`). */
  function workerOf(workerId: string | null): Node | undefined {
    return c.workers.find((w) => new RegExp(`-${w.child.pid}-[0-9a-f]+$`).test(workerId ?? ''));
  }

  it('splits a 12 s job into 3 segments that both workers render; progress aggregates; joined once, charged once', async () => {
    const before = await credits();
    const id = await submit();
    const { done, samples } = await settle(id);
    assert.equal(done.status, 'completed', JSON.stringify(done));

    const segs = await segments(id);
    assert.deepEqual(
      segs.map((s) => [s.start_frame, s.end_frame, s.status, s.frames_done]),
      [
        [0, 100, 'done', 100],
        [100, 200, 'done', 100],
        [200, 300, 'done', 100],
      ],
    );
    const ran = new Set(segs.map((s) => workerOf(s.worker_id)));
    assert.ok(!ran.has(undefined), `segments ran on the cluster's workers: ${segs.map((s) => s.worker_id)}`);
    assert.equal(ran.size, 2, `segments ran on both worker processes: ${segs.map((s) => s.worker_id)}`);

    assert.ok(
      samples.some(
        (s) => new Set(s.segments.filter((g) => g.status === 'processing').map((g) => g.worker_id)).size >= 2,
      ),
      'two segments rendered at the same time, on different workers',
    );

    // Progress as the API shows it: between 0 and 100 while segments run, over the whole job's
    // frames, summed over segments (more frames than any single segment has done), with an ETA.
    assert.ok(samples.length > 0, 'the job was seen processing');
    assert.ok(
      samples.some((s) => s.job.progress > 0 && s.job.progress < 100),
      `progress strictly between 0 and 100: ${samples.map((s) => s.job.progress)}`,
    );
    assert.ok(samples.every((s) => s.job.frames_total === frames));
    assert.ok(
      samples.some((s) => (s.job.frames_done ?? 0) > Math.max(...s.segments.map((g) => g.frames_done))),
      'frames_done sums the segments',
    );
    assert.ok(
      samples.some((s) => s.job.eta_seconds !== null && s.job.eta_seconds > 0),
      'an ETA while segments run',
    );

    assert.equal(done.progress, 100);
    assert.equal(done.frames_total, frames);
    await assertOutput(await download(done, 'split.webm'));
    await assertChargedOnce(id, done);
    const after = await credits();
    assert.equal(after.used - before.used, cost);
    assert.equal(after.reserved, before.reserved);
    await assertNoOrphans(id);
  });

  it('kill -9 of a worker mid-segment: the other worker renders it again; completed once, charged once, no orphans', async () => {
    const before = await credits();
    const id = await submit();
    const killing = killMidSegment(id);
    killing.catch(() => {}); // awaited below, after the job settled
    const { done } = await settle(id);
    const killed = await killing;
    assert.equal(done.status, 'completed', JSON.stringify(done));

    const segs = await segments(id);
    assert.ok(segs.every((s) => s.status === 'done' && s.frames_done === 100));
    const again = segs[killed.segment.idx]!;
    // (More than 2 only if a starved worker also lost a lease, which this box may do.)
    assert.ok(again.claims >= 2, 'the killed segment was rendered a second time');
    assert.notEqual(again.run_id, killed.segment.run_id);
    const survivor = c.workers.find((w) => w !== killed.node)!;
    assert.equal(workerOf(again.worker_id), survivor, 'the surviving worker finished it');

    assert.equal(done.frames_total, frames);
    await assertOutput(await download(done, 'killed.webm'));
    await assertChargedOnce(id, done);
    const after = await credits();
    assert.equal(after.used - before.used, cost);
    assert.equal(after.reserved, before.reserved);
    // The job itself was never re-claimed: only its segment was.
    const transitions = await c.db.query<{ to_status: string; reason: string | null }>(
      'select to_status, reason from job_transitions where job_id = $1 order by at, id',
      [id],
    );
    assert.deepEqual(
      transitions.rows.map((t) => `${t.to_status}${t.reason ? ` (${t.reason})` : ''}`),
      ['created', 'pending', 'processing', 'completed'],
    );
    await assertNoOrphans(id);
  });

  it('cancel stops the segments on every worker, refunds, and leaves no intermediate in S3', async () => {
    // The killed worker's place is taken, so two workers render at once again.
    if (c.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).length < 2)
      await c.startWorker();
    const before = await credits();
    const id = await submit();
    await waitFor(
      'two segments rendering on two workers',
      async () => {
        const running = (await segments(id)).filter((g) => g.status === 'processing');
        return new Set(running.map((g) => g.worker_id)).size >= 2 && running.some((g) => g.frames_done > 0);
      },
      120_000,
    );
    const canceled = await call(`/v1/jobs/${id}/cancel`, { method: 'POST' });
    assert.equal(canceled.status, 200, await canceled.clone().text());
    const view = (await canceled.json()) as JobView;
    assert.equal(view.status, 'canceled');
    assert.equal(view.billing_status, 'refunded');
    assert.deepEqual(await credits(), before);

    // Every render stops: the queue drains (each worker acks its segment once it has stopped)
    // and no ffmpeg is left in any worker's process group.
    const queue = await BullmqJobQueue.open({
      redisUrl: c.env.REDIS_URL!,
      prefix: c.env.ALPHACUT_REDIS_PREFIX!,
    });
    try {
      await waitFor(
        'the queue to drain',
        async () => {
          const q = await queue.stats();
          return q.active === 0 && q.queued === 0;
        },
        60_000,
      );
    } finally {
      await queue.close();
    }
    const live = c.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    await waitFor('the workers’ ffmpeg processes to end', async () => {
      const { stdout } = await promisify(execFile)('ps', ['-eo', 'pgid=,comm=']);
      return !stdout
        .split('\n')
        .some((l) => /ffmpeg/.test(l) && live.some((w) => Number(l.trim().split(/\s+/)[0]) === w.child.pid));
    });

    const job = await getJob(id);
    assert.equal(job.status, 'canceled');
    assert.equal(job.output_url, null);
    const ledger = await c.db.query<{ kind: string }>(
      'select kind from credit_ledger where job_id = $1 order by kind',
      [id],
    );
    assert.deepEqual(
      ledger.rows.map((r) => r.kind),
      ['refund', 'reserve'],
    );
    await waitFor('no segment intermediate left', async () =>
      (await c.objects()).every((k) => !k.startsWith(`deploy/${keyId}/jobs/${id}/segments/`)),
    );
    const row = (await c.db.query<{ input_blob: string }>('select input_blob from jobs where id = $1', [id]))
      .rows[0]!;
    assert.deepEqual(
      (await c.objects()).filter((k) => k.startsWith(`deploy/${keyId}/jobs/${id}/`)),
      [`deploy/${row.input_blob}`],
    );
  });
});
