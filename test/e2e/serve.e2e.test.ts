import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../src/app/paths.ts';
import { noSharedMedia, readWebmAlpha, sharedMedia, tempDir } from '../helpers/media.ts';

const adminToken = 'e2e-admin-token';

interface Hook {
  headers: IncomingHttpHeaders;
  body: string;
}

/** Starts `alphacut serve` and resolves with its base URL from the first line it prints. */
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
    {
      env: {
        ...process.env,
        ALPHACUT_ADMIN_TOKEN: adminToken,
        ALPHACUT_SSRF_ALLOW: '127.0.0.1/32',
        ALPHACUT_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)\n[^]*API docs: .*\n/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1], output: () => out });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited ${code} before listening:\n${out}`)));
    setTimeout(() => reject(new Error(`serve did not start in 30 s:\n${out}`)), 30_000).unref();
  });
}

describe('alphacut serve end to end', { skip: noSharedMedia }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let serve: { child: ChildProcess; url: string; output: () => string };
  let receiver: Server;
  let hookUrl: string;
  const hooks: Hook[] = [];
  let waiter: ((h: Hook) => void) | undefined;

  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-e2e-'));
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const hook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        hooks.push(hook);
        waiter?.(hook);
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/alphacut`;
    serve = await startServe(join(dir, 'data'));
  });

  after(async () => {
    if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    receiver?.close();
    await cleanup?.();
  });

  it(
    'uploads, processes with "human", signs the webhook and serves a WebM with alpha',
    { timeout: 110_000 },
    async () => {
      const base = serve.url;
      assert.match(serve.output(), /API docs: http:\/\/127\.0\.0\.1:\d+\/docs/);
      assert.match(serve.output(), /Development API key \(shown once/);
      const health = await fetch(`${base}/health`);
      assert.equal(health.status, 200, await health.clone().text());

      const created = await fetch(`${base}/v1/admin/keys`, {
        method: 'POST',
        headers: { 'x-admin-token': adminToken, 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'e2e', credits: 100 }),
      });
      assert.equal(created.status, 201);
      const { key, webhook_secret: secret } = (await created.json()) as {
        key: string;
        webhook_secret: string;
      };
      const auth = { 'x-api-key': key };

      const clip = await readFile(sharedMedia('clips/grid-lwbsza.mp4'));
      const form = new FormData();
      form.append('file', new Blob([clip], { type: 'video/mp4' }), 'grid-lwbsza.mp4');
      const up = await fetch(`${base}/v1/uploads`, { method: 'POST', headers: auth, body: form });
      assert.equal(up.status, 201, await up.clone().text());
      const upload = (await up.json()) as { video_url: string; size: number };
      assert.equal(upload.size, clip.length);

      const completed = new Promise<Hook>((resolve) => {
        waiter = (h) => {
          if (
            h.headers['x-webhook-event'] === 'job.completed' ||
            h.headers['x-webhook-event'] === 'job.failed'
          )
            resolve(h);
        };
      });
      const res = await fetch(`${base}/v1/jobs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ video_url: upload.video_url, model: 'human', webhook_url: hookUrl }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      const job = (await res.json()) as { id: string; status: string };
      assert.equal(job.status, 'pending');

      const hook = await completed;
      const payload = JSON.parse(hook.body) as {
        event: string;
        data: { id: string; status: string; error?: string };
      };
      assert.equal(payload.event, 'job.completed', `job failed: ${payload.data.error}\n${serve.output()}`);
      assert.equal(payload.data.id, job.id);

      // Both signatures, recomputed here from their definitions rather than with our own signer.
      const ts = String(hook.headers['x-webhook-timestamp']);
      assert.equal(
        hook.headers['x-webhook-signature'],
        `sha256=${createHmac('sha256', secret).update(`${ts}.${hook.body}`).digest('hex')}`,
      );
      const id = String(hook.headers['webhook-id']);
      const stdKey = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
      const expected = createHmac('sha256', stdKey)
        .update(`${id}.${String(hook.headers['webhook-timestamp'])}.${hook.body}`)
        .digest('base64');
      assert.ok(String(hook.headers['webhook-signature']).split(' ').includes(`v1,${expected}`));
      assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 300);
      assert.ok(hooks.some((h) => h.headers['x-webhook-event'] === 'job.started'));

      const view = (await (await fetch(`${base}/v1/jobs/${job.id}`, { headers: auth })).json()) as {
        status: string;
        output_url: string;
        mask_url: string;
        width: number;
        height: number;
        credits_used: number;
        billing_status: string;
      };
      assert.equal(view.status, 'completed');
      assert.equal(view.billing_status, 'charged');
      // ceil(3 s) at 45 credits/minute → 3 credits.
      assert.equal(view.credits_used, 3);
      // The signed link needs no key.
      const file = await fetch(view.output_url);
      assert.equal(file.status, 200);
      assert.equal(file.headers.get('content-type'), 'video/webm');
      assert.match(file.headers.get('content-disposition') ?? '', /attachment; filename="job_.*\.webm"/);
      const bytes = Buffer.from(await file.arrayBuffer());
      const part = await fetch(view.output_url, { headers: { range: 'bytes=0-99' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 0-99/${bytes.length}`);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(0, 100));

      const out = join(dir, 'out.webm');
      await writeFile(out, bytes);
      const alpha = await readWebmAlpha(out, view.width, view.height);
      assert.ok(alpha.length >= 70, `decoded ${alpha.length} alpha frames`);
      const mid = alpha[Math.floor(alpha.length / 2)] as Uint8Array;
      let transparent = 0;
      let opaque = 0;
      for (const v of mid) {
        if (v < 16) transparent++;
        else if (v > 240) opaque++;
      }
      assert.ok(
        transparent > mid.length * 0.05 && opaque > mid.length * 0.02,
        `alpha ${transparent}/${opaque}`,
      );

      const deliveries = (await (
        await fetch(`${base}/v1/jobs/${job.id}/webhooks`, { headers: auth })
      ).json()) as {
        deliveries: Array<{ event: string; status: string }>;
      };
      assert.ok(deliveries.deliveries.some((d) => d.event === 'job.completed' && d.status === 'sent'));
    },
  );

  it('shuts down gracefully on SIGTERM', { timeout: 30_000 }, async () => {
    const exited = new Promise<number | null>((r) => serve.child.once('exit', (code) => r(code)));
    serve.child.kill('SIGTERM');
    assert.equal(await exited, 0, serve.output());
  });
});
