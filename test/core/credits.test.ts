import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apiKeyFingerprint,
  generateApiKey,
  generateWebhookSecret,
  hashApiKey,
  isApiKeyFormat,
} from '../../src/core/api-keys.ts';
import { isValidBlobKey, jobBlobKey } from '../../src/core/blob-key.ts';
import { balanceFrom, billableSeconds, creditsFor } from '../../src/core/credits.ts';
import { canTransition } from '../../src/core/job-state.ts';
import { isJobId, newJobId, newUploadId, isUploadId } from '../../src/core/job.ts';

describe('credits', () => {
  it('cost = ceil(ceil(seconds) × per-minute / 60)', () => {
    assert.equal(creditsFor('original', 60), 60);
    assert.equal(creditsFor('original', 59.01), 60);
    assert.equal(creditsFor('human', 1), 1); // 45/60 rounds up
    assert.equal(creditsFor('light', 10), 8); // 450/60 = 7.5
    assert.equal(creditsFor('pro', 10.2), 33); // 11 s × 3
    assert.equal(creditsFor('pro', 0), 0);
    assert.equal(creditsFor('pro', Number.NaN), 0);
  });
  it('billable seconds follow trim and preview', () => {
    assert.equal(billableSeconds(30, { start: 0 }), 30);
    assert.equal(billableSeconds(30, { start: 5, duration: 10 }), 10);
    assert.equal(billableSeconds(30, { start: 25, duration: 10 }), 5);
    assert.equal(billableSeconds(30, { start: 40 }), 0);
  });
  it('balance from ledger sums', () => {
    assert.deepEqual(balanceFrom({ grant: 100, reserve: 30, charge: 10, release: 5, refund: 8 }, false), {
      total: 100,
      used: 10,
      reserved: 7,
      remaining: 83,
      unlimited: false,
    });
  });
});

describe('ids, keys, state machine', () => {
  it('API keys are ak_ + 32 base62, hashed (optionally peppered), fingerprinted', () => {
    const k = generateApiKey();
    assert.ok(isApiKeyFormat(k), k);
    assert.notEqual(generateApiKey(), k);
    assert.match(hashApiKey(k), /^[0-9a-f]{64}$/);
    assert.notEqual(hashApiKey(k, 'pepper'), hashApiKey(k));
    assert.equal(apiKeyFingerprint(k), `ak_…${k.slice(-4)}`);
    assert.match(generateWebhookSecret(), /^whsec_[A-Za-z0-9+/]{43}=$/);
  });
  it('job and upload ids are prefixed uuidv7', () => {
    assert.ok(isJobId(newJobId()));
    assert.ok(isUploadId(newUploadId()));
    assert.ok(!isJobId('job_../../x'));
  });
  it('blob keys', () => {
    assert.equal(jobBlobKey('key_a', 'job_b', 'output.webm'), 'key_a/jobs/job_b/output.webm');
    assert.throws(() => jobBlobKey('key_a', '..', 'x'));
    assert.ok(!isValidBlobKey('a/../b'));
  });
  it('transitions', () => {
    assert.ok(canTransition('failed', 'pending'));
    assert.ok(!canTransition('completed', 'pending'));
    assert.ok(!canTransition('deleted', 'deleted'));
  });
});
