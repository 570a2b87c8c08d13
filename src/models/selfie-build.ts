// Builds the ONNX selfie segmentation models from the TFLite graphs shipped in the npm package
// @mediapipe/selfie_segmentation (no download: the package tarball carries both .tflite files).
//
// The conversion (./tflite-to-onnx.ts) is a pure function of the file's bytes, so the output is
// byte-for-byte reproducible and callers can pin its sha256.
//
// The produced model: input `input` float32 NHWC 1×H×W×3, RGB in [0,1]; output `output` float32
// NHWC 1×H×W×1, the sigmoid probability of "person". square: H = W = 256; landscape: H = 144,
// W = 256.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ModelSourceError } from './imgly-chunks.ts';
import { convertTfliteToOnnx } from './tflite-to-onnx.ts';

export type SelfieVariant = 'square' | 'landscape';

export const MEDIAPIPE_SELFIE_PACKAGE = '@mediapipe/selfie_segmentation';
export const MEDIAPIPE_SELFIE_VERSION = '0.1.1675465747';
const INSTALL_HINT = `install the npm package ${MEDIAPIPE_SELFIE_PACKAGE}@${MEDIAPIPE_SELFIE_VERSION} (npm ci)`;

export const SELFIE_FILES: Record<SelfieVariant, string> = {
  square: 'selfie_segmentation.tflite',
  landscape: 'selfie_segmentation_landscape.tflite',
};

/** Model input size (pixels) per variant, as declared by the TFLite graphs. */
export const SELFIE_INPUT_SIZE: Record<SelfieVariant, { width: number; height: number }> = {
  square: { width: 256, height: 256 },
  landscape: { width: 256, height: 144 },
};

/** Directory of the installed @mediapipe/selfie_segmentation, or undefined when it is not installed. */
export function findSelfiePackageDir(): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve(`${MEDIAPIPE_SELFIE_PACKAGE}/package.json`));
  } catch {
    return undefined;
  }
}

/** Read the variant's .tflite from the package (or from `packageDir`, for tests). */
export async function readSelfieTflite(variant: SelfieVariant, packageDir?: string): Promise<Uint8Array> {
  const file = SELFIE_FILES[variant];
  if (!file) throw new Error(`unknown selfie model variant ${JSON.stringify(variant)} (square | landscape)`);
  const dir = packageDir ?? findSelfiePackageDir();
  if (dir === undefined) {
    throw new ModelSourceError(
      `selfie segmentation model not found: ${INSTALL_HINT} — cannot resolve ${MEDIAPIPE_SELFIE_PACKAGE}/package.json`,
    );
  }
  const full = path.join(dir, file);
  if (!existsSync(full)) {
    throw new ModelSourceError(
      `selfie segmentation model not found: ${INSTALL_HINT} — ${file} is missing in ${dir}`,
    );
  }
  return new Uint8Array(await readFile(full));
}

/** Convert the package's TFLite selfie model to ONNX bytes. Deterministic. */
export async function buildSelfieModel(variant: SelfieVariant, packageDir?: string): Promise<Uint8Array> {
  const tflite = await readSelfieTflite(variant, packageDir);
  try {
    return convertTfliteToOnnx(tflite);
  } catch (e) {
    throw new ModelSourceError(
      `cannot convert ${MEDIAPIPE_SELFIE_PACKAGE}/${SELFIE_FILES[variant]} to ONNX ` +
        `(expected version ${MEDIAPIPE_SELFIE_VERSION}; reinstall it): ${(e as Error).message}`,
      { cause: e },
    );
  }
}
