import type { InferenceSession } from 'onnxruntime-node';
import { openSession, ort } from './onnx-session.ts';
import type { Segmenter } from './segmenter.ts';

/**
 * MediaPipe selfie segmentation, converted from TFLite to ONNX at install. Fixed input size:
 * 256×256 (square model) or 256 wide × 144 high (landscape model). Input is NHWC RGB in [0,1],
 * output a sigmoid probability of "person", both as the TFLite graph defines them.
 */
export class SelfieSegmenter implements Segmenter {
  private readonly input: Float32Array;

  private constructor(
    readonly modelId: string,
    private readonly session: InferenceSession,
    private readonly size: { width: number; height: number },
  ) {
    this.input = new Float32Array(size.width * size.height * 3);
  }

  static async open(
    modelId: string,
    modelPath: string,
    size: { width: number; height: number },
  ): Promise<SelfieSegmenter> {
    return new SelfieSegmenter(modelId, await openSession(modelPath), size);
  }

  inputSizeFor(): { width: number; height: number } {
    return this.size;
  }

  async run(rgb: Uint8Array, width: number, height: number): Promise<Float32Array> {
    if (width !== this.size.width || height !== this.size.height)
      throw new Error(`${this.modelId} takes ${this.size.width}x${this.size.height}, got ${width}x${height}`);
    const input = this.input;
    for (let i = 0; i < input.length; i++) input[i] = (rgb[i] as number) / 255;
    const inputName = this.session.inputNames[0] as string;
    const result = await this.session.run({
      [inputName]: new ort.Tensor('float32', input, [1, height, width, 3]),
    });
    const out = result[this.session.outputNames[0] as string];
    if (!out) throw new Error(`${this.modelId}: model returned no output`);
    return out.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
