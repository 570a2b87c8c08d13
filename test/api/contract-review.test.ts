import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jobBlobKey } from '../../src/core/blob-key.ts';
import { ffmpeg, makeClip } from '../helpers/media.ts';
import { multipartBody, startHarness, type Harness } from './api-harness.ts';

/**
 * API.md promises checked route by route (review of the /v1 contract): each `it` names the
 * promise, and most guard a fix made in that review.
 */
describe('API.md contract review', () => {
  let h: Harness;
  let key: string;
  let clip: Buffer;
  let png: Buffer;
  let media: Server;
  let mediaBase: string;
  /** Paths the test media server was asked for, to prove that some requests never fetch. */
  const fetched: string[] = [];

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

  /** Plays the worker: the job completes with a small output (and mask) blob. */
  async function complete(keyId: string, jobId: string): Promise<void> {
    const out = join(h.dir, `${jobId}.out`);
    await writeFile(out, Buffer.alloc(100, 7));
    const outputBlob = jobBlobKey(keyId, jobId, 'output.webm');
    const maskBlob = jobBlobKey(keyId, jobId, 'mask.mp4');
    await h.deps.blobs.put(outputBlob, { path: out });
    await h.deps.blobs.put(maskBlob, { path: out });
    const run = await h.deps.store.beginProcessing(jobId, 'test-worker');
    assert.ok(run?.runId);
    await h.deps.store.completeJob({
      jobId,
      runId: run.runId,
      outputBlob,
      maskBlob,
      renderedSeconds: 1.5,
      framesTotal: 15,
      width: 160,
      height: 120,
      fps: 10,
    });
  }

  before(async () => {
    h = await startHarness({ config: { maxActiveJobs: 2 } });
    key = (await h.newKey(1000)).key;
    const clipPath = join(h.dir, 'clip.mp4');
    await makeClip(clipPath, { seconds: 1.5, width: 160, height: 120, fps: 10 });
    clip = await readFile(clipPath);
    const pngPath = join(h.dir, 'bg.png');
    await ffmpeg(['-f', 'lavfi', '-i', 'color=red:s=64x48', '-frames:v', '1', pngPath]);
    png = await readFile(pngPath);
    media = createServer((req, res) => {
      fetched.push(req.url ?? '');
      if (req.url === '/clip.mp4') {
        res.writeHead(200, { 'content-type': 'video/mp4' });
        res.end(clip);
      } else if (req.url === '/bg.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(png);
      } else if (req.url === '/text.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end('not an image');
      } else if (req.url === '/to-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/video.mp4' });
        res.end();
      } else if (req.url === '/to-loopback-v6') {
        res.writeHead(301, { location: 'http://[::1]/video.mp4' });
        res.end();
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

  it('GET /v1/jobs clamps limit to 100 and reads an empty ?status= as no filter', async () => {
    const { key: k } = await h.newKey(10);
    const url = await upload(k);
    const id = (await post('/v1/jobs', k, { video_url: url, auto_start: false })).json().id as string;
    const big = await get('/v1/jobs?limit=500&offset=0', k);
    assert.equal(big.statusCode, 200, big.body);
    assert.equal(big.json().limit, 100);
    assert.equal(big.json().offset, 0);
    // API.md's own example: GET /v1/jobs?limit=20&offset=0&status=
    const blank = await get('/v1/jobs?limit=20&offset=0&status=', k);
    assert.equal(blank.statusCode, 200, blank.body);
    assert.equal(blank.json().success, true);
    assert.equal(blank.json().total, 1);
    assert.equal(blank.json().jobs[0].id, id);
    assert.equal((await get('/v1/jobs?status=created', k)).json().total, 1);
    assert.equal((await get('/v1/jobs?status=pending', k)).json().total, 0);
    assert.equal((await get('/v1/jobs?limit=0', k)).statusCode, 400);
    assert.equal((await get('/v1/jobs?status=bogus', k)).json().error.code, 'invalid_request');
  });

  it('bg_type "image" + bg_image_url takes a PNG (checked as an image, not probed as a video)', async () => {
    const url = await upload(key);
    const r = await post('/v1/jobs', key, {
      video_url: url,
      bg_type: 'image',
      bg_image_url: `${mediaBase}/bg.png`,
      output_format: 'mp4',
      auto_start: false,
    });
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.json().background, { type: 'image', image_url: `${mediaBase}/bg.png` });
    const job = await h.deps.store.getJobById(r.json().id as string);
    assert.match(job?.backgroundBlob ?? '', /\/background\.png$/);
    const nested = await post('/v1/jobs', key, {
      video_url: url,
      background: { type: 'image', image_url: `${mediaBase}/bg.png` },
      auto_start: false,
    });
    assert.equal(nested.statusCode, 201, nested.body);

    const notImage = await post('/v1/jobs', key, {
      video_url: url,
      bg_type: 'image',
      bg_image_url: `${mediaBase}/text.png`,
      output_format: 'mp4',
    });
    assert.equal(notImage.statusCode, 422);
    assert.equal(notImage.json().error.code, 'unsupported_media');
    assert.match(notImage.json().error.message, /^bg_image_url: /);
    // Uploads are videos: one makes a video background, never an image one.
    const asImage = await post('/v1/jobs', key, {
      video_url: url,
      background: { type: 'image', image_url: url },
      auto_start: false,
    });
    assert.equal(asImage.statusCode, 422, asImage.body);
    assert.equal(asImage.json().error.details.reason, 'not_image');
    const asVideo = await post('/v1/jobs', key, {
      video_url: url,
      background: { type: 'video', video_url: url },
      auto_start: false,
    });
    assert.equal(asVideo.statusCode, 201, asVideo.body);
    // A background on an internal address is refused like an input.
    const internal = await post('/v1/jobs', key, {
      video_url: url,
      background: { type: 'image', image_url: 'http://169.254.169.254/bg.png' },
    });
    assert.equal(internal.statusCode, 400);
    assert.equal(internal.json().error.details.reason, 'address_not_allowed');
    // Intake streams into the blob store: the temp dir is not even created.
    assert.deepEqual(await readdir(join(h.dir, 'tmp')).catch(() => []), [], 'no scratch file left behind');
  });

  it('media errors never reveal server paths; a rejected upload leaves no file behind', async () => {
    const { id: keyId, key: k } = await h.newKey(10);
    // A PNG is not a video: ffprobe's own message names the scratch file it read.
    const mp = multipartBody('file', 'still.mp4', png);
    const r = await h.app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: { 'x-api-key': k, ...mp.headers },
      payload: mp.payload,
    });
    assert.equal(r.statusCode, 422);
    assert.equal(r.json().error.code, 'unsupported_media');
    assert.doesNotMatch(r.body, new RegExp(h.dir.replaceAll('/', '\\/')));
    assert.doesNotMatch(r.body, /\.upload|\/tmp\//);
    const remote = await post('/v1/jobs', k, { video_url: `${mediaBase}/bg.png` });
    assert.equal(remote.statusCode, 422);
    assert.doesNotMatch(remote.body, /\.download|\/tmp\//);
    assert.deepEqual(await readdir(join(h.dir, 'tmp')).catch(() => []), []);
    const keyBlobs = await readdir(join(h.dir, 'blobs', keyId), { recursive: true }).catch(() => []);
    assert.equal(
      keyBlobs.filter((p) => /\.[a-z0-9]+$/.test(p)).length,
      0,
      `no blob for a refused upload or job: ${keyBlobs.join(', ')}`,
    );
  });

  it('refuses internal webhook_url and video_url in every spelling, and redirects to them', async () => {
    const strict = await startHarness({ ssrfAllow: '' });
    try {
      const { key: k } = await strict.newKey(100);
      const mp = multipartBody('file', 'clip.mp4', clip);
      const up = await strict.app.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: { 'x-api-key': k, ...mp.headers },
        payload: mp.payload,
      });
      const url = up.json().video_url as string;
      const create = (payload: object) =>
        strict.app.inject({ method: 'POST', url: '/v1/jobs', headers: { 'x-api-key': k }, payload });
      for (const hook of [
        'http://127.0.0.1/hook',
        'http://169.254.169.254/hook',
        'http://[::1]/hook',
        'http://2130706433/hook',
        'http://0177.0.0.1/hook',
        'http://0x7f.1/hook',
        'http://[::ffff:127.0.0.1]/hook',
        'http://localhost:8080/hook',
        'http://LOCALHOST./hook',
        'http://api.localhost/hook',
      ]) {
        const r = await create({ video_url: url, webhook_url: hook, auto_start: false });
        assert.equal(r.statusCode, 400, `${hook}: ${r.body}`);
        assert.equal(r.json().error.details.fields[0].field, 'webhook_url');
      }
      for (const video of [
        'http://127.0.0.1/v.mp4',
        'http://[::1]/v.mp4',
        'http://2852039166/v.mp4',
        'http://0251.0376.0251.0376/v.mp4',
        'http://localhost/v.mp4',
        `${mediaBase}/clip.mp4`,
      ]) {
        const r = await create({ video_url: video });
        assert.equal(r.statusCode, 400, `${video}: ${r.body}`);
        assert.equal(r.json().error.details.reason, 'address_not_allowed', video);
      }
      const bg = await create({
        video_url: url,
        bg_type: 'image',
        bg_image_url: 'http://[::1]/bg.png',
        output_format: 'mp4',
      });
      assert.equal(bg.json().error.details.reason, 'address_not_allowed');
    } finally {
      await strict.close();
    }
    // The loopback media server is allow-listed here; where it redirects to is not.
    for (const path of ['/to-metadata', '/to-loopback-v6']) {
      const r = await post('/v1/jobs', key, { video_url: `${mediaBase}${path}` });
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().error.details.reason, 'address_not_allowed');
    }
  });

  it('402 and the active-job 429 come before the input is fetched', async () => {
    const broke = await h.newKey(0);
    fetched.length = 0;
    const r = await post('/v1/jobs', broke.key, { video_url: `${mediaBase}/clip.mp4` });
    assert.equal(r.statusCode, 402);
    assert.equal(r.json().error.code, 'insufficient_credits');
    assert.deepEqual(fetched, [], 'nothing downloaded for a key that cannot pay');
    // A draft needs no credit; starting it does.
    const draft = await post('/v1/jobs', broke.key, {
      video_url: `${mediaBase}/clip.mp4`,
      auto_start: false,
    });
    assert.equal(draft.statusCode, 201);
    assert.equal(draft.json().status, 'created');
    assert.equal(draft.json().billing_status, 'none');
    const start = await post(`/v1/jobs/${draft.json().id}/start`, broke.key);
    assert.equal(start.statusCode, 402);
    assert.equal((await get(`/v1/jobs/${draft.json().id}`, broke.key)).json().status, 'created');

    const busy = await h.newKey(100);
    const url = await upload(busy.key);
    for (let i = 0; i < 2; i++)
      assert.equal((await post('/v1/jobs', busy.key, { video_url: url })).statusCode, 201);
    fetched.length = 0;
    const capped = await post('/v1/jobs', busy.key, { video_url: `${mediaBase}/clip.mp4` });
    assert.equal(capped.statusCode, 429);
    assert.equal(capped.json().error.code, 'rate_limited');
    assert.ok(Number(capped.headers['retry-after']) > 0);
    assert.deepEqual(fetched, []);
  });

  it('create answers 201 + success/message; start from completed is 409; legacy colours resolve', async () => {
    const { id: keyId, key: k } = await h.newKey(100);
    const url = await upload(k);
    const created = await post('/v1/jobs', k, {
      video_url: url,
      output_format: 'mp4',
      bg_color: [0, 0.5, 1],
      metadata: { order: 'A-1', nested: { n: [1, 2] } },
    });
    assert.equal(created.statusCode, 201, created.body);
    const j = created.json();
    assert.equal(j.success, true);
    assert.equal(typeof j.message, 'string');
    assert.equal(j.status, 'pending');
    assert.deepEqual(j.background, { type: 'color', color: '#0080ff' });
    assert.deepEqual(j.metadata, { order: 'A-1', nested: { n: [1, 2] } });
    assert.deepEqual(j.webhook_events, {});
    for (const f of [
      'output_url',
      'mask_url',
      'error',
      'error_code',
      'started_at',
      'completed_at',
      'eta_seconds',
    ])
      assert.equal(j[f], null, f);
    assert.equal(j.frames_done, 0);
    assert.equal(j.credits_used, 0);
    const ints = await post('/v1/jobs', k, {
      video_url: url,
      bg_type: 'custom',
      bg_color: [0, 128, 255],
      output_format: 'mp4',
      auto_start: false,
    });
    assert.deepEqual(ints.json().background, { type: 'color', color: '#0080ff' });
    const tooBig = await post('/v1/jobs', k, { video_url: url, metadata: { x: 'y'.repeat(16 * 1024) } });
    assert.equal(tooBig.statusCode, 400);
    assert.equal(tooBig.json().error.details.fields[0].field, 'metadata');

    await complete(keyId, j.id as string);
    const again = await post(`/v1/jobs/${j.id}/start`, k);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'job_not_startable');
    const done = (await get(`/v1/jobs/${j.id}`, k)).json();
    assert.equal(done.status, 'completed');
    assert.equal(typeof done.output_url, 'string');
    assert.equal(typeof done.mask_url, 'string');
    assert.equal(done.billing_status, 'charged');
  });

  it("another key's job answers 404 on every job route, and so does its upload", async () => {
    const owner = await h.newKey(100);
    const other = await h.newKey(100);
    const url = await upload(owner.key);
    const id = (await post('/v1/jobs', owner.key, { video_url: url })).json().id as string;
    await complete(owner.id, id);
    for (const [method, path] of [
      ['GET', ''],
      ['POST', '/start'],
      ['POST', '/cancel'],
      ['DELETE', ''],
      ['GET', '/output'],
      ['GET', '/output?type=mask'],
      ['GET', '/webhooks'],
    ] as const) {
      const r = await h.app.inject({
        method,
        url: `/v1/jobs/${id}${path}`,
        headers: { 'x-api-key': other.key },
      });
      assert.equal(r.statusCode, 404, `${method} ${path}`);
      assert.equal(r.json().error.code, 'not_found');
    }
    const uploadId = new URL(url).pathname.split('/').pop() as string;
    assert.equal((await get(`/v1/uploads/${uploadId}`, other.key)).statusCode, 404);
    assert.equal((await get(`/v1/jobs/${id}`, owner.key)).json().status, 'completed', 'untouched');
  });

  it('every error carries the envelope and X-Request-Id; 415 names the type sent', async () => {
    const cases = [
      await h.app.inject({ method: 'GET', url: '/v1/does-not-exist' }),
      await h.app.inject({ method: 'GET', url: '/v1/credits', headers: { authorization: 'Bearer nope' } }),
      await h.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        payload: '{"video_url":',
      }),
      await h.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'x-api-key': key, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'video_url=x',
      }),
      await h.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        payload: JSON.stringify({ video_url: 'x'.repeat(1100 * 1024) }),
      }),
    ];
    assert.deepEqual(
      cases.map((r) => [r.statusCode, r.json().error.code]),
      [
        [404, 'not_found'],
        [401, 'invalid_api_key'],
        [400, 'invalid_request'],
        [415, 'unsupported_media'],
        [413, 'payload_too_large'],
      ],
    );
    for (const r of cases) {
      assert.match(String(r.headers['x-request-id']), /^req_/);
      assert.equal(r.json().error.request_id, r.headers['x-request-id']);
      assert.equal(typeof r.json().error.message, 'string');
    }
    assert.match(cases[3]?.json().error.message, /"application\/x-www-form-urlencoded"/);
    const echoed = await h.app.inject({
      method: 'GET',
      url: '/v1/nope',
      headers: { 'x-request-id': 'client-42' },
    });
    assert.equal(echoed.headers['x-request-id'], 'client-42');
    assert.equal(echoed.json().error.request_id, 'client-42');
  });

  it('signed files: nosniff, Content-Type/Disposition, Range 206/416, tamper 404, gone after DELETE', async () => {
    const { id: keyId, key: k } = await h.newKey(100);
    const url = await upload(k);
    const id = (await post('/v1/jobs', k, { video_url: url })).json().id as string;
    await complete(keyId, id);
    const view = (await get(`/v1/jobs/${id}`, k)).json();
    const path = new URL(view.output_url as string).pathname;
    const whole = await h.app.inject({ method: 'GET', url: path });
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.headers['content-type'], 'video/webm');
    assert.equal(whole.headers['x-content-type-options'], 'nosniff');
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    assert.match(String(whole.headers['content-disposition']), new RegExp(`filename="${id}\\.webm"`));
    const part = await h.app.inject({ method: 'GET', url: path, headers: { range: 'bytes=0-9' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-length'], '10');
    const beyond = await h.app.inject({ method: 'GET', url: path, headers: { range: 'bytes=100-' } });
    assert.equal(beyond.statusCode, 416);
    assert.ok(beyond.json().error.code);
    const [payload, sig] = path.slice('/v1/files/'.length).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { e: number };
    const extended = Buffer.from(JSON.stringify({ ...claims, e: claims.e + 86400 })).toString('base64url');
    assert.equal(
      (await h.app.inject({ method: 'GET', url: `/v1/files/${extended}.${sig}` })).statusCode,
      404,
    );
    const mask = await h.app.inject({ method: 'GET', url: new URL(view.mask_url as string).pathname });
    assert.equal(mask.headers['content-type'], 'video/mp4');

    const del = await h.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: { 'x-api-key': k } });
    assert.equal(del.json().status, 'deleted');
    assert.equal(del.json().output_url, null);
    assert.equal((await h.app.inject({ method: 'GET', url: path })).statusCode, 404);
    assert.equal((await get(`/v1/jobs/${id}/output`, k)).statusCode, 404);
  });
});
