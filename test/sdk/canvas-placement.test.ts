import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anchorNames, modelNames } from '../../src/core/job-spec.ts';
import { jobStatuses } from '../../src/core/job.ts';
import { outputFormatNames } from '../../src/core/output-formats.ts';
import { canvasLayout } from '../../src/pipeline/compose/canvas-layout.ts';
import { anchors, jobStatuses as sdkStatuses, modelIds, outputFormatIds } from '../../src/sdk/api-types.ts';
import { canvasPlacement } from '../../src/sdk/canvas-placement.ts';

describe('sdk: canvas placement (UI preview) agrees with the compositor', () => {
  it('gives the same layout as src/pipeline/compose/canvas-layout.ts for every anchor', () => {
    const sources = [
      [1920, 1080],
      [1080, 1920],
      [641, 359],
      [3, 5],
    ] as const;
    const canvases = [
      [1920, 1080],
      [1080, 1920],
      [1080, 1080],
      [1280, 720],
      [1001, 777],
    ] as const;
    const scales = [0.05, 0.333, 0.5, 1, 1.37, 4];
    const offsets = [
      { x: 0, y: 0 },
      { x: -37, y: 211 },
      { x: 5000, y: -5000 },
    ];
    let checked = 0;
    for (const [sw, sh] of sources)
      for (const [cw, ch] of canvases)
        for (const scale of scales)
          for (const offset of offsets)
            for (const anchor of anchors) {
              const server = canvasLayout(
                sw,
                sh,
                { canvas: { width: cw, height: ch }, anchor, scale, offset },
                false,
              );
              const ui = canvasPlacement(
                { width: sw, height: sh },
                { width: cw, height: ch },
                { anchor, scale, offset },
              );
              assert.deepEqual(ui, server, JSON.stringify({ sw, sh, cw, ch, scale, offset, anchor }));
              checked++;
            }
    assert.equal(checked, 4 * 5 * 6 * 3 * 9);
  });

  it("the SDK's enumerations match the server's", () => {
    assert.deepEqual([...anchors], [...anchorNames]);
    assert.deepEqual([...modelIds], [...modelNames]);
    assert.deepEqual([...outputFormatIds], [...outputFormatNames]);
    assert.deepEqual([...sdkStatuses], [...jobStatuses]);
  });
});
