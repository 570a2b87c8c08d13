import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlphacutClient } from '../../../src/sdk/alphacut-client.ts';
import type { ModelInfo } from '../../../src/sdk/api-types.ts';
import { ErrorNotice } from '../error-notice.tsx';
import { describeError, describeJobFailure, type ShownError } from '../error-text.ts';
import { useJob } from '../use-job.ts';
import { BackgroundFields } from './background-fields.tsx';
import { CompositionFields } from './composition-fields.tsx';
import { JobProgress } from './job-progress.tsx';
import { JobResult } from './job-result.tsx';
import { defaultSettings, jobRequestOf, settingsProblems, videoFileProblem } from './job-settings.ts';
import { ModelFields } from './model-fields.tsx';
import { PlacementPreview } from './placement-preview.tsx';
import { SourcePicker, type UploadState } from './source-picker.tsx';

interface Source {
  /** What the job's `video_url` will be: the upload's URL or the pasted one. */
  videoUrl: string | null;
  /** What the page can play and draw: an object URL of the local file, or the pasted URL. */
  preview: string | null;
}

/** Upload → choose → start → watch → result, all through the public /v1 API. */
export function NewJobPage({ client, onCredits }: { client: AlphacutClient; onCredits: () => void }) {
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [error, setError] = useState<ShownError | null>(null);
  const [source, setSource] = useState<Source>({ videoUrl: null, preview: null });
  const [upload, setUpload] = useState<UploadState>({ phase: 'idle' });
  const [settings, setSettings] = useState(defaultSettings);
  const [bgFile, setBgFile] = useState<{ name: string; preview: string; isVideo: boolean } | null>(null);
  const [bgBusy, setBgBusy] = useState(false);
  const [jobId, setJobId] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const uploadAbort = useRef<AbortController | null>(null);
  const { job, error: pollError } = useJob(client, jobId);

  useEffect(() => {
    client.models().then(
      (m) => {
        setModels(m);
        // Keep the default (light) when it exists; otherwise take the server's default.
        if (!m.some((x) => x.id === 'light')) {
          const d = m.find((x) => x.default) ?? m[0];
          if (d) setSettings((s) => ({ ...s, model: d.id }));
        }
      },
      (err: unknown) => setError(describeError(err)),
    );
  }, [client]);

  // Object URLs pin the file in memory until revoked.
  useEffect(() => {
    const url = source.preview;
    return () => {
      if (url?.startsWith('blob:')) URL.revokeObjectURL(url);
    };
  }, [source.preview]);

  useEffect(() => {
    if (job?.status === 'completed' || job?.status === 'failed' || job?.status === 'canceled') onCredits();
  }, [job?.status]);

  const problems = useMemo(() => settingsProblems(settings), [settings]);

  const onFile = async (file: File): Promise<void> => {
    setError(null);
    const problem = videoFileProblem(file);
    if (problem) {
      setError({ title: 'This file cannot be uploaded', code: 'client_check', message: problem });
      return;
    }
    const preview = URL.createObjectURL(file);
    setSource({ videoUrl: null, preview });
    setJobId(null);
    setUpload({ phase: 'uploading', name: file.name, sent: 0, total: file.size });
    const abort = new AbortController();
    uploadAbort.current = abort;
    try {
      const up = await client.upload(file, file.name, {
        signal: abort.signal,
        onProgress: (sent, total) => setUpload({ phase: 'uploading', name: file.name, sent, total }),
      });
      setSource({ videoUrl: up.video_url, preview });
      setUpload({ phase: 'done', name: up.filename, size: up.size });
    } catch (err) {
      setUpload({ phase: 'failed', name: file.name });
      setError(describeError(err));
    } finally {
      uploadAbort.current = null;
    }
  };

  const onUrl = (url: string): void => {
    setError(null);
    setJobId(null);
    setUpload({ phase: 'idle' });
    setSource({ videoUrl: url, preview: url });
  };

  const replaceBackground = (next: { name: string; preview: string; isVideo: boolean } | null): void => {
    if (bgFile?.preview.startsWith('blob:')) URL.revokeObjectURL(bgFile.preview);
    setBgFile(next);
  };

  const onBackgroundFile = async (file: File): Promise<void> => {
    setError(null);
    const problem = videoFileProblem(file);
    if (problem) {
      setError({ title: 'This background cannot be uploaded', code: 'client_check', message: problem });
      return;
    }
    setBgBusy(true);
    replaceBackground({ name: file.name, preview: URL.createObjectURL(file), isVideo: true });
    try {
      const up = await client.upload(file, file.name);
      setSettings((s) => ({
        ...s,
        background: { ...s.background, source: { url: up.video_url, isVideo: true } },
      }));
    } catch (err) {
      setSettings((s) => ({ ...s, background: { ...s.background, source: undefined } }));
      setError(describeError(err));
    } finally {
      setBgBusy(false);
    }
  };

  const onBackgroundImageUrl = (url: string): void => {
    setError(null);
    replaceBackground({ name: url, preview: url, isVideo: false });
    setSettings((s) => ({ ...s, background: { ...s.background, source: { url, isVideo: false } } }));
  };

  const start = async (): Promise<void> => {
    if (!source.videoUrl) return;
    setError(null);
    setStarting(true);
    try {
      const created = await client.createJob(jobRequestOf(source.videoUrl, settings), {
        // A retry after a lost answer must not create (and charge) a second job.
        idempotencyKey: crypto.randomUUID(),
      });
      setJobId(created.id);
      onCredits();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setStarting(false);
    }
  };

  const cancel = async (): Promise<void> => {
    if (!jobId) return;
    try {
      await client.cancelJob(jobId);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const running = job?.status === 'pending' || job?.status === 'processing';
  const canStart = !!source.videoUrl && problems.length === 0 && !starting && !running && !bgBusy;
  const failure = job?.status === 'failed' ? describeJobFailure(job.error_code, job.error) : null;

  return (
    <div class="new-job">
      <h1>Remove a video's background</h1>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      <SourcePicker
        upload={upload}
        onFile={(f) => void onFile(f)}
        onUrl={onUrl}
        onCancelUpload={() => uploadAbort.current?.abort()}
      />
      <ModelFields models={models} settings={settings} onChange={setSettings} />
      <BackgroundFields
        settings={settings}
        onChange={setSettings}
        onBackgroundFile={(f) => void onBackgroundFile(f)}
        onBackgroundImageUrl={onBackgroundImageUrl}
        backgroundName={bgFile?.name ?? null}
        backgroundBusy={bgBusy}
      />
      <CompositionFields settings={settings} onChange={setSettings}>
        {(source.preview || settings.composition.enabled) && (
          <PlacementPreview
            source={source.preview}
            settings={settings}
            backgroundSource={bgFile ? { url: bgFile.preview, isVideo: bgFile.isVideo } : null}
          />
        )}
      </CompositionFields>

      <div class="start-row">
        {problems.length > 0 && (
          <ul class="problems" aria-live="polite">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        {!source.videoUrl && <p class="muted">Upload a video or paste a URL to start.</p>}
        <button type="button" class="primary" disabled={!canStart} onClick={() => void start()}>
          {starting ? 'Starting…' : 'Start'}
        </button>
      </div>

      {job && <JobProgress job={job} onCancel={() => void cancel()} />}
      <ErrorNotice error={pollError ?? failure} />
      {job && <JobResult job={job} original={source.preview} />}
    </div>
  );
}
