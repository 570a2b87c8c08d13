import * as ort from 'onnxruntime-node';

/**
 * Session options measured on the 2-core machines we target (FACTS.md): 2 intra-op threads
 * (1 thread is ~1.8× slower), sequential execution (parallel is slower), full graph optimisation,
 * and spinning OFF so idle inference threads do not steal the cores ffmpeg decodes and encodes on.
 */
export function sessionOptions(): ort.InferenceSession.SessionOptions {
  const threads = Number(process.env.ALPHACUT_INFERENCE_THREADS ?? 2) || 2;
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

export async function openSession(modelPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, sessionOptions());
}

export { ort };
