import { createKey } from '../api/routes/admin-routes.ts';
import { loadConfig } from '../app/config.ts';
import { openStore } from '../app/open-adapters.ts';
import type { JobStore } from '../core/ports/job-store.ts';
import { exitCodes } from './exit-codes.ts';

/**
 * `alphacut keys …` and `alphacut credits …`: directly on the data dir's database, or through a
 * running server's admin API with `--url` (X-Admin-Token from --admin-token or ALPHACUT_ADMIN_TOKEN).
 */
export interface AdminTarget {
  dataDir?: string;
  url?: string;
  adminToken?: string;
  json?: boolean;
}

type Out = Record<string, unknown>;

async function viaHttp(t: AdminTarget, method: string, path: string, body?: object): Promise<Out> {
  const token = t.adminToken ?? process.env.ALPHACUT_ADMIN_TOKEN;
  if (!token) throw new Error('--url needs --admin-token or ALPHACUT_ADMIN_TOKEN');
  const res = await fetch(`${t.url?.replace(/\/+$/, '')}${path}`, {
    method,
    headers: { 'x-admin-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as Out & { error?: { message?: string } };
  if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
  return json;
}

async function withStore<T>(t: AdminTarget, fn: (store: JobStore) => Promise<T>): Promise<T> {
  const config = loadConfig({ ...(t.dataDir ? { dataDir: t.dataDir } : {}) });
  // The same store a server with this config uses (PostgreSQL when DATABASE_URL is set).
  const { store } = await openStore(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function print(t: AdminTarget, value: Out, text: string): void {
  process.stdout.write(t.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

async function run(fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return exitCodes.ok;
  } catch (err) {
    process.stderr.write(`alphacut: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodes.badInput;
  }
}

export function keysCreateCommand(
  t: AdminTarget,
  opts: { clientId?: string; credits?: string },
): Promise<number> {
  return run(async () => {
    const credits = opts.credits === undefined ? undefined : Number(opts.credits);
    if (credits !== undefined && (!Number.isInteger(credits) || credits < 0))
      throw new Error('--credits must be a whole number ≥ 0');
    const out: Out = t.url
      ? await viaHttp(t, 'POST', '/v1/admin/keys', {
          ...(opts.clientId ? { client_id: opts.clientId } : {}),
          ...(credits !== undefined ? { credits } : {}),
        })
      : await withStore(t, async (store) => {
          const config = loadConfig({ ...(t.dataDir ? { dataDir: t.dataDir } : {}) });
          const c = await createKey(store, {
            clientId: opts.clientId ?? null,
            credits: credits ?? config.defaultKeyCredits,
            ...(config.keyPepper ? { pepper: config.keyPepper } : {}),
          });
          return {
            id: c.record.id,
            key: c.key,
            key_fingerprint: c.record.fingerprint,
            webhook_secret: c.webhookSecret,
          };
        });
    print(
      t,
      out,
      `id:             ${String(out.id)}\nkey:            ${String(out.key)}   (shown once)\nwebhook secret: ${String(out.webhook_secret)}`,
    );
  });
}

export function keysListCommand(t: AdminTarget): Promise<number> {
  return run(async () => {
    const keys = t.url
      ? ((await viaHttp(t, 'GET', '/v1/admin/keys')).keys as Out[])
      : await withStore(t, async (store) =>
          Promise.all(
            (await store.listApiKeys()).map(async (k) => ({
              id: k.id,
              client_id: k.name,
              key_fingerprint: k.fingerprint,
              disabled: k.disabled,
              created_at: k.createdAt,
              credits: { remaining_credits: (await store.getBalance(k.id)).remaining },
            })),
          ),
        );
    print(
      t,
      { keys },
      keys
        .map(
          (k) =>
            `${String(k.id)}  ${String(k.key_fingerprint)}  ${k.disabled ? 'disabled' : 'enabled '}  ${String(k.client_id ?? '-')}  credits ${String((k.credits as Out | undefined)?.remaining_credits ?? '?')}`,
        )
        .join('\n') || '(no keys)',
    );
  });
}

export function keysSetDisabledCommand(t: AdminTarget, id: string, disabled: boolean): Promise<number> {
  return run(async () => {
    if (t.url)
      await viaHttp(t, 'POST', `/v1/admin/keys/${encodeURIComponent(id)}/${disabled ? 'disable' : 'enable'}`);
    else if (!(await withStore(t, (store) => store.setApiKeyDisabled(id, disabled))))
      throw new Error(`API key ${id} not found`);
    print(t, { id, disabled }, `${id} ${disabled ? 'disabled' : 'enabled'}`);
  });
}

export function creditsGrantCommand(
  t: AdminTarget,
  id: string,
  amount: string,
  note?: string,
): Promise<number> {
  return run(async () => {
    const n = Number(amount);
    if (!Number.isInteger(n) || n <= 0) throw new Error('amount must be a whole number > 0');
    const out: Out = t.url
      ? await viaHttp(t, 'POST', `/v1/admin/keys/${encodeURIComponent(id)}/credits`, {
          amount: n,
          ...(note ? { note } : {}),
        })
      : await withStore(t, async (store) => {
          if (!(await store.getApiKey(id))) throw new Error(`API key ${id} not found`);
          const b = await store.grantCredits(id, n, note);
          return { id, total_credits: b.total, remaining_credits: b.remaining };
        });
    print(t, out, `${id}: granted ${n}; remaining ${String(out.remaining_credits)}`);
  });
}

export function creditsShowCommand(t: AdminTarget, id: string): Promise<number> {
  return run(async () => {
    const out: Out = t.url
      ? ((((await viaHttp(t, 'GET', '/v1/admin/keys')).keys as Out[]).find((k) => k.id === id)
          ?.credits as Out) ??
        (() => {
          throw new Error(`API key ${id} not found`);
        })())
      : await withStore(t, async (store) => {
          if (!(await store.getApiKey(id))) throw new Error(`API key ${id} not found`);
          const b = await store.getBalance(id);
          return {
            total_credits: b.total,
            used_credits: b.used,
            reserved_credits: b.reserved,
            remaining_credits: b.remaining,
            unlimited: b.unlimited,
          };
        });
    print(
      t,
      out,
      `${id}: total ${String(out.total_credits)}, used ${String(out.used_credits)}, reserved ${String(out.reserved_credits)}, remaining ${String(out.remaining_credits)}${out.unlimited ? ' (unlimited deployment)' : ''}`,
    );
  });
}
