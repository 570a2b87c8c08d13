import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifyFileToken, signFileToken } from '../../src/api/file-token.ts';
import { FixedWindowRateLimiter } from '../../src/api/rate-limiter.ts';
import {
  standardSignature,
  verifyStandardWebhook,
  webhookHeaders,
} from '../../src/webhooks/webhook-signature.ts';

describe('webhook signatures', () => {
  it('matches the Standard Webhooks reference vector', () => {
    // The example of the Standard Webhooks specification's reference libraries.
    const sig = standardSignature(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs both schemes and verifies within the tolerance only', () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const body = '{"event":"job.completed","data":{}}';
    const h = webhookHeaders({
      deliveryId: 'evt_1',
      event: 'job.completed',
      timestamp: 1700000000,
      body,
      secret,
    });
    assert.equal(
      h['x-webhook-signature'],
      `sha256=${createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex')}`,
    );
    assert.equal(h['webhook-id'], 'evt_1');
    assert.equal(h['x-webhook-event'], 'job.completed');
    const parts = { id: 'evt_1', timestamp: '1700000000', signature: `v1,bogus ${h['webhook-signature']}` };
    assert.equal(verifyStandardWebhook(secret, parts, body, 1700000100), true);
    assert.equal(verifyStandardWebhook(secret, parts, `${body} `, 1700000100), false);
    assert.equal(verifyStandardWebhook(secret, parts, body, 1700001000), false);
  });
});

describe('file tokens', () => {
  it('round-trips, expires and refuses tampering', () => {
    const t = signFileToken('s3cret', { b: 'k/jobs/j/output.webm', n: 'a.webm', t: 'video/webm', e: 1000 });
    assert.equal(verifyFileToken('s3cret', t, 999)?.b, 'k/jobs/j/output.webm');
    assert.equal(verifyFileToken('s3cret', t, 1001), null);
    assert.equal(verifyFileToken('other', t, 999), null);
    const [p, s] = t.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ b: 'x/other', n: 'a', t: 'v', e: 5000 })).toString(
      'base64url',
    );
    assert.equal(verifyFileToken('s3cret', `${forged}.${s}`, 999), null);
    assert.equal(verifyFileToken('s3cret', `${p}.${s}.x`, 999), null);
    assert.equal(verifyFileToken('s3cret', 'garbage', 999), null);
  });
});

describe('FixedWindowRateLimiter', () => {
  it('counts per key and window', () => {
    const rl = new FixedWindowRateLimiter(2, 60_000);
    assert.equal(rl.hit('a', 0).remaining, 1);
    assert.equal(rl.hit('a', 1).allowed, true);
    const third = rl.hit('a', 2);
    assert.equal(third.allowed, false);
    assert.equal(third.resetSeconds, 60);
    assert.equal(rl.hit('b', 3).allowed, true);
    assert.equal(rl.hit('a', 60_000).allowed, true);
  });
});
