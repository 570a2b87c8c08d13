import { it } from 'node:test';
import { BullmqJobQueue } from '../../src/adapters/bullmq/bullmq-job-queue.ts';
import { deleteRedisKeys, ensureRedis, redisUrl, uniqueName } from '../helpers/services.ts';
import { jobQueueContract } from './job-queue.contract.ts';

const skip = await ensureRedis();
if (skip) it('JobQueue contract: bullmq', { skip }, () => {});
else
  // A fresh key prefix per queue; expiry is checked on every claim so lease times of 100 ms work.
  jobQueueContract('bullmq on redis', async () => {
    const prefix = uniqueName('alphacut_test');
    const queue = await BullmqJobQueue.open({ redisUrl, prefix, expiryCheckMs: 0 });
    return {
      queue,
      cleanup: async () => {
        await queue.close();
        await deleteRedisKeys(redisUrl, prefix);
      },
    };
  });
