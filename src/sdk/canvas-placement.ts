import type { Anchor } from './api-types.ts';

/**
 * Where the scaled foreground lands on the output canvas, for previews in a client. The same
 * arithmetic as the server's src/pipeline/compose/canvas-layout.ts (whole-pixel positions, floor
 * for odd spare room, offset added last); a copy because that module is part of the Node pipeline,
 * and test/sdk/canvas-placement.test.ts checks that both agree.
 */
export interface Placement {
  canvasWidth: number;
  canvasHeight: number;
  fgWidth: number;
  fgHeight: number;
  fgX: number;
  fgY: number;
}

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

export function canvasPlacement(
  src: { width: number; height: number },
  canvas: { width: number; height: number },
  fg: { anchor: Anchor; scale: number; offset: { x: number; y: number } },
): Placement {
  const fgWidth = Math.max(1, Math.round(src.width * fg.scale));
  const fgHeight = Math.max(1, Math.round(src.height * fg.scale));
  const [ax, ay] = anchorFactors[fg.anchor];
  return {
    canvasWidth: canvas.width,
    canvasHeight: canvas.height,
    fgWidth,
    fgHeight,
    fgX: Math.floor((canvas.width - fgWidth) * ax) + fg.offset.x,
    fgY: Math.floor((canvas.height - fgHeight) * ay) + fg.offset.y,
  };
}
