import type { InferenceSession } from 'onnxruntime-node';
import { openSession, ort } from './onnx-session.ts';
import { aspectInputSize, type Segmenter } from './segmenter.ts';

/**
 * ISNet (small or medium), made size-agnostic at install so it runs at any multiple of 32.
 * Pre-processing is the one the weights were trained with: (v − 128) / 256 per channel, CHW.
 */
export class IsnetSegmenter implements Segmenter {
  private constructor(
    readonly modelId: string,
    private readonly session: InferenceSession,
    private readonly longSide: number,
  ) {}

  static async open(modelId: string, modelPath: string, longSide: number): Promise<IsnetSegmenter> {
    return new IsnetSegmenter(modelId, await openSession(modelPath), longSide);
  }

  inputSizeFor(width: number, height: number): { width: number; height: number } {
    return aspectInputSize(width, height, this.longSide);
  }

  async run(rgb: Uint8Array, width: number, height: number): Promise<Float32Array> {
    const plane = width * height;
    const chw = new Float32Array(3 * plane);
    for (let i = 0, p = 0; p < plane; p++, i += 3) {
      chw[p] = ((rgb[i] as number) - 128) / 256;
      chw[p + plane] = ((rgb[i + 1] as number) - 128) / 256;
      chw[p + 2 * plane] = ((rgb[i + 2] as number) - 128) / 256;
    }
    const inputName = this.session.inputNames[0] as string;
    const result = await this.session.run({
      [inputName]: new ort.Tensor('float32', chw, [1, 3, height, width]),
    });
    const out = result.output ?? result[this.session.outputNames[0] as string];
    if (!out) throw new Error(`${this.modelId}: model returned no output`);
    return out.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
