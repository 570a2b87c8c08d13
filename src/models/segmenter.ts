/**
 * A segmentation model seen by the pipeline: it takes a frame already resized to the model's
 * input size (packed rgb24) and returns the matte at that size, alpha in [0,1].
 */
export interface Segmenter {
  readonly modelId: string;
  /** Model input size for a source frame of this size (aspect kept where the model allows). */
  inputSizeFor(width: number, height: number): { width: number; height: number };
  run(rgb: Uint8Array, width: number, height: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/**
 * The model input for a frame: the long side at `longSide`, the short side scaled with the
 * aspect and rounded to a multiple of 32 (the ISNet encoder downsamples 5 times by 2).
 */
export function aspectInputSize(
  width: number,
  height: number,
  longSide: number,
): { width: number; height: number } {
  const round32 = (v: number): number => Math.max(32, Math.round(v / 32) * 32);
  if (width >= height) return { width: round32(longSide), height: round32((longSide * height) / width) };
  return { width: round32((longSide * width) / height), height: round32(longSide) };
}
