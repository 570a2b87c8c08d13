import { AlphacutClient } from '../../src/sdk/alphacut-client.ts';
import { xhrUploader } from './xhr-upload.ts';

/**
 * Where the page gets its API key. sessionStorage only: the key survives a reload but not the
 * tab, and is never written anywhere that outlives the session.
 */
const storageKey = 'alphacut.apiKey';

export function clientFor(apiKey: string): AlphacutClient {
  return new AlphacutClient({ baseUrl: '', apiKey, uploader: xhrUploader });
}

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(storageKey);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(storageKey, key);
    else sessionStorage.removeItem(storageKey);
  } catch {
    // Storage disabled: the key lives in memory for this page only.
  }
}

/** The first-run development key, offered by `alphacut serve` to a browser on the same machine. */
export async function fetchDevKey(): Promise<string | null> {
  try {
    const res = await fetch('/ui/dev-key', { cache: 'no-store' });
    if (!res.ok) return null;
    const body = (await res.json()) as { key?: string };
    return body.key ?? null;
  } catch {
    return null;
  }
}
