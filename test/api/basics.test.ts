import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminToken, startHarness, type Harness } from './api-harness.ts';

describe('API basics: auth, errors, request ids, rate limits, ops', () => {
  let h: Harness;
  let key: string;
  before(async () => {
    h = await startHarness({ config: { rateLimit: { limit: 30, windowMs: 60_000 } } });
    key = (await h.newKey()).key;
  });
  after(() => h.close());

  it('answers 401 missing_api_key / invalid_api_key in the envelope, with a request id', async () => {
    const missing = await h.app.inject({ method: 'GET', url: '/v1/credits' });
    assert.equal(missing.statusCode, 401);
    const body = missing.json();
    assert.equal(body.error.code, 'missing_api_key');
    assert.match(body.error.request_id, /^req_/);
    assert.equal(missing.headers['x-request-id'], body.error.request_id);
    const bad = await h.app.inject({
      method: 'GET',
      url: '/v1/credits',
      headers: { 'x-api-key': 'ak_nope' },
    });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().error.code, 'invalid_api_key');
  });

  it('accepts X-Api-Key and Bearer, echoes a caller request id', async () => {
    const a = await h.app.inject({
      method: 'GET',
      url: '/v1/credits',
      headers: { 'x-api-key': key, 'x-request-id': 'abc-123' },
    });
    assert.equal(a.statusCode, 200);
    assert.equal(a.headers['x-request-id'], 'abc-123');
    assert.deepEqual(
      { ...(a.json() as object), unlimited: undefined },
      {
        success: true,
        total_credits: 1000,
        used_credits: 0,
        remaining_credits: 1000,
        reserved_credits: 0,
        unlimited: undefined,
      },
    );
    const b = await h.app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(b.statusCode, 200);
    const models = b.json().models as Array<Record<string, unknown>>;
    assert.deepEqual(models.map((m) => [m.id, m.credits_per_minute]).sort(), [
      ['human', 45],
      ['light', 45],
      ['original', 60],
      ['pro', 180],
    ]);
    assert.deepEqual(models.find((m) => m.id === 'pro')?.capabilities, {
      text_prompt: true,
      subjects: 'any subject (people, animals, products); highest quality',
    });
  });

  it('wraps Fastify 404, bad JSON, wrong content type and oversize bodies in the envelope', async () => {
    const nf = await h.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: { 'x-api-key': key } });
    assert.equal(nf.statusCode, 404);
    assert.equal(nf.json().error.code, 'not_found');
    const bad = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      payload: '{nope',
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_request');
    const media = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'x-api-key': key, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    assert.equal(media.statusCode, 415);
    assert.equal(media.json().error.code, 'unsupported_media');
    const big = await h.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      payload: JSON.stringify({ video_url: 'x'.repeat(2 * 1024 * 1024) }),
    });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'payload_too_large');
  });

  it('reports the request budget and answers 429 rate_limited with Retry-After', async () => {
    const { key: k } = await h.newKey();
    let last;
    for (let i = 0; i < 30; i++) {
      last = await h.app.inject({ method: 'GET', url: '/v1/credits', headers: { 'x-api-key': k } });
      assert.equal(last.statusCode, 200);
    }
    assert.equal(last?.headers['ratelimit-limit'], '30');
    assert.equal(last?.headers['ratelimit-remaining'], '0');
    assert.equal(last?.headers['x-ratelimit-limit'], '30');
    assert.ok(Number(last?.headers['ratelimit-reset']) > 0);
    const limited = await h.app.inject({ method: 'GET', url: '/v1/credits', headers: { 'x-api-key': k } });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });

  it('serves /health, /metrics, /openapi.json and /docs without a key', async () => {
    const health = await h.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 200);
    assert.equal(health.json().status, 'healthy');
    assert.deepEqual(Object.keys(health.json().checks).sort(), ['db', 'queue', 'storage']);
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /alphacut_http_requests_total/);
    const spec = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    const paths = Object.keys(spec.json().paths as object);
    for (const p of ['/v1/jobs', '/v1/jobs/{id}/start', '/v1/uploads', '/v1/files/{token}', '/v1/admin/keys'])
      assert.ok(paths.includes(p), p);
    const docs = await h.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
    assert.doesNotMatch(docs.body, /https?:\/\/(unpkg|cdn)/);
  });

  it('guards admin routes with X-Admin-Token', async () => {
    const none = await h.app.inject({ method: 'GET', url: '/v1/admin/keys' });
    assert.equal(none.json().error.code, 'missing_api_key');
    const wrong = await h.app.inject({
      method: 'GET',
      url: '/v1/admin/keys',
      headers: { 'x-admin-token': 'x' },
    });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.code, 'invalid_api_key');
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: { 'x-admin-token': adminToken },
      payload: { client_id: 'acme', credits: 50, note: 'trial' },
    });
    assert.equal(created.statusCode, 201);
    const c = created.json();
    assert.match(c.key, /^ak_[0-9A-Za-z]{32}$/);
    assert.match(c.webhook_secret, /^whsec_/);
    assert.equal(c.client_id, 'acme');
    assert.equal(c.credits.total_credits, 50);
    assert.equal(c.key_fingerprint, `ak_…${c.key.slice(-4)}`);
    const list = await h.app.inject({
      method: 'GET',
      url: '/v1/admin/keys',
      headers: { 'x-admin-token': adminToken },
    });
    const listed = (list.json().keys as Array<Record<string, unknown>>).find((k) => k.id === c.id);
    assert.ok(listed);
    assert.equal(JSON.stringify(list.json()).includes(c.key), false, 'a key is never shown again');

    const grant = await h.app.inject({
      method: 'POST',
      url: `/v1/admin/keys/${c.id}/credits`,
      headers: { 'x-admin-token': adminToken },
      payload: { amount: 25 },
    });
    assert.equal(grant.json().total_credits, 75);
    const secret = await h.app.inject({
      method: 'GET',
      url: `/v1/admin/keys/${c.id}/webhook-secret`,
      headers: { 'x-admin-token': adminToken },
    });
    assert.equal(secret.json().webhook_secret, c.webhook_secret);
    const rotated = await h.app.inject({
      method: 'POST',
      url: `/v1/admin/keys/${c.id}/webhook-secret/rotate`,
      headers: { 'x-admin-token': adminToken },
    });
    assert.notEqual(rotated.json().webhook_secret, c.webhook_secret);

    const disable = await h.app.inject({
      method: 'POST',
      url: `/v1/admin/keys/${c.id}/disable`,
      headers: { 'x-admin-token': adminToken },
    });
    assert.equal(disable.json().disabled, true);
    const refused = await h.app.inject({
      method: 'GET',
      url: '/v1/credits',
      headers: { 'x-api-key': c.key },
    });
    assert.equal(refused.json().error.code, 'invalid_api_key');
    await h.app.inject({
      method: 'POST',
      url: `/v1/admin/keys/${c.id}/enable`,
      headers: { 'x-admin-token': adminToken },
    });
    const back = await h.app.inject({ method: 'GET', url: '/v1/credits', headers: { 'x-api-key': c.key } });
    assert.equal(back.statusCode, 200);
    const missing = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/keys/key_nope/disable',
      headers: { 'x-admin-token': adminToken },
    });
    assert.equal(missing.statusCode, 404);
  });

  it('validates usage queries and returns summaries and events', async () => {
    const bad = await h.app.inject({
      method: 'GET',
      url: '/v1/usage/summary?days=91',
      headers: { 'x-api-key': key },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_request');
    assert.equal(bad.json().error.details.fields[0].field, 'querystring.days');
    const s = await h.app.inject({
      method: 'GET',
      url: '/v1/usage/summary?days=3',
      headers: { 'x-api-key': key },
    });
    assert.equal(s.json().daily.length, 3);
    assert.deepEqual(Object.keys(s.json().totals).sort(), [
      'completed_jobs',
      'credits_used',
      'failed_jobs',
      'jobs',
      'seconds_processed',
    ]);
    const badLimit = await h.app.inject({
      method: 'GET',
      url: '/v1/usage/events?limit=0',
      headers: { 'x-api-key': key },
    });
    assert.equal(badLimit.statusCode, 400);
    const ev = await h.app.inject({
      method: 'GET',
      url: '/v1/usage/events?limit=5',
      headers: { 'x-api-key': key },
    });
    assert.equal(ev.statusCode, 200);
    assert.ok((ev.json().events as unknown[]).length > 0, 'API calls are recorded');
  });
});
