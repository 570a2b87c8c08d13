import { useCallback, useEffect, useState } from 'preact/hooks';
import type { AlphacutClient } from '../../src/sdk/alphacut-client.ts';
import type { Credits } from '../../src/sdk/api-types.ts';
import { clientFor, fetchDevKey, storedKey, storeKey } from './api-key.ts';
import { describeError, type ShownError } from './error-text.ts';
import { JobPage } from './jobs/job-page.tsx';
import { JobsPage } from './jobs/jobs-page.tsx';
import { KeyForm } from './key-form.tsx';
import { NewJobPage } from './new-job/new-job-page.tsx';

type Route = { page: 'new' } | { page: 'jobs' } | { page: 'job'; id: string };

/** Hash routes, so the server needs no fallback route and every view has a link. */
function routeOf(hash: string): Route {
  const m = /^#\/jobs\/([\w-]+)$/.exec(hash);
  if (m?.[1]) return { page: 'job', id: m[1] };
  if (hash === '#/jobs') return { page: 'jobs' };
  return { page: 'new' };
}

type Auth =
  | { state: 'checking' }
  | { state: 'needs-key'; error: ShownError | null }
  | { state: 'ready'; client: AlphacutClient; credits: Credits; source: 'dev' | 'pasted' };

export function App() {
  const [route, setRoute] = useState<Route>(() => routeOf(location.hash));
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });

  useEffect(() => {
    const on = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  /** A key is accepted once GET /v1/credits answers with it. */
  const tryKey = useCallback(async (key: string, source: 'dev' | 'pasted'): Promise<boolean> => {
    const client = clientFor(key);
    try {
      const credits = await client.credits();
      storeKey(key);
      setAuth({ state: 'ready', client, credits, source });
      return true;
    } catch (err) {
      setAuth({ state: 'needs-key', error: source === 'pasted' ? describeError(err) : null });
      return false;
    }
  }, []);

  useEffect(() => {
    void (async () => {
      const saved = storedKey();
      if (saved && (await tryKey(saved, 'pasted'))) return;
      const dev = await fetchDevKey();
      if (dev && (await tryKey(dev, 'dev'))) return;
      setAuth({ state: 'needs-key', error: null });
    })();
  }, [tryKey]);

  const refreshCredits = useCallback(() => {
    if (auth.state !== 'ready') return;
    auth.client.credits().then(
      (credits) => setAuth((a) => (a.state === 'ready' ? { ...a, credits } : a)),
      () => undefined,
    );
  }, [auth]);

  const signOut = () => {
    storeKey(null);
    setAuth({ state: 'needs-key', error: null });
  };

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          alphacut
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.page === 'new' ? 'page' : undefined}>
            New job
          </a>
          <a href="#/jobs" aria-current={route.page !== 'new' ? 'page' : undefined}>
            Jobs &amp; usage
          </a>
          <a href="/docs">API docs</a>
        </nav>
        {auth.state === 'ready' && (
          <div class="account">
            <span aria-live="polite">
              {auth.credits.unlimited ? 'Unlimited credits' : `${auth.credits.remaining_credits} credits`}
            </span>
            {auth.source === 'dev' && <span class="muted"> · development key</span>}
            <button type="button" class="link" onClick={signOut}>
              Change key
            </button>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {auth.state === 'checking' && <p role="status">Connecting…</p>}
        {auth.state === 'needs-key' && <KeyForm error={auth.error} onKey={(k) => void tryKey(k, 'pasted')} />}
        {auth.state === 'ready' && route.page === 'new' && (
          <NewJobPage client={auth.client} onCredits={refreshCredits} />
        )}
        {auth.state === 'ready' && route.page === 'jobs' && <JobsPage client={auth.client} />}
        {auth.state === 'ready' && route.page === 'job' && <JobPage client={auth.client} jobId={route.id} />}
      </main>
    </>
  );
}
