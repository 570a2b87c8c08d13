import { IsnetSegmenter } from './isnet-segmenter.ts';
import type { ChildReply, ChildRequest, SegmenterSpec } from './process-segmenter.ts';
import type { Segmenter } from './segmenter.ts';
import { SelfieSegmenter } from './selfie-segmenter.ts';

/**
 * The inference process: one onnxruntime session, fed frames over the IPC channel. It exits when
 * its parent disconnects (or dies), so it can never outlive the job.
 */
const send = (msg: ChildReply): void => {
  process.send?.(msg);
};

const spec = JSON.parse(process.env.ALPHACUT_SEGMENTER_SPEC ?? 'null') as SegmenterSpec | null;
if (!spec || !process.send) {
  process.stderr.write('inference-child: must be forked with ALPHACUT_SEGMENTER_SPEC and an IPC channel\n');
  process.exit(2);
}

const ready: Promise<Segmenter> =
  spec.kind === 'isnet'
    ? IsnetSegmenter.open(spec.modelId, spec.modelPath, spec.longSide)
    : SelfieSegmenter.open(spec.modelId, spec.modelPath, spec.size);
ready.then(
  () => send({ type: 'ready' }),
  (err: unknown) => {
    send({ type: 'error', id: -1, message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);

process.on('disconnect', () => process.exit(0));
process.on('message', (msg: ChildRequest) => {
  void (async () => {
    try {
      const seg = await ready;
      const matte = await seg.run(msg.rgb, msg.width, msg.height);
      send({ type: 'matte', id: msg.id, matte: new Float32Array(matte) });
    } catch (err) {
      send({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
