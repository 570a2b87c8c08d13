import type { ModelInfo, OutputFormatId } from '../../../src/sdk/api-types.ts';
import { outputFormatIds } from '../../../src/sdk/api-types.ts';
import { formatLabels, type JobSettings } from './job-settings.ts';

interface Props {
  models: ModelInfo[];
  settings: JobSettings;
  onChange: (s: JobSettings) => void;
}

const speedWords: Record<string, string> = {
  fastest: 'fastest',
  fast: 'fast',
  standard: 'standard speed',
  slow: 'slow, best quality',
};

/** Step 2: model (with its price and speed from GET /v1/models), output format and length. */
export function ModelFields({ models, settings, onChange }: Props) {
  const formats = outputFormatIds;
  return (
    <fieldset class="step">
      <legend>2. Model and output</legend>
      <fieldset class="choices">
        <legend>Model</legend>
        {models.length === 0 && <p class="muted">Loading models…</p>}
        {models.map((m) => (
          <label key={m.id} class="choice">
            <input
              type="radio"
              name="model"
              value={m.id}
              checked={settings.model === m.id}
              onChange={() => onChange({ ...settings, model: m.id })}
            />
            <span>
              <strong>{m.name}</strong> · {m.credits_per_minute} credits/min ·{' '}
              {speedWords[m.speed_class] ?? m.speed_class}
              <br />
              <span class="muted">
                {m.capabilities.subjects}
                {m.installed ? '' : ' (built on first use: the first job takes longer)'}
              </span>
            </span>
          </label>
        ))}
      </fieldset>

      <label for="output-format">Output format</label>
      <select
        id="output-format"
        value={settings.outputFormat}
        onChange={(e) => onChange({ ...settings, outputFormat: e.currentTarget.value as OutputFormatId })}
      >
        {formats.map((f) => (
          <option key={f} value={f}>
            {formatLabels[f]}
          </option>
        ))}
      </select>

      <label class="choice">
        <input
          type="checkbox"
          checked={settings.previewSeconds !== null}
          onChange={(e) => onChange({ ...settings, previewSeconds: e.currentTarget.checked ? 1 : null })}
        />
        <span>Only a preview: process the first seconds (billed for those only)</span>
      </label>
      {settings.previewSeconds !== null && (
        <>
          <label for="preview-seconds">Preview length (seconds)</label>
          <input
            id="preview-seconds"
            type="number"
            min={0.1}
            step={0.1}
            value={settings.previewSeconds}
            onInput={(e) => onChange({ ...settings, previewSeconds: Number(e.currentTarget.value) })}
          />
        </>
      )}
    </fieldset>
  );
}
