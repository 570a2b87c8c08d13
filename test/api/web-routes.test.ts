import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeDevKeyFile, devKeyPath } from '../../src/api/dev-key-file.ts';
import { tempDir } from '../helpers/media.ts';
import { startHarness, type Harness } from './api-harness.ts';

describe('web UI routes', () => {
  let h: Harness;
  let bare: Harness;
  let cleanup: () => Promise<void>;

  before(async () => {
    const t = await tempDir('alphacut-web-');
    cleanup = t.cleanup;
    const dist = join(t.dir, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>ui</title>');
    await writeFile(join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
    await writeDevKeyFile(t.dir, 'ak_devkeydevkeydevkeydevkeydevkey12');
    h = await startHarness({ extra: { webDistDir: dist, devKeyFile: devKeyPath(t.dir) } });
    bare = await startHarness({ extra: { webDistDir: join(t.dir, 'nothing-here') } });
  });
  after(async () => {
    await h?.close();
    await bare?.close();
    await cleanup?.();
  });

  it('serves the built UI at / and fingerprinted assets with a long cache', async () => {
    const index = await h.app.inject({ url: '/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.headers['content-type'] as string, /text\/html/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    const asset = await h.app.inject({ url: '/assets/app-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['cache-control'] as string, /immutable/);
  });

  it('keeps the JSON 404 of the API for unknown paths', async () => {
    const res = await h.app.inject({ url: '/no/such/page' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'not_found');
  });

  it('says how to build the UI when web/dist is missing', async () => {
    const res = await bare.app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /npm run build:web/);
  });

  it('hands the dev key to a browser on this machine only', async () => {
    const ok = await h.app.inject({ url: '/ui/dev-key', headers: { host: '127.0.0.1:8080' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().key, 'ak_devkeydevkeydevkeydevkeydevkey12');
    assert.equal(ok.headers['cache-control'], 'no-store');
    const refused = [
      { remoteAddress: '10.1.2.3', headers: { host: '127.0.0.1:8080' } },
      { headers: { host: 'localhost:8080', 'x-forwarded-for': '203.0.113.9' } },
      // DNS rebinding: a loopback peer but another site's name.
      { headers: { host: 'evil.example:8080' } },
    ];
    for (const r of refused) {
      const res = await h.app.inject({ url: '/ui/dev-key', ...r });
      assert.equal(res.statusCode, 404, JSON.stringify(r));
    }
    // Without a configured file (distributed mode) nobody gets a key.
    const none = await bare.app.inject({ url: '/ui/dev-key', headers: { host: 'localhost' } });
    assert.equal(none.statusCode, 404);
  });
});
