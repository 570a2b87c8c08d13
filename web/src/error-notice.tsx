import type { ShownError } from './error-text.ts';

/** An API error in plain words with its code; role=alert so screen readers announce it at once. */
export function ErrorNotice({ error, onDismiss }: { error: ShownError | null; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <p>
        <strong>{error.title}</strong> <code>({error.code})</code>
      </p>
      {error.message && <p>{error.message}</p>}
      {error.requestId && <p class="muted">Request id: {error.requestId}</p>}
      {onDismiss && (
        <button type="button" class="link" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
