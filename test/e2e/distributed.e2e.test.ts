import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { creditsFor } from '../../src/core/credits.ts';
import {
  clusterAdminToken,
  clusterUnavailable,
  ledgerOf,
  publicUrl,
  startCluster,
  type Cluster,
} from '../helpers/cluster.ts';
import { countFrames, tempDir } from '../helpers/media.ts';
import { squareClip, waitFor } from '../worker/worker-fixture.ts';

const skip = await clusterUnavailable();

/** The node's own address for a link the deployment gave out under its public URL. */
function via(node: { url: string }, link: string): string {
  return link.startsWith(publicUrl) ? node.url + link.slice(publicUrl.length) : link;
}

describe(
  'distributed mode: two API nodes and a worker over PostgreSQL, Redis (BullMQ) and S3',
  { skip },
  () => {
    let c: Cluster;
    let dir: string;
    let cleanup: () => Promise<void>;
    let key: string;
    let keyId: string;
    before(async () => {
      ({ dir, cleanup } = await tempDir('alphacut-dist-'));
      c = await startCluster();
      await Promise.all([c.startApi(), c.startApi(), c.startWorker()]);
      const res = await fetch(`${c.apis[0]!.url}/v1/admin/keys`, {
        method: 'POST',
        headers: { 'x-admin-token': clusterAdminToken, 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'dist', credits: 100 }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      ({ key, id: keyId } = (await res.json()) as { key: string; id: string });
    });
    after(async () => {
      await c?.close();
      await cleanup?.();
    });

    const call = (i: number, path: string, init: RequestInit = {}): Promise<Response> =>
      fetch(`${c.apis[i]!.url}${path}`, {
        ...init,
        redirect: 'manual',
        headers: { 'x-api-key': key, ...(init.headers as Record<string, string>) },
      });

    it('an upload to one node starts a job on the other; both serve it; the worker completes it once', async () => {
      const clip = join(dir, 'clip.mp4');
      await squareClip(clip, 4);
      const form = new FormData();
      form.append('file', new Blob([await (await import('node:fs/promises')).readFile(clip)]), 'clip.mp4');
      const up = await call(0, '/v1/uploads', { method: 'POST', body: form });
      assert.equal(up.status, 201, await up.clone().text());
      const { video_url } = (await up.json()) as { video_url: string };
      assert.ok(video_url.startsWith(publicUrl), video_url);

      const body = JSON.stringify({ video_url, model: 'human', output_format: 'webm' });
      const headers = { 'content-type': 'application/json', 'idempotency-key': 'dist-1' };
      const created = await call(1, '/v1/jobs', { method: 'POST', body, headers });
      assert.equal(created.status, 201, await created.clone().text());
      const job = (await created.json()) as { id: string; status: string };
      // The same Idempotency-Key on the other node answers with the same job: the record is shared.
      const again = await call(0, '/v1/jobs', { method: 'POST', body, headers });
      assert.equal(((await again.json()) as { id: string }).id, job.id);

      const done = await waitFor(
        'the job to complete',
        async () => {
          const r = (await (await call(0, `/v1/jobs/${job.id}`)).json()) as Record<string, unknown>;
          return r.status === 'completed' || r.status === 'failed' ? r : undefined;
        },
        120_000,
      );
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const onOther = (await (await call(1, `/v1/jobs/${job.id}`)).json()) as Record<string, unknown>;
      assert.equal(onOther.status, 'completed');
      assert.equal(onOther.credits_used, creditsFor('human', 4));
      assert.equal(onOther.frames_total, 100);
      const listed = (await (await call(1, '/v1/jobs')).json()) as { jobs: Array<{ id: string }> };
      assert.deepEqual(
        listed.jobs.map((j) => j.id),
        [job.id],
      );

      // The signed link is served by S3 itself: the node redirects to a presigned URL.
      const link = via(c.apis[1]!, String(onOther.output_url));
      const redirect = await fetch(link, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      const s3url = redirect.headers.get('location') ?? '';
      assert.ok(s3url.startsWith(c.env.AWS_ENDPOINT_URL!), s3url);
      const file = await fetch(s3url);
      assert.equal(file.status, 200);
      assert.equal(file.headers.get('content-type'), 'video/webm');
      const out = join(dir, 'out.webm');
      await writeFile(out, Buffer.from(await file.arrayBuffer()));
      assert.equal(await countFrames(out, true), 100);

      assert.deepEqual(await ledgerOf(c, job.id), [
        `charge:${creditsFor('human', 4)}`,
        `reserve:${creditsFor('human', 4)}`,
      ]);
      const objects = await c.objects();
      assert.ok(
        objects.every((k) => k.startsWith(`deploy/${keyId}/`)),
        objects.join(','),
      );
    });

    it('the per-key request budget is one budget across nodes (Redis)', async () => {
      const remaining: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await call(i % 2, '/v1/credits');
        assert.equal(r.status, 200);
        remaining.push(Number(r.headers.get('ratelimit-remaining')));
      }
      for (let i = 1; i < remaining.length; i++)
        assert.equal(remaining[i], remaining[i - 1]! - 1, `shared counter: ${remaining.join(',')}`);
    });
  },
);
