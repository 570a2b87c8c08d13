import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { processTreeRss } from '../../bench/process-tree-rss.ts';

test(
  'process tree RSS counts the children',
  { skip: process.platform !== 'linux' && 'needs /proc' },
  async () => {
    const own = processTreeRss(process.pid) ?? 0;
    assert.ok(own >= process.memoryUsage.rss() * 0.8, `${own}`);
    const child = spawn(
      process.execPath,
      ['-e', 'const b = Buffer.alloc(96e6, 1); console.log("ready"); setTimeout(() => b, 10000);'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(child.stdout, 'data');
      const withChild = processTreeRss(process.pid) ?? 0;
      assert.ok(withChild - own > 80e6, `tree grew by ${withChild - own}`);
    } finally {
      child.kill();
    }
  },
);
