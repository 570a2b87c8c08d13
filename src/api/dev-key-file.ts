import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The first-run development key, kept in plain text in the data dir so that the web UI opened on
 * the same machine can use it without copying it from the terminal. Keys are otherwise stored
 * only hashed; this one file (mode 0600, readable only by the service's user) is the exception,
 * and it is served only to loopback clients (see routes/web-routes.ts). Delete the file to stop
 * that; disabling the key makes it useless.
 */
export function devKeyPath(dataDir: string): string {
  return join(dataDir, 'dev-key');
}

export async function writeDevKeyFile(dataDir: string, key: string): Promise<void> {
  await writeFile(devKeyPath(dataDir), `${key}\n`, { mode: 0o600 });
}

export async function readDevKeyFile(path: string): Promise<string | undefined> {
  try {
    const key = (await readFile(path, 'utf8')).trim();
    return key || undefined;
  } catch {
    return undefined;
  }
}
