import { useState } from 'preact/hooks';
import { colorPresets, type BackgroundKind, type JobSettings } from './job-settings.ts';

interface Props {
  settings: JobSettings;
  onChange: (s: JobSettings) => void;
  /** Uploads a background video; the page stores its video_url in the settings. */
  onBackgroundFile: (file: File) => void;
  /** Images cannot be uploaded (uploads are probed as videos): the server fetches them by URL. */
  onBackgroundImageUrl: (url: string) => void;
  backgroundName: string | null;
  backgroundBusy: boolean;
}

const kinds: Array<{ kind: BackgroundKind; label: string }> = [
  { kind: 'transparent', label: 'Transparent' },
  { kind: 'color', label: 'Colour' },
  { kind: 'image', label: 'Image or video' },
  { kind: 'blur', label: 'Blurred original' },
];

/** Step 3: what replaces the removed background. */
export function BackgroundFields({
  settings,
  onChange,
  onBackgroundFile,
  onBackgroundImageUrl,
  backgroundName,
  backgroundBusy,
}: Props) {
  const bg = settings.background;
  const [imageUrl, setImageUrl] = useState('');
  const set = (patch: Partial<JobSettings['background']>) =>
    onChange({ ...settings, background: { ...bg, ...patch } });
  return (
    <fieldset class="step">
      <legend>3. Background</legend>
      <div class="segmented" role="radiogroup" aria-label="Background type">
        {kinds.map((k) => (
          <label key={k.kind} class="choice">
            <input
              type="radio"
              name="background"
              value={k.kind}
              checked={bg.kind === k.kind}
              onChange={() => set({ kind: k.kind })}
            />
            <span>{k.label}</span>
          </label>
        ))}
      </div>

      {bg.kind === 'color' && (
        <div class="color-row">
          <label for="bg-color">Background colour</label>
          <input
            id="bg-color"
            type="color"
            value={bg.color}
            onInput={(e) => set({ color: e.currentTarget.value })}
          />
          <div class="presets" role="group" aria-label="Colour presets">
            {colorPresets.map((p) => (
              <button
                key={p.value}
                type="button"
                class="swatch"
                style={{ background: p.value }}
                aria-pressed={bg.color === p.value}
                onClick={() => set({ color: p.value })}
              >
                {p.name}
              </button>
            ))}
          </div>
        </div>
      )}

      {bg.kind === 'image' && (
        <div>
          <p class="muted">Covers the canvas, centre-cropped; a shorter video loops.</p>
          <label for="bg-file">Background video file</label>
          <input
            id="bg-file"
            type="file"
            accept="video/*,.mkv,.mov,.m4v"
            disabled={backgroundBusy}
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              if (f) onBackgroundFile(f);
            }}
          />
          <label for="bg-image-url">…or an image URL (PNG, JPEG, WebP; the server downloads it)</label>
          <div class="row">
            <input
              id="bg-image-url"
              type="url"
              placeholder="https://example.com/backdrop.jpg"
              value={imageUrl}
              onInput={(e) => setImageUrl(e.currentTarget.value)}
            />
            <button
              type="button"
              disabled={!imageUrl.trim()}
              onClick={() => onBackgroundImageUrl(imageUrl.trim())}
            >
              Use image URL
            </button>
          </div>
          {backgroundBusy && <p role="status">Uploading background…</p>}
          {!backgroundBusy && backgroundName && bg.source && (
            <p class="ok" role="status">
              Background: {backgroundName}
            </p>
          )}
        </div>
      )}

      {bg.kind === 'blur' && (
        <div>
          <label for="bg-blur">Blur strength: {bg.blur}</label>
          <input
            id="bg-blur"
            type="range"
            min={0}
            max={100}
            value={bg.blur}
            onInput={(e) => set({ blur: Number(e.currentTarget.value) })}
          />
        </div>
      )}
    </fieldset>
  );
}
