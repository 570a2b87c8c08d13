import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobCreateSchema, normalizeRenderSpec, presetColors } from '../../src/core/job-spec.ts';
import {
  colorPresets,
  defaultSettings,
  jobRequestOf,
  settingsProblems,
  videoFileProblem,
  type JobSettings,
} from '../../web/src/new-job/job-settings.ts';

const url = 'http://127.0.0.1:8080/v1/uploads/upl_x';

function withChanges(f: (s: JobSettings) => void): JobSettings {
  const s = defaultSettings();
  f(s);
  return s;
}

describe('web: new-job settings → POST /v1/jobs body', () => {
  it('the default form is a valid light, transparent WebM request', () => {
    const body = jobRequestOf(url, defaultSettings());
    assert.deepEqual(body, {
      video_url: url,
      model: 'light',
      output_format: 'webm',
      background: { type: 'transparent' },
    });
    assert.deepEqual(settingsProblems(defaultSettings()), []);
  });

  it('builds bodies the server schema accepts and normalises as intended', () => {
    const s = withChanges((s) => {
      s.outputFormat = 'mp4';
      s.background.kind = 'color';
      s.background.color = '#09a246';
      s.composition = {
        enabled: true,
        width: 1080,
        height: 1920,
        anchor: 'bottom-right',
        scalePercent: 50,
        offsetX: -20,
        offsetY: 10,
      };
      s.previewSeconds = 1;
    });
    assert.deepEqual(settingsProblems(s), []);
    const body = jobCreateSchema.parse(jobRequestOf(url, s));
    const spec = normalizeRenderSpec(body);
    assert.deepEqual(spec.background, { type: 'color', rgb: [9, 162, 70] });
    assert.deepEqual(spec.composition, {
      canvas: { width: 1080, height: 1920 },
      anchor: 'bottom-right',
      scale: 0.5,
      offset: { x: -20, y: 10 },
    });
    assert.equal(spec.previewDuration, 1);
  });

  it('colour presets are the API presets', () => {
    const hex = (rgb: readonly number[]) =>
      `#${rgb
        .map((v) =>
          Math.round(v * 255)
            .toString(16)
            .padStart(2, '0'),
        )
        .join('')}`;
    assert.equal(colorPresets.find((p) => p.name === 'Green screen')?.value, hex(presetColors.green));
    assert.equal(colorPresets.find((p) => p.name === 'Blue screen')?.value, hex(presetColors.blue));
  });

  it('blur, image URL and uploaded video backgrounds', () => {
    const blur = jobRequestOf(
      url,
      withChanges((s) => ((s.background.kind = 'blur'), (s.background.blur = 70))),
    );
    assert.deepEqual(blur.background, { type: 'blur', strength: 70 });
    const img = withChanges((s) => {
      s.background.kind = 'image';
      s.background.source = { url: `${url}2`, isVideo: false };
    });
    assert.deepEqual(jobRequestOf(url, img).background, { type: 'image', image_url: `${url}2` });
    img.background.source = { url: `${url}3`, isVideo: true };
    assert.deepEqual(jobRequestOf(url, img).background, { type: 'video', video_url: `${url}3` });
    for (const s of [blur, jobRequestOf(url, img)]) jobCreateSchema.parse(s);
  });

  it('finds what the server would refuse before sending', () => {
    assert.match(
      settingsProblems(withChanges((s) => (s.outputFormat = 'mp4')))[0] ?? '',
      /cannot be transparent/,
    );
    const odd = withChanges((s) => {
      s.composition.enabled = true;
      s.composition.width = 1081;
    });
    assert.match(settingsProblems(odd)[0] ?? '', /width must be even/);
    odd.outputFormat = 'gif';
    assert.deepEqual(settingsProblems(odd), []);
    assert.match(
      settingsProblems(withChanges((s) => (s.background.kind = 'image')))[0] ?? '',
      /background video file or an image URL/,
    );
  });

  it('checks size and type of a picked file before uploading', () => {
    assert.equal(videoFileProblem({ name: 'a.mp4', size: 10, type: 'video/mp4' }), null);
    assert.equal(videoFileProblem({ name: 'a.mkv', size: 10, type: '' }), null);
    assert.match(
      videoFileProblem({ name: 'notes.pdf', size: 10, type: 'application/pdf' }) ?? '',
      /not look like a video/,
    );
    assert.match(videoFileProblem({ name: 'a.mp4', size: 0, type: 'video/mp4' }) ?? '', /empty/);
    assert.match(
      videoFileProblem({ name: 'a.mp4', size: 600 * 1024 * 1024, type: 'video/mp4' }) ?? '',
      /limit is 500 MB/,
    );
  });
});
