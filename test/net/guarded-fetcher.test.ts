import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlphacutError } from '../../src/core/errors.ts';
import { GuardedFetcher } from '../../src/net/guarded-fetcher.ts';
import { SsrfPolicy } from '../../src/net/ssrf-policy.ts';
import { tempDir } from '../helpers/media.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function rejectsWith(p: Promise<unknown>, code: string, reason?: string): Promise<AlphacutError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AlphacutError, `expected AlphacutError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (reason) assert.equal(err.details?.reason, reason, err.message);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('SsrfPolicy', () => {
  it('refuses every internal range and its IPv6 spellings by default', () => {
    const p = new SsrfPolicy();
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '240.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a00:1',
      '2002:c0a8:0101::1',
      'not-an-ip',
    ])
      assert.equal(p.isAllowedAddress(a), false, a);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])
      assert.equal(p.isAllowedAddress(a), true, a);
  });

  it('lets the operator allow CIDRs and host names back in', () => {
    const p = SsrfPolicy.fromList('127.0.0.1/32, 10.0.0.0/8 media.internal');
    assert.equal(p.isAllowedAddress('127.0.0.1'), true);
    assert.equal(p.isAllowedAddress('::ffff:127.0.0.1'), true);
    assert.equal(p.isAllowedAddress('127.0.0.2'), false);
    assert.equal(p.isAllowedAddress('10.9.9.9'), true);
    assert.equal(p.hostAllowListed('MEDIA.internal'), true);
    assert.equal(p.hostAllowListed('other.internal'), false);
  });
});

describe('GuardedFetcher', () => {
  let srv: { server: Server; base: string };
  let dir: string;
  let cleanup: () => Promise<void>;
  const payload = Buffer.alloc(64 * 1024, 7);
  const allowLoopback = new GuardedFetcher(SsrfPolicy.fromList('127.0.0.1/32'));

  before(async () => {
    ({ dir, cleanup } = await tempDir('alphacut-net-'));
    srv = await listen((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      switch (u.pathname) {
        case '/video.mp4':
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': payload.length });
          res.end(payload);
          return;
        case '/chunked': {
          res.writeHead(200, { 'content-type': 'video/mp4' });
          let n = 0;
          const push = (): void => {
            if (n++ >= 40 || res.destroyed) return void res.end();
            res.write(payload, () => setImmediate(push));
          };
          push();
          return;
        }
        case '/redirect':
          res.writeHead(302, { location: u.searchParams.get('to') ?? '/video.mp4' });
          res.end();
          return;
        case '/loop':
          res.writeHead(301, { location: '/loop' });
          res.end();
          return;
        case '/stall':
          res.writeHead(200, { 'content-type': 'video/mp4' });
          res.write(payload.subarray(0, 100));
          return;
        case '/drip': {
          // One byte every 50 ms: never idle, but slow overall.
          res.writeHead(200);
          const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('x')), 50);
          res.on('close', () => clearInterval(t));
          return;
        }
        case '/empty':
          res.writeHead(200);
          res.end();
          return;
        case '/hook': {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            res.writeHead(Buffer.concat(chunks).toString() === 'ping' ? 204 : 400);
            res.end();
          });
          return;
        }
        default:
          res.writeHead(404);
          res.end('secret internal page');
      }
    });
  });
  after(async () => {
    srv.server.closeAllConnections();
    await new Promise((r) => srv.server.close(r));
    await cleanup();
  });

  it('downloads from an allow-listed loopback server into a file', async () => {
    const dest = join(dir, 'a.mp4');
    const r = await allowLoopback.download(`${srv.base}/video.mp4`, dest, { label: 'video_url' });
    assert.equal(r.bytes, payload.length);
    assert.equal(r.contentType, 'video/mp4');
    assert.equal(r.filename, 'video.mp4');
    assert.deepEqual(await readFile(dest), payload);
  });

  it('refuses loopback by literal and by name without an allow-list', async () => {
    const f = new GuardedFetcher(new SsrfPolicy());
    const dest = join(dir, 'b.mp4');
    const e = await rejectsWith(
      f.download(`${srv.base}/video.mp4`, dest, { label: 'video_url' }),
      'invalid_request',
      'address_not_allowed',
    );
    assert.match(e.message, /^video_url http:\/\/127\.0\.0\.1:\d+\/video\.mp4: .*internal address/);
    const port = new URL(srv.base).port;
    await rejectsWith(
      f.download(`http://localhost:${port}/video.mp4`, dest),
      'invalid_request',
      'address_not_allowed',
    );
    await rejectsWith(
      f.download(`http://[::ffff:7f00:1]:${port}/x`, dest),
      'invalid_request',
      'address_not_allowed',
    );
    assert.equal(existsSync(dest), false);
  });

  it('re-checks every redirect hop', async () => {
    const dest = join(dir, 'c.mp4');
    for (const to of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://127.0.0.2/'])
      await rejectsWith(
        allowLoopback.download(`${srv.base}/redirect?to=${encodeURIComponent(to)}`, dest),
        'invalid_request',
        'address_not_allowed',
      );
    await rejectsWith(
      allowLoopback.download(`${srv.base}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`, dest),
      'invalid_request',
      'bad_url',
    );
    const ok = await allowLoopback.download(`${srv.base}/redirect?to=/video.mp4`, dest);
    assert.equal(ok.bytes, payload.length);
    assert.match(ok.finalUrl, /\/video\.mp4$/);
    await rejectsWith(
      allowLoopback.download(`${srv.base}/loop`, dest),
      'invalid_request',
      'too_many_redirects',
    );
  });

  it('rejects non-http schemes, error statuses and empty bodies without echoing the body', async () => {
    const dest = join(dir, 'd.mp4');
    await rejectsWith(allowLoopback.download('ftp://example.com/a.mp4', dest), 'invalid_request', 'bad_url');
    await rejectsWith(allowLoopback.download('not a url', dest), 'invalid_request', 'bad_url');
    const e = await rejectsWith(
      allowLoopback.download(`${srv.base}/missing`, dest),
      'invalid_request',
      'http_status',
    );
    assert.match(e.message, /HTTP 404/);
    assert.doesNotMatch(e.message, /secret/);
    await rejectsWith(allowLoopback.download(`${srv.base}/empty`, dest), 'unsupported_media', 'empty');
  });

  it('enforces the size limit from Content-Length and while streaming', async () => {
    const dest = join(dir, 'e.mp4');
    const limits = { maxBytes: 1000 };
    await rejectsWith(allowLoopback.download(`${srv.base}/video.mp4`, dest, { limits }), 'payload_too_large');
    await rejectsWith(
      allowLoopback.download(`${srv.base}/chunked`, dest, { limits: { maxBytes: 200_000 } }),
      'payload_too_large',
    );
    assert.equal(existsSync(dest), false);
  });

  it('gives up on a stalled server and on a slow one', async () => {
    const dest = join(dir, 'f.mp4');
    const t0 = Date.now();
    await rejectsWith(
      allowLoopback.download(`${srv.base}/stall`, dest, { limits: { idleTimeoutMs: 300 } }),
      'timeout',
    );
    await rejectsWith(
      allowLoopback.download(`${srv.base}/drip`, dest, { limits: { timeoutMs: 500, idleTimeoutMs: 5000 } }),
      'timeout',
    );
    assert.ok(Date.now() - t0 < 5000);
  });

  it('streams a body to a consumer under the same limits (no file)', async () => {
    const collect = async (body: AsyncIterable<Buffer>): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      return Buffer.concat(chunks);
    };
    const r = await allowLoopback.stream(`${srv.base}/video.mp4`, (body, meta) => {
      assert.equal(meta.filename, 'video.mp4', 'known before the first byte');
      return collect(body);
    });
    assert.equal(r.bytes, payload.length);
    assert.deepEqual(r.result, payload);
    // Over the limit mid-body: the consumer sees the stream fail and the error says why.
    let consumerSaw: unknown;
    await rejectsWith(
      allowLoopback.stream(
        `${srv.base}/chunked`,
        (body) =>
          collect(body).catch((e: unknown) => {
            consumerSaw = e;
            throw e;
          }),
        { limits: { maxBytes: 200_000 } },
      ),
      'payload_too_large',
    );
    assert.ok(consumerSaw, 'the consumer was stopped');
    await rejectsWith(
      allowLoopback.stream(`${srv.base}/stall`, collect, { limits: { idleTimeoutMs: 300 } }),
      'timeout',
    );
    await rejectsWith(allowLoopback.stream(`${srv.base}/empty`, collect), 'unsupported_media', 'empty');
  });

  it('posts a body and reports the status without following redirects', async () => {
    const r = await allowLoopback.send(`${srv.base}/hook`, { body: Buffer.from('ping') });
    assert.equal(r.status, 204);
    const redirected = await allowLoopback.send(`${srv.base}/redirect`, { body: Buffer.from('ping') });
    assert.equal(redirected.status, 302);
    await rejectsWith(
      new GuardedFetcher(new SsrfPolicy()).send(`${srv.base}/hook`, { body: Buffer.from('ping') }),
      'invalid_request',
      'address_not_allowed',
    );
  });
});
