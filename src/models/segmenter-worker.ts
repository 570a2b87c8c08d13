import { parentPort } from 'node:worker_threads';
import { IsnetSegmenter } from './isnet-segmenter.ts';
import type { Segmenter } from './segmenter.ts';
import { SelfieSegmenter } from './selfie-segmenter.ts';
import type { WorkerReply, WorkerRequest } from './worker-segmenter.ts';

/**
 * The inference thread: one per process, hosting every open onnxruntime session. onnxruntime-node
 * blocks its calling thread for a whole inference, so it must not run on the main thread; and its
 * native addon cannot be loaded again by a second worker thread ("Module did not self-register"),
 * so this thread lives as long as the process and sessions come and go inside it.
 */
const port = parentPort;
if (!port) throw new Error('segmenter-worker must run in a worker thread');

const sessions = new Map<number, Promise<Segmenter>>();

function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(msg, transfer);
}

async function handle(msg: WorkerRequest): Promise<void> {
  if (msg.type === 'open') {
    const { spec } = msg;
    const opening: Promise<Segmenter> =
      spec.kind === 'isnet'
        ? IsnetSegmenter.open(spec.modelId, spec.modelPath, spec.longSide)
        : SelfieSegmenter.open(spec.modelId, spec.modelPath, spec.size);
    sessions.set(msg.session, opening);
    await opening;
    reply({ type: 'opened', id: msg.id });
    return;
  }
  const seg = await sessions.get(msg.session);
  if (!seg) throw new Error(`no open session ${msg.session}`);
  if (msg.type === 'close') {
    sessions.delete(msg.session);
    await seg.dispose();
    reply({ type: 'closed', id: msg.id });
    return;
  }
  const matte = await seg.run(msg.rgb, msg.width, msg.height);
  // The output tensor's memory belongs to onnxruntime; send a copy we own.
  const copy = new Float32Array(matte);
  reply({ type: 'matte', id: msg.id, matte: copy }, [copy.buffer]);
}

port.on('message', (msg: WorkerRequest) => {
  handle(msg).catch((err: unknown) => {
    if (msg.type === 'open') sessions.delete(msg.session);
    reply({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  });
});
