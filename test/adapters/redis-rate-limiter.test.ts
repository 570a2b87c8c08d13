import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { RedisRateLimiter } from '../../src/adapters/redis-rate-limiter.ts';
import { deleteRedisKeys, ensureRedis, redisUrl, uniqueName } from '../helpers/services.ts';

const skip = await ensureRedis();

it(
  'two API nodes share one request budget per key; the window opens at the first request',
  { skip },
  async () => {
    const prefix = uniqueName('alphacut_test');
    const a = new RedisRateLimiter({ redisUrl, prefix, limit: 3, windowMs: 400 });
    const b = new RedisRateLimiter({ redisUrl, prefix, limit: 3, windowMs: 400 });
    try {
      const got = [
        await a.hit('key_1', 0),
        await b.hit('key_1', 0),
        await a.hit('key_1', 0),
        await b.hit('key_1', 0),
      ];
      assert.deepEqual(
        got.map((d) => [d.allowed, d.remaining]),
        [
          [true, 2],
          [true, 1],
          [true, 0],
          [false, 0],
        ],
      );
      assert.equal(got[3]?.resetSeconds, 1);
      assert.equal((await a.hit('key_2', 0)).remaining, 2, 'keys are independent');
      await sleep(500);
      assert.deepEqual(await b.hit('key_1', 0), { allowed: true, limit: 3, remaining: 2, resetSeconds: 1 });
    } finally {
      await a.close();
      await b.close();
      await deleteRedisKeys(redisUrl, prefix);
    }
  },
);
