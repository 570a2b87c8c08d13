import type { ComponentChildren } from 'preact';
import { anchors, type Anchor } from '../../../src/sdk/api-types.ts';
import { canvasPresets, maxCanvasSide, type JobSettings } from './job-settings.ts';

interface Props {
  settings: JobSettings;
  onChange: (s: JobSettings) => void;
  /** The live placement preview, shown under the controls. */
  children?: ComponentChildren;
}

const anchorLabels: Record<Anchor, string> = {
  'top-left': 'Top left',
  'top-center': 'Top centre',
  'top-right': 'Top right',
  'center-left': 'Centre left',
  center: 'Centre',
  'center-right': 'Centre right',
  'bottom-left': 'Bottom left',
  'bottom-center': 'Bottom centre',
  'bottom-right': 'Bottom right',
};

/** Step 4: canvas size and where the cut-out sits on it (API `composition`). */
export function CompositionFields({ settings, onChange, children }: Props) {
  const c = settings.composition;
  const set = (patch: Partial<JobSettings['composition']>) =>
    onChange({ ...settings, composition: { ...c, ...patch } });
  const preset = canvasPresets.find((p) => p.width === c.width && p.height === c.height);
  const presetValue = preset ? `${preset.width}x${preset.height}` : 'custom';

  return (
    <fieldset class="step">
      <legend>4. Composition</legend>
      <label class="choice">
        <input
          type="checkbox"
          checked={c.enabled}
          onChange={(e) => set({ enabled: e.currentTarget.checked })}
        />
        <span>Place the cut-out on a canvas (otherwise the output keeps the video's size)</span>
      </label>

      {c.enabled && (
        <div class="composition-grid">
          <div>
            <label for="canvas-preset">Canvas</label>
            <select
              id="canvas-preset"
              value={presetValue}
              onChange={(e) => {
                const v = e.currentTarget.value;
                const p = canvasPresets.find((x) => `${x.width}x${x.height}` === v);
                // Custom keeps the current numbers so the user edits from there.
                if (p) set({ width: p.width, height: p.height });
                else set({ width: c.width + (c.width % 2), height: c.height });
              }}
            >
              {canvasPresets.map((p) => (
                <option key={p.label} value={`${p.width}x${p.height}`}>
                  {p.label}
                </option>
              ))}
              <option value="custom">Custom size…</option>
            </select>
            <div class="row">
              <label>
                Width
                <input
                  type="number"
                  min={2}
                  max={maxCanvasSide}
                  step={2}
                  value={c.width}
                  onInput={(e) => set({ width: Math.round(Number(e.currentTarget.value)) })}
                />
              </label>
              <label>
                Height
                <input
                  type="number"
                  min={2}
                  max={maxCanvasSide}
                  step={2}
                  value={c.height}
                  onInput={(e) => set({ height: Math.round(Number(e.currentTarget.value)) })}
                />
              </label>
            </div>

            <fieldset class="anchor-grid-wrap">
              <legend>Anchor</legend>
              <div class="anchor-grid" role="radiogroup" aria-label="Anchor point on the canvas">
                {anchors.map((a) => (
                  <label key={a} class="anchor-cell" title={anchorLabels[a]}>
                    <input
                      type="radio"
                      name="anchor"
                      value={a}
                      checked={c.anchor === a}
                      onChange={() => set({ anchor: a })}
                      aria-label={anchorLabels[a]}
                    />
                    <span aria-hidden="true" />
                  </label>
                ))}
              </div>
              <p class="muted">{anchorLabels[c.anchor]}</p>
            </fieldset>

            <label for="fg-scale">Scale: {c.scalePercent} %</label>
            <input
              id="fg-scale"
              type="range"
              min={5}
              max={400}
              step={1}
              value={c.scalePercent}
              onInput={(e) => set({ scalePercent: Number(e.currentTarget.value) })}
            />
            <div class="row">
              <label>
                Offset x (px)
                <input
                  type="number"
                  step={1}
                  value={c.offsetX}
                  onInput={(e) => set({ offsetX: Math.round(Number(e.currentTarget.value)) })}
                />
              </label>
              <label>
                Offset y (px)
                <input
                  type="number"
                  step={1}
                  value={c.offsetY}
                  onInput={(e) => set({ offsetY: Math.round(Number(e.currentTarget.value)) })}
                />
              </label>
            </div>
          </div>
          <div>{children}</div>
        </div>
      )}
      {!c.enabled && children}
    </fieldset>
  );
}
