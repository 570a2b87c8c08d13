import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jobBlobKey, segmentBlobPrefix, segmentsBlobFolder } from '../../src/core/blob-key.ts';
import { makeClip } from '../helpers/media.ts';
import { multipartBody, startHarness, type Harness } from './api-harness.ts';

/** The job object fields API.md lists (the view may add more, never fewer). */
const jobFields = [
  'id',
  'status',
  'progress',
  'output_url',
  'mask_url',
  'error',
  'error_code',
  'model',
  'output_format',
  'background',
  'composition',
  'text_prompt',
  'video_url',
  'webhook_url',
  'webhook_events',
  'metadata',
  'created_at',
  'started_at',
  'completed_at',
  'duration_seconds',
  'width',
  'height',
  'fps',
  'frames_total',
  'frames_done',
  'eta_seconds',
  'credits_reserved',
  'credits_used',
  'billing_status',
];

describe('jobs, uploads and files', () => {
  let h: Harness;
  let key: string;
  let clip: Buffer;
  let media: Server;
  let mediaBase: string;

  const post = (url: string, k: string, payload?: object, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url,
      headers: { 'x-api-key': k, ...headers },
      ...(payload ? { payload } : {}),
    });
  const get = (url: string, k: string) => h.app.inject({ method: 'GET', url, headers: { 'x-api-key': k } });

  async function upload(k: string): Promise<string> {
    const mp = multipartBody('file', 'clip.mp4', clip);
    const r = await h.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: { 'x-api-key': k, ...mp.headers },
      payload: mp.payload,
    });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().video_url as string;
  }

  before(async () => {
    h = await startHarness({ config: { maxActiveJobs: 3, uploadMaxBytes: 200_000 } });
    key = (await h.newKey(1000)).key;
    const clipPath = join(h.dir, 'clip.mp4');
    await makeClip(clipPath, { seconds: 1.5, width: 160, height: 120, fps: 10 });
    clip = await readFile(clipPath);
    media = createServer((req, res) => {
      if (req.url === '/clip.mp4') {
        res.writeHead(200, { 'content-type': 'video/mp4' });
        res.end(clip);
      } else if (req.url === '/text.mp4') {
        res.writeHead(200);
        res.end('this is not a video at all');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => media.listen(0, '127.0.0.1', r));
    mediaBase = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
  });
  after(async () => {
    media.close();
    await h.close();
  });

  it('uploads a video (201) and refuses non-video, non-multipart and oversize bodies', async () => {
    const mp = multipartBody('file', 'clip.mp4', clip);
    const r = await h.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: { 'x-api-key': key, ...mp.headers },
      payload: mp.payload,
    });
    assert.equal(r.statusCode, 201);
    const b = r.json();
    assert.equal(b.success, true);
    assert.match(b.video_id, /^upl_/);
    assert.equal(b.video_url, `http://localhost:80/v1/uploads/${b.video_id}`);
    assert.equal(b.filename, 'clip.mp4');
    assert.equal(b.size, clip.length);

    const text = multipartBody('file', 'notes.mp4', Buffer.from('hello, not a video'));
    const t = await h.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: { 'x-api-key': key, ...text.headers },
      payload: text.payload,
    });
    assert.equal(t.statusCode, 422);
    assert.equal(t.json().error.code, 'unsupported_media');

    const json = await post('/v1/uploads', key, { file: 'x' });
    assert.equal(json.statusCode, 415);
    assert.equal(json.json().error.code, 'unsupported_media');

    const big = multipartBody('file', 'big.mp4', Buffer.alloc(300_000, 1));
    const tooBig = await h.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: { 'x-api-key': key, ...big.headers },
      payload: big.payload,
    });
    assert.equal(tooBig.statusCode, 413);
    assert.equal(tooBig.json().error.code, 'payload_too_large');
  });

  it('creates a job from an upload: 201, pending, credits reserved, the full job object', async () => {
    const url = await upload(key);
    const r = await post('/v1/jobs', key, { video_url: url, model: 'original', metadata: { order: 7 } });
    assert.equal(r.statusCode, 201, r.body);
    const j = r.json();
    for (const f of jobFields) assert.ok(f in j, `job object lacks ${f}`);
    assert.equal(j.success, true);
    assert.equal(typeof j.message, 'string');
    assert.match(j.id, /^job_/);
    assert.equal(j.status, 'pending');
    assert.equal(j.billing_status, 'reserved');
    // ceil(1.5 s) = 2 s at 60 credits/minute → 2 credits.
    assert.equal(j.credits_reserved, 2);
    assert.deepEqual(j.background, { type: 'transparent' });
    assert.deepEqual(j.metadata, { order: 7 });
    assert.equal(j.width, 160);
    assert.equal(j.output_url, null);
    assert.equal(j.video_url, url);
    const fetched = await get(`/v1/jobs/${j.id}`, key);
    assert.equal(fetched.json().id, j.id);
    const credits = await get('/v1/credits', key);
    assert.equal(credits.json().reserved_credits, 2);
  });

  it('fetches remote inputs through the SSRF guard and reports why a URL failed', async () => {
    const { key: k } = await h.newKey(100);
    const ok = await post('/v1/jobs', k, { video_url: `${mediaBase}/clip.mp4`, model: 'human' });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().credits_reserved, 2);
    const missing = await post('/v1/jobs', k, { video_url: `${mediaBase}/nope.mp4` });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().error.message, /video_url .*HTTP 404/);
    const internal = await post('/v1/jobs', k, { video_url: 'http://169.254.169.254/latest/video.mp4' });
    assert.equal(internal.statusCode, 400);
    assert.equal(internal.json().error.details.reason, 'address_not_allowed');
    const text = await post('/v1/jobs', k, { video_url: `${mediaBase}/text.mp4` });
    assert.equal(text.statusCode, 422);
    assert.equal(text.json().error.code, 'unsupported_media');
    const list = await get('/v1/jobs', k);
    assert.equal(list.json().total, 1, 'failed creates leave no job behind');
  });

  it('validates requests: fields, alpha, text prompts, legacy flat fields', async () => {
    const url = await upload(key);
    const noUrl = await post('/v1/jobs', key, { model: 'light' });
    assert.equal(noUrl.statusCode, 400);
    assert.equal(noUrl.json().error.details.fields[0].field, 'video_url');
    const badModel = await post('/v1/jobs', key, { video_url: url, model: 'ultra' });
    assert.equal(badModel.json().error.details.fields[0].field, 'model');
    const alpha = await post('/v1/jobs', key, { video_url: url, output_format: 'mp4' });
    assert.equal(alpha.statusCode, 422);
    assert.equal(alpha.json().error.code, 'alpha_not_supported');
    const prompt = await post('/v1/jobs', key, { video_url: url, text_prompt: 'the dog' });
    assert.equal(prompt.statusCode, 422);
    assert.equal(prompt.json().error.code, 'text_prompt_unsupported');
    const hook = await post('/v1/jobs', key, { video_url: url, webhook_url: 'ftp://example.com/x' });
    assert.equal(hook.statusCode, 400);
    const legacy = await post('/v1/jobs', key, {
      video_url: url,
      output_format: 'mp4',
      bg_type: 'green',
      auto_start: false,
      metadata: { a: 1 },
    });
    assert.equal(legacy.statusCode, 201, legacy.body);
    assert.deepEqual(legacy.json().background, { type: 'color', color: '#09a246' });
    const custom = await post('/v1/jobs', key, {
      video_url: url,
      bg_type: 'custom',
      bg_color: [255, 0, 0],
      output_format: 'mp4',
      auto_start: false,
    });
    assert.deepEqual(custom.json().background, { type: 'color', color: '#ff0000' });
    const other = (await h.newKey()).key;
    const foreign = await post('/v1/jobs', other, { video_url: url });
    assert.equal(foreign.statusCode, 404, 'another key cannot use this upload');
  });

  it('drafts start with overrides once; a second start is 409; short credits are 402', async () => {
    const url = await upload(key);
    const d = await post('/v1/jobs', key, { video_url: url, auto_start: false });
    assert.equal(d.json().status, 'created');
    assert.equal(d.json().credits_reserved, 0);
    const s = await post(`/v1/jobs/${d.json().id}/start`, key, { model: 'pro', text_prompt: 'the box' });
    assert.equal(s.statusCode, 200, s.body);
    assert.equal(s.json().status, 'pending');
    assert.equal(s.json().model, 'pro');
    assert.equal(s.json().text_prompt, 'the box');
    assert.equal(s.json().credits_reserved, 6);
    const again = await h.app.inject({
      method: 'POST',
      url: `/v1/jobs/${d.json().id}/start`,
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      payload: '',
    });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'job_not_startable');

    const poor = await h.newKey(1);
    const purl = await upload(poor.key);
    const short = await post('/v1/jobs', poor.key, { video_url: purl });
    assert.equal(short.statusCode, 402);
    assert.equal(short.json().error.code, 'insufficient_credits');
    const draft = await post('/v1/jobs', poor.key, { video_url: purl, auto_start: false });
    const shortStart = await post(`/v1/jobs/${draft.json().id}/start`, poor.key);
    assert.equal(shortStart.statusCode, 402);
    const unknown = await post('/v1/jobs/job_nope/start', poor.key);
    assert.equal(unknown.statusCode, 404);
  });

  it('caps queued+processing jobs per key with 429', async () => {
    const { key: k } = await h.newKey(1000);
    const url = await upload(k);
    for (let i = 0; i < 3; i++) assert.equal((await post('/v1/jobs', k, { video_url: url })).statusCode, 201);
    const fourth = await post('/v1/jobs', k, { video_url: url });
    assert.equal(fourth.statusCode, 429);
    assert.equal(fourth.json().error.code, 'rate_limited');
    assert.ok(fourth.headers['retry-after']);
  });

  it('replays an Idempotency-Key and refuses it with another body', async () => {
    const { key: k } = await h.newKey(100);
    const url = await upload(k);
    const a = await post('/v1/jobs', k, { video_url: url }, { 'idempotency-key': 'order-1' });
    const b = await post('/v1/jobs', k, { video_url: url }, { 'idempotency-key': 'order-1' });
    assert.equal(a.statusCode, 201);
    assert.equal(b.statusCode, 201);
    assert.equal(b.json().id, a.json().id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.equal((await get('/v1/credits', k)).json().reserved_credits, 2, 'charged once');
    const c = await post('/v1/jobs', k, { video_url: url, model: 'light' }, { 'idempotency-key': 'order-1' });
    assert.equal(c.statusCode, 409);
    assert.equal(c.json().error.code, 'idempotency_conflict');
  });

  it('replays an Idempotency-Key on a multipart upload without storing the file twice', async () => {
    const { key: k } = await h.newKey(100);
    const send = (file: Buffer, name: string) => {
      const mp = multipartBody('file', name, file);
      return h.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: { 'x-api-key': k, 'idempotency-key': 'up-1', ...mp.headers },
        payload: mp.payload,
      });
    };
    const storedUploads = async (): Promise<number> =>
      (await readdir(join(h.dir, 'blobs'), { recursive: true, withFileTypes: true })).filter(
        (e) => e.isFile() && /[\\/]uploads[\\/]/.test(e.parentPath),
      ).length;
    const before = await storedUploads();
    const a = await send(clip, 'clip.mp4');
    const b = await send(clip, 'clip.mp4');
    assert.equal(a.statusCode, 201, a.body);
    assert.equal(b.statusCode, 201, b.body);
    assert.equal(b.json().video_id, a.json().video_id);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const other = Buffer.concat([clip, Buffer.from('tail')]);
    const c = await send(other, 'clip.mp4');
    assert.equal(c.statusCode, 409);
    assert.equal(c.json().error.code, 'idempotency_conflict');
    // One stored file for the two answered requests, none for the refused one, no scratch left.
    assert.equal(await storedUploads(), before + 1);
    assert.deepEqual(await readdir(join(h.dir, 'tmp')).catch(() => []), []);
  });

  it('lists newest first with limit/offset/status; another key sees 404', async () => {
    const { key: k } = await h.newKey(1000);
    const url = await upload(k);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await post('/v1/jobs', k, { video_url: url, auto_start: false })).json().id);
    const page = await get('/v1/jobs?limit=2&offset=0', k);
    assert.equal(page.json().total, 3);
    assert.deepEqual(
      (page.json().jobs as Array<{ id: string }>).map((j) => j.id),
      [ids[2], ids[1]],
    );
    const rest = await get('/v1/jobs?limit=2&offset=2', k);
    assert.deepEqual(
      (rest.json().jobs as Array<{ id: string }>).map((j) => j.id),
      [ids[0]],
    );
    assert.equal((await get('/v1/jobs?status=pending', k)).json().total, 0);
    // API.md "limit ≤ 100": a larger page is clamped, not refused (contract-review.test.ts).
    assert.equal((await get('/v1/jobs?limit=101', k)).json().limit, 100);
    assert.equal((await get('/v1/jobs?status=bogus', k)).statusCode, 400);
    assert.equal((await get(`/v1/jobs/${ids[0]}`, key)).statusCode, 404);
  });

  it('cancels with a refund; completed jobs expose signed outputs with Range; delete removes them', async () => {
    const { id: keyId, key: k } = await h.newKey(100);
    const url = await upload(k);
    const c = (await post('/v1/jobs', k, { video_url: url })).json();
    const canceled = await post(`/v1/jobs/${c.id}/cancel`, k);
    assert.equal(canceled.statusCode, 200);
    assert.equal(canceled.json().status, 'canceled');
    assert.equal(canceled.json().billing_status, 'refunded');
    assert.equal((await get('/v1/credits', k)).json().remaining_credits, 100);
    assert.equal((await post(`/v1/jobs/${c.id}/cancel`, k)).json().status, 'canceled');

    const j = (await post('/v1/jobs', k, { video_url: url, webhook_url: 'http://127.0.0.1:9/hook' })).json();
    // Play the worker's part through the same store the worker uses.
    const output = Buffer.alloc(1000);
    for (let i = 0; i < output.length; i++) output[i] = i % 251;
    const outFile = join(h.dir, 'out.webm');
    await writeFile(outFile, output);
    const outputBlob = jobBlobKey(keyId, j.id, 'output.webm');
    const maskBlob = jobBlobKey(keyId, j.id, 'mask.mp4');
    await h.deps.blobs.put(outputBlob, { path: outFile });
    await h.deps.blobs.put(maskBlob, { path: outFile });
    const running = await h.deps.store.beginProcessing(j.id, 'test-worker');
    assert.ok(running?.runId);
    await h.deps.store.completeJob({
      jobId: j.id,
      runId: running.runId,
      outputBlob,
      maskBlob,
      renderedSeconds: 1.5,
      framesTotal: 15,
      width: 160,
      height: 120,
      fps: 10,
    });
    const done = (await get(`/v1/jobs/${j.id}`, k)).json();
    assert.equal(done.status, 'completed');
    assert.equal(done.billing_status, 'charged');
    assert.equal(done.credits_used, 2);
    assert.match(done.output_url, /^http:\/\/localhost:80\/v1\/files\//);
    assert.match(done.mask_url, /\/v1\/files\//);
    assert.equal(done.webhook_events['job.started'].status, 'pending');
    assert.equal(done.webhook_events['job.completed'].attempts, 0);
    const hooks = await get(`/v1/jobs/${j.id}/webhooks`, k);
    assert.deepEqual((hooks.json().deliveries as Array<{ event: string }>).map((d) => d.event).sort(), [
      'job.completed',
      'job.started',
    ]);

    const path = new URL(done.output_url).pathname;
    const whole = await h.app.inject({ method: 'GET', url: path });
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.headers['content-type'], 'video/webm');
    assert.match(
      String(whole.headers['content-disposition']),
      new RegExp(`attachment; filename="${j.id}.webm"`),
    );
    assert.deepEqual(whole.rawPayload, output);
    const part = await h.app.inject({ method: 'GET', url: path, headers: { range: 'bytes=10-19' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], 'bytes 10-19/1000');
    assert.deepEqual(part.rawPayload, output.subarray(10, 20));
    const suffix = await h.app.inject({ method: 'GET', url: path, headers: { range: 'bytes=-5' } });
    assert.deepEqual(suffix.rawPayload, output.subarray(995));
    const beyond = await h.app.inject({ method: 'GET', url: path, headers: { range: 'bytes=5000-' } });
    assert.equal(beyond.statusCode, 416);
    assert.equal(beyond.headers['content-range'], 'bytes */1000');
    const forged = await h.app.inject({ method: 'GET', url: `${path.slice(0, -3)}abc` });
    assert.equal(forged.statusCode, 404);

    const redirect = await get(`/v1/jobs/${j.id}/output`, k);
    assert.equal(redirect.statusCode, 302);
    assert.match(String(redirect.headers.location), /\/v1\/files\//);
    const maskRedirect = await get(`/v1/jobs/${j.id}/output?type=mask`, k);
    assert.equal(maskRedirect.statusCode, 302);

    const del = await h.app.inject({
      method: 'DELETE',
      url: `/v1/jobs/${j.id}`,
      headers: { 'x-api-key': k },
    });
    assert.equal(del.statusCode, 200);
    assert.equal(del.json().status, 'deleted');
    assert.equal((await h.app.inject({ method: 'GET', url: path })).statusCode, 404);
    assert.equal((await get(`/v1/jobs/${j.id}/output`, k)).statusCode, 404);
  });

  it('cancel of a split job removes the intermediates its finished segments left in the blob store', async () => {
    const { id: keyId, key: k } = await h.newKey(100);
    const url = await upload(k);
    const j = (await post('/v1/jobs', k, { video_url: url })).json();
    // Play the workers' part: the job is split in two, segment 0 is rendered and stored, and
    // segment 1 waits in the queue. No render is running, so no worker's heartbeat will see the
    // cancel and clean up; the join that would have deleted the intermediates never comes.
    const running = await h.deps.store.beginProcessing(j.id, 'test-worker');
    assert.ok(running?.runId);
    const segments = await h.deps.store.createSegments(j.id, running.runId, [
      { startFrame: 0, endFrame: 8 },
      { startFrame: 8, endFrame: 15 },
    ]);
    assert.equal(segments?.length, 2);
    const begun = await h.deps.store.beginSegment(j.id, 0, 'test-worker');
    assert.ok(begun?.segment.runId);
    const prefix = segmentBlobPrefix(running, 0, begun.segment.runId);
    const file = join(h.dir, 'segment.webm');
    await writeFile(file, Buffer.alloc(100, 7));
    await h.deps.blobs.put(`${prefix}/video.webm`, { path: file });
    await h.deps.blobs.put(`${prefix}/mask.mp4`, { path: file });
    const finished = await h.deps.store.finishSegment({
      jobId: j.id,
      index: 0,
      runId: begun.segment.runId,
      blobPrefix: prefix,
    });
    assert.deepEqual(finished, { allDone: false });

    const canceled = await post(`/v1/jobs/${j.id}/cancel`, k);
    assert.equal(canceled.statusCode, 200);
    assert.equal(canceled.json().status, 'canceled');
    assert.equal(await h.deps.blobs.deletePrefix(segmentsBlobFolder({ keyId, id: j.id })), 0, 'left behind');
    // The job's own input copy stays (DELETE removes it).
    assert.ok(running.inputBlob);
    assert.equal((await h.deps.blobs.stat(running.inputBlob))?.size, clip.length);
  });

  it('expires signed links after their lifetime', async () => {
    let now = Date.now();
    const h2 = await startHarness({ config: { fileUrlTtlSeconds: 60 }, now: () => new Date(now) });
    try {
      const { id: keyId, key: k } = await h2.newKey(100);
      const mp = multipartBody('file', 'clip.mp4', clip);
      const up = await h2.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: { 'x-api-key': k, ...mp.headers },
        payload: mp.payload,
      });
      const j = (
        await h2.app.inject({
          method: 'POST',
          url: '/v1/jobs',
          headers: { 'x-api-key': k },
          payload: { video_url: up.json().video_url },
        })
      ).json();
      const outputBlob = jobBlobKey(keyId, j.id, 'output.webm');
      await h2.deps.blobs.put(outputBlob, { path: join(h.dir, 'clip.mp4') });
      const run = await h2.deps.store.beginProcessing(j.id, 'w');
      await h2.deps.store.completeJob({
        jobId: j.id,
        runId: run?.runId ?? '',
        outputBlob,
        maskBlob: null,
        renderedSeconds: 1,
        framesTotal: 15,
        width: 160,
        height: 120,
        fps: 10,
      });
      const view = await h2.app.inject({
        method: 'GET',
        url: `/v1/jobs/${j.id}`,
        headers: { 'x-api-key': k },
      });
      const path = new URL(view.json().output_url).pathname;
      assert.equal((await h2.app.inject({ method: 'GET', url: path })).statusCode, 200);
      now += 61_000;
      assert.equal((await h2.app.inject({ method: 'GET', url: path })).statusCode, 404);
    } finally {
      await h2.close();
    }
  });
});
