import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHmac } from 'node:crypto';
import { jobBlobKey } from '../../src/core/blob-key.ts';
import { newJobId } from '../../src/core/job.ts';
import { GuardedFetcher } from '../../src/net/guarded-fetcher.ts';
import { SsrfPolicy } from '../../src/net/ssrf-policy.ts';
import { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.ts';
import { verifyStandardWebhook } from '../../src/webhooks/webhook-signature.ts';
import { startHarness, type Harness } from '../api/api-harness.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

describe('WebhookDispatcher', () => {
  let h: Harness;
  let server: Server;
  let base: string;
  const received = new Map<string, Received[]>();
  /** Path → statuses to answer in turn (last one repeats); 'hang' never answers. */
  const plans = new Map<string, Array<number | 'hang'>>();

  before(async () => {
    h = await startHarness();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const list = received.get(path) ?? [];
        list.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), at: Date.now() });
        received.set(path, list);
        const plan = plans.get(path) ?? [200];
        const answer = plan.length > 1 ? plan.shift() : plan[0];
        if (answer === 'hang') return;
        res.writeHead(answer ?? 200);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await h.close();
  });

  /** A job with a webhook that has gone through started (and completed): two event rows. */
  async function jobWithEvents(path: string): Promise<{ jobId: string; secret: string }> {
    const { id: keyId, webhookSecret } = await h.newKey(100);
    const jobId = newJobId();
    await h.deps.store.insertJob(
      {
        id: jobId,
        keyId,
        videoUrl: 'http://example.com/v.mp4',
        inputBlob: jobBlobKey(keyId, jobId, 'input.mp4'),
        request: {},
        model: 'human',
        outputFormat: 'webm',
        webhookUrl: `${base}${path}`,
        metadata: null,
        durationSeconds: 1,
        width: 16,
        height: 16,
        fps: 10,
      },
      { credits: 1 },
    );
    await h.deps.store.beginProcessing(jobId, 'w');
    return { jobId, secret: webhookSecret };
  }

  function dispatcher(retryDelaysMs: number[], timeoutMs = 10_000, concurrency = 4): WebhookDispatcher {
    return new WebhookDispatcher({
      store: h.deps.store,
      fetcher: new GuardedFetcher(SsrfPolicy.fromList('127.0.0.1/32')),
      render: (job) => ({ id: job.id, status: job.status }),
      retryDelaysMs,
      timeoutMs,
      concurrency,
      pollMs: 20,
    });
  }

  async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) assert.fail('condition not reached in time');
      await sleep(20);
    }
  }

  it('signs each delivery both ways and records success', async () => {
    const { jobId, secret } = await jobWithEvents('/ok');
    const d = dispatcher([50]);
    d.start();
    await until(async () => (await h.deps.store.listWebhookEvents(jobId)).every((e) => e.status === 'sent'));
    await d.stop();
    const [got] = received.get('/ok') ?? [];
    assert.ok(got);
    const ts = String(got.headers['x-webhook-timestamp']);
    assert.equal(
      got.headers['x-webhook-signature'],
      `sha256=${createHmac('sha256', secret).update(`${ts}.${got.body}`).digest('hex')}`,
    );
    assert.ok(
      verifyStandardWebhook(
        secret,
        {
          id: String(got.headers['webhook-id']),
          timestamp: String(got.headers['webhook-timestamp']),
          signature: String(got.headers['webhook-signature']),
        },
        got.body,
      ),
    );
    assert.equal(got.headers['x-webhook-delivery-id'], got.headers['webhook-id']);
    const body = JSON.parse(got.body) as { event: string; data: { id: string } };
    assert.equal(body.event, 'job.started');
    assert.equal(got.headers['x-webhook-event'], 'job.started');
    assert.equal(body.data.id, jobId);
    const [e] = await h.deps.store.listWebhookEvents(jobId);
    assert.equal(e?.attempts, 1);
    assert.equal(e?.lastStatusCode, 200);
  });

  it('retries failures with backoff, keeping the delivery id, then gives up after the schedule', async () => {
    plans.set('/flaky', [500, 503, 204]);
    plans.set('/dead', [500]);
    const flaky = await jobWithEvents('/flaky');
    const dead = await jobWithEvents('/dead');
    const d = dispatcher([100, 200, 100]);
    d.start();
    await until(async () => (await h.deps.store.listWebhookEvents(flaky.jobId))[0]?.status === 'sent');
    await until(async () => (await h.deps.store.listWebhookEvents(dead.jobId))[0]?.status === 'failed');
    await d.stop();
    const tries = received.get('/flaky') ?? [];
    assert.equal(tries.length, 3);
    assert.equal(new Set(tries.map((t) => t.headers['webhook-id'])).size, 1);
    assert.ok((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0) >= 90, 'first retry waited');
    assert.ok((tries[2]?.at ?? 0) - (tries[1]?.at ?? 0) >= 190, 'backoff grew');
    const [deadEvent] = await h.deps.store.listWebhookEvents(dead.jobId);
    assert.equal(deadEvent?.attempts, 4);
    assert.equal(deadEvent?.lastStatusCode, 500);
    assert.equal(received.get('/dead')?.length, 4);
  });

  it('keeps delivering while a receiver hangs, and times the hung one out', async () => {
    plans.set('/hang', ['hang', 200]);
    const hung = await jobWithEvents('/hang');
    const fine = await jobWithEvents('/fine');
    const d = dispatcher([50], 400, 2);
    d.start();
    const t0 = Date.now();
    await until(async () => (await h.deps.store.listWebhookEvents(fine.jobId))[0]?.status === 'sent');
    assert.ok(Date.now() - t0 < 350, 'a hung receiver does not hold up others');
    await until(async () => (await h.deps.store.listWebhookEvents(hung.jobId))[0]?.status === 'sent');
    await d.stop();
    const [e] = await h.deps.store.listWebhookEvents(hung.jobId);
    assert.equal(e?.attempts, 2);
    assert.match(e?.lastError ?? '', /^$|timeout|stalled/);
  });
});
