import { useState } from 'preact/hooks';
import { ErrorNotice } from './error-notice.tsx';
import type { ShownError } from './error-text.ts';

/** Asks for an API key when none was found (remote server, or the dev key was not offered). */
export function KeyForm({ onKey, error }: { onKey: (key: string) => void; error: ShownError | null }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="key-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (key.trim()) onKey(key.trim());
      }}
    >
      <h1>Sign in with an API key</h1>
      <p>
        Paste an alphacut API key (it starts with <code>ak_</code>). It is kept in this tab only (session
        storage) and sent to this server alone.
      </p>
      <ErrorNotice error={error} />
      <label for="api-key">API key</label>
      <input
        id="api-key"
        type="password"
        autoComplete="off"
        spellcheck={false}
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
      />
      <button type="submit" class="primary" disabled={!key.trim()}>
        Use this key
      </button>
      <p class="muted">
        Keys are created with <code>alphacut keys create</code>; the first start of{' '}
        <code>alphacut serve</code> prints a development key.
      </p>
    </form>
  );
}
