import { parentPort, workerData } from 'node:worker_threads';
import { MatteRefiner } from './matte-refiner.ts';
import type { RefineReply, RefineRequest, RefineThreadInit } from './refine-thread-protocol.ts';

const init = workerData as RefineThreadInit;
const refiner = new MatteRefiner(
  init.tier,
  init.width,
  init.height,
  init.matteWidth,
  init.matteHeight,
  init.overrides,
);
const port = parentPort;
if (!port) throw new Error('refine-thread-worker must run in a worker thread');

port.on('message', (req: RefineRequest) => {
  let reply: RefineReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const t = performance.now();
    // Handed over (not copied) with the reply; the caller's spare if it sent one.
    const n = init.width * init.height;
    const alpha = req.out?.byteLength === n ? req.out : new Uint8Array(n);
    refiner.refine(req, alpha);
    reply = { type: 'alpha', id: req.id, alpha, rgb: req.rgb, ms: performance.now() - t };
    transfer.push(alpha.buffer as ArrayBuffer, req.rgb.buffer as ArrayBuffer);
  } catch (err) {
    reply = {
      type: 'error',
      id: req.id,
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    };
  }
  port.postMessage(reply, transfer);
});
