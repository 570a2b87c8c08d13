import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlphacutClient, ApiError } from '../../src/sdk/alphacut-client.ts';
import { startHarness, type Harness } from '../api/api-harness.ts';
import { makeClip } from '../helpers/media.ts';

describe('sdk: AlphacutClient against the real API (no worker)', () => {
  let h: Harness;
  let base: string;
  let client: AlphacutClient;
  let clip: Buffer;

  before(async () => {
    h = await startHarness();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    client = new AlphacutClient({ baseUrl: base, apiKey: (await h.newKey(100)).key });
    const path = join(h.dir, 'clip.mp4');
    await makeClip(path, { seconds: 2, width: 160, height: 120 });
    clip = await readFile(path);
  });
  after(async () => h?.close());

  it('reads models, credits and usage', async () => {
    const models = await client.models();
    assert.deepEqual(models.map((m) => m.id).sort(), ['human', 'light', 'original', 'pro']);
    assert.equal(models.find((m) => m.id === 'light')?.credits_per_minute, 45);
    const credits = await client.credits();
    assert.equal(credits.remaining_credits, 100);
    const usage = await client.usageSummary(7);
    assert.equal(usage.daily.length, 7);
  });

  it('uploads, creates (idempotently), lists, reads and cancels a job', async () => {
    const seen: number[] = [];
    const up = await client.upload(new Blob([clip], { type: 'video/mp4' }), 'clip.mp4', {
      onProgress: (sent) => seen.push(sent),
    });
    assert.equal(up.size, clip.length);
    assert.match(up.video_url, /\/v1\/uploads\/upl_/);
    // The default fetch transport reports completion only.
    assert.deepEqual(seen, []);

    const body = { video_url: up.video_url, model: 'light' as const, preview_duration: 1 };
    const job = await client.createJob(body, { idempotencyKey: 'sdk-test-1' });
    assert.equal(job.status, 'pending');
    assert.equal(job.credits_reserved, 1);
    const again = await client.createJob(body, { idempotencyKey: 'sdk-test-1' });
    assert.equal(again.id, job.id);

    const list = await client.listJobs({ limit: 5 });
    assert.equal(list.total, 1);
    assert.equal(list.jobs[0]?.id, job.id);
    assert.equal((await client.getJob(job.id)).status, 'pending');
    const canceled = await client.cancelJob(job.id);
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.billing_status, 'refunded');
  });

  it('turns error answers into ApiError with code, status and request id', async () => {
    const bad = new AlphacutClient({ baseUrl: base, apiKey: 'ak_nope' });
    await assert.rejects(bad.credits(), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 'invalid_api_key');
      assert.equal(e.status, 401);
      assert.match(e.requestId ?? '', /^req_/);
      return true;
    });
    const up = await client.upload(new Blob([clip]), 'clip.mp4');
    await assert.rejects(
      client.createJob({ video_url: up.video_url, output_format: 'mp4' }),
      (e: unknown) => e instanceof ApiError && e.code === 'alpha_not_supported' && e.status === 422,
    );
    await assert.rejects(
      client.upload(new Blob(['not a video']), 'notes.txt'),
      (e: unknown) => e instanceof ApiError && e.code === 'unsupported_media',
    );
    await assert.rejects(
      client.getJob('job_missing'),
      (e: unknown) => e instanceof ApiError && e.code === 'not_found',
    );
    const offline = new AlphacutClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'ak_x' });
    await assert.rejects(
      offline.models(),
      (e: unknown) => e instanceof ApiError && e.code === 'network_error',
    );
  });
});
