import { AlphacutError } from '../../core/errors.ts';
import type { Anchor, CompositionSpec } from '../../core/job-spec.ts';

/**
 * Where the (scaled) foreground lands on the output canvas. Pure numbers, so the compositor, the
 * background sources and the encoders agree on one size, and tests can pin the API.md semantics.
 */
export interface CanvasLayout {
  canvasWidth: number;
  canvasHeight: number;
  /** Size of the foreground after `scale`. */
  fgWidth: number;
  fgHeight: number;
  /**
   * Canvas position of the scaled foreground's top-left pixel. May be negative or put part of the
   * foreground past the right/bottom edge: that part is cropped.
   */
  fgX: number;
  fgY: number;
}

/** Position of the anchor along each axis: 0 = left/top, 0.5 = centre, 1 = right/bottom. */
const anchorFactors: Record<Anchor, readonly [number, number]> = {
  'top-left': [0, 0],
  'top-center': [0.5, 0],
  'top-right': [1, 0],
  'center-left': [0, 0.5],
  center: [0.5, 0.5],
  'center-right': [1, 0.5],
  'bottom-left': [0, 1],
  'bottom-center': [0.5, 1],
  'bottom-right': [1, 1],
};

const roundUpEven = (n: number): number => n + (n & 1);

/**
 * The canvas is the composition's canvas, else the source size. A source with an odd side and a
 * yuv420 output is padded by one pixel of background on the right/bottom rather than scaled: a
 * rescale would soften every frame to gain one pixel. A canvas the user chose with an odd side
 * is an error instead, because silently changing the requested output size is worse.
 *
 * A centred foreground whose spare room is odd sits half a pixel towards the top-left (floor):
 * positions stay whole pixels so that scale 1 is a plain copy.
 */
export function canvasLayout(
  srcW: number,
  srcH: number,
  composition: CompositionSpec | undefined,
  evenDimensions: boolean,
): CanvasLayout {
  if (!composition) {
    return {
      canvasWidth: evenDimensions ? roundUpEven(srcW) : srcW,
      canvasHeight: evenDimensions ? roundUpEven(srcH) : srcH,
      fgWidth: srcW,
      fgHeight: srcH,
      fgX: 0,
      fgY: 0,
    };
  }
  let canvasWidth: number;
  let canvasHeight: number;
  if (composition.canvas) {
    canvasWidth = composition.canvas.width;
    canvasHeight = composition.canvas.height;
    if (evenDimensions) {
      for (const [field, v] of [
        ['composition.canvas.width', canvasWidth],
        ['composition.canvas.height', canvasHeight],
      ] as const) {
        if (v % 2 !== 0) {
          const message = `must be an even number for this output format (yuv420 video); got ${v}`;
          throw new AlphacutError('invalid_request', `${field}: ${message}`, {
            fields: [{ field, message }],
          });
        }
      }
    }
  } else {
    canvasWidth = evenDimensions ? roundUpEven(srcW) : srcW;
    canvasHeight = evenDimensions ? roundUpEven(srcH) : srcH;
  }
  const fgWidth = Math.max(1, Math.round(srcW * composition.scale));
  const fgHeight = Math.max(1, Math.round(srcH * composition.scale));
  const [ax, ay] = anchorFactors[composition.anchor];
  return {
    canvasWidth,
    canvasHeight,
    fgWidth,
    fgHeight,
    fgX: Math.floor((canvasWidth - fgWidth) * ax) + composition.offset.x,
    fgY: Math.floor((canvasHeight - fgHeight) * ay) + composition.offset.y,
  };
}
