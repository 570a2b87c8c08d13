import { mkdir } from 'node:fs/promises';
import { writeDevKeyFile } from '../api/dev-key-file.ts';
import { createKey } from '../api/routes/admin-routes.ts';
import { loadConfig, readState, writeState, type ConfigFlags } from '../app/config.ts';
import { createApp } from '../app/create-app.ts';
import { exitCodes } from './exit-codes.ts';

/**
 * `alphacut serve [--role all|api|worker]` and `alphacut worker`: what runs follows the role, the
 * adapters follow the config (embedded by default, distributed with DATABASE_URL, REDIS_URL,
 * BLOB_URL). On the very first embedded start it creates a development API key and prints it
 * (keys are stored hashed, so this is the only time it can be shown); a shared PostgreSQL store
 * gets its keys from the admin API instead, so that N nodes starting together mint none.
 */
export async function serveCommand(flags: ConfigFlags): Promise<number> {
  const config = loadConfig(flags);
  await mkdir(config.dataDir, { recursive: true });
  const app = await createApp(config);
  const state = await readState(config.dataDir);
  let devKey: string | undefined;
  const mayMintDevKey = app.mode.store === 'sqlite' && config.role !== 'worker';
  if (mayMintDevKey && !state.devKeyId && (await app.store.listApiKeys()).length === 0) {
    const created = await createKey(app.store, {
      clientId: 'development',
      credits: config.devKeyCredits,
      note: 'first-run development key',
      ...(config.keyPepper ? { pepper: config.keyPepper } : {}),
    });
    // Persist before printing: a crash after printing must not mint a second key next start.
    await writeState(config.dataDir, { ...(await readState(config.dataDir)), devKeyId: created.record.id });
    devKey = created.key;
    // For the web UI on localhost (GET /ui/dev-key); see api/dev-key-file.ts for why it is kept.
    await writeDevKeyFile(config.dataDir, devKey);
  }
  const url = await app.listen();
  const out = process.stdout;
  // One write, so whoever reads the first line (scripts, the e2e test) also has the rest.
  const mode = `role ${config.role}: store ${app.mode.store}, queue ${app.mode.queue}, blobs ${app.mode.blobs}`;
  const lines =
    config.role === 'worker'
      ? [`alphacut worker running (${mode})`, `data dir: ${config.dataDir}`]
      : [
          `alphacut listening on ${url}`,
          `API docs: ${url}/docs`,
          `Web UI: ${url}/`,
          ...(config.publicBaseUrl ? [`public URL: ${config.publicBaseUrl}`] : []),
          mode,
          `data dir: ${config.dataDir}`,
        ];
  if (devKey)
    lines.push(
      `Development API key (shown once, stored hashed): ${devKey}`,
      `  try: curl -H "X-Api-Key: ${devKey}" ${url}/v1/credits`,
    );
  if (!config.adminToken && config.role !== 'worker')
    lines.push('Admin API disabled (set ALPHACUT_ADMIN_TOKEN to enable it).');
  out.write(`${lines.join('\n')}\n`);

  // A long-running server must not die of a stray rejection (say, an inference of a job that was
  // canceled a moment ago): every job already settles through its own error path, and a crash
  // would drop every other job in flight until their leases expire. Say it loudly instead.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(
      `alphacut: unhandled rejection (process kept running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`,
    );
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      out.write(`${signal}: shutting down (running jobs finish or are handed back)\n`);
      resolve();
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  await app.close();
  return exitCodes.ok;
}
