import { useState } from 'preact/hooks';
import { formatBytes } from '../format.ts';

export type UploadState =
  | { phase: 'idle' }
  | { phase: 'uploading'; name: string; sent: number; total: number }
  | { phase: 'done'; name: string; size: number }
  | { phase: 'failed'; name: string };

interface Props {
  upload: UploadState;
  onFile: (file: File) => void;
  onUrl: (url: string) => void;
  onCancelUpload: () => void;
}

/** Step 1: a video file (drop or pick) or a URL the server fetches itself. */
export function SourcePicker({ upload, onFile, onUrl, onCancelUpload }: Props) {
  const [dragging, setDragging] = useState(false);
  const [url, setUrl] = useState('');
  const busy = upload.phase === 'uploading';

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer?.files[0];
    if (file && !busy) onFile(file);
  };

  return (
    <fieldset class="step">
      <legend>1. Video</legend>
      <label
        class={`dropzone${dragging ? ' dragging' : ''}${busy ? ' busy' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <input
          type="file"
          class="visually-hidden"
          accept="video/*,.mkv,.mov,.m4v,.gif"
          disabled={busy}
          onChange={(e) => {
            const input = e.currentTarget;
            const file = input.files?.[0];
            if (file) onFile(file);
            // Picking the same file again after an error must fire change again.
            input.value = '';
          }}
        />
        <span class="dropzone-title">Drop a video here or choose a file</span>
        <span class="muted">MP4, MOV, WebM, MKV, AVI or GIF · up to 500 MB</span>
      </label>

      {upload.phase === 'uploading' && (
        <div class="upload-progress">
          <label>
            Uploading {upload.name}: {formatBytes(upload.sent)} of {formatBytes(upload.total)}
            <progress max={upload.total || 1} value={upload.sent} />
          </label>
          <button type="button" onClick={onCancelUpload}>
            Cancel upload
          </button>
        </div>
      )}
      {upload.phase === 'done' && (
        <p class="ok" role="status">
          Uploaded {upload.name} ({formatBytes(upload.size)}).
        </p>
      )}

      <form
        class="url-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (url.trim()) onUrl(url.trim());
        }}
      >
        <label for="source-url">…or paste a video URL (the server downloads it)</label>
        <div class="row">
          <input
            id="source-url"
            type="url"
            placeholder="https://example.com/clip.mp4"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
          <button type="submit" disabled={busy || !url.trim()}>
            Use URL
          </button>
        </div>
      </form>
    </fieldset>
  );
}
