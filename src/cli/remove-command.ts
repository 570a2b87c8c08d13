import { resolve } from 'node:path';
import { AlphacutError, isAlphacutError } from '../core/errors.ts';
import { isTierName, tierNames } from '../models/tiers.ts';
import { buildRemoveSpec } from './remove-spec.ts';
import { removeBackground } from '../pipeline/remove-background.ts';
import { resolveDataDir } from '../app/paths.ts';
import { exitCodeFor, exitCodes } from './exit-codes.ts';
import { createProgressDisplay } from './progress-display.ts';

export interface RemoveCommandOptions {
  output: string;
  model?: string;
  spec?: string;
  format?: string;
  background?: string;
  maskOut?: string;
  dataDir?: string;
  audio: boolean;
  quiet?: boolean;
}

/**
 * `alphacut remove`: one video in, one output of any format of the API (transparent WebM by
 * default); `--spec` takes the same JSON body as `POST /v1/jobs`. Ctrl-C aborts the pipeline (children
 * killed, partial files removed) and exits 130; a second Ctrl-C exits at once.
 */
export async function removeCommand(input: string | undefined, opts: RemoveCommandOptions): Promise<number> {
  if (opts.model !== undefined && !isTierName(opts.model)) {
    process.stderr.write(
      `error [invalid_request]: unknown model "${opts.model}"; choose one of ${tierNames.join(', ')}\n`,
    );
    return exitCodes.usage;
  }
  if (opts.maskOut && resolve(opts.maskOut) === resolve(opts.output)) {
    process.stderr.write('error [invalid_request]: --mask-out must name a different file than -o\n');
    return exitCodes.usage;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(exitCodes.canceled);
    process.stderr.write('\ncanceling...\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let job: Awaited<ReturnType<typeof buildRemoveSpec>>;
  try {
    job = await buildRemoveSpec(opts, input);
  } catch (err) {
    const e = isAlphacutError(err) ? err : new AlphacutError('invalid_request', String(err));
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    return exitCodeFor(e.code);
  }
  const display = createProgressDisplay();
  const log = opts.quiet ? () => {} : (m: string) => process.stderr.write(`${m}\n`);
  try {
    const result = await removeBackground(
      {
        input: job.input,
        output: resolve(opts.output),
        ...(opts.maskOut ? { maskOutput: resolve(opts.maskOut) } : {}),
        tier: job.spec.model,
        dataDir: resolveDataDir(opts.dataDir),
        spec: job.spec,
      },
      { signal: controller.signal, log, progress: opts.quiet ? () => {} : display.update },
    );
    display.stop();
    const secs = result.timings.totalMs / 1000;
    log(
      `wrote ${opts.output}: ${result.framesOut} frames in ${secs.toFixed(1)} s (${(result.framesOut / secs).toFixed(2)} fps), ` +
        `model ${result.modelId} at ${result.modelInput.width}x${result.modelInput.height}, ${result.keyFrames} key frames`,
    );
    return exitCodes.ok;
  } catch (err) {
    display.stop();
    const e = isAlphacutError(err)
      ? err
      : new AlphacutError('internal_error', err instanceof Error ? err.message : String(err));
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    return exitCodeFor(e.code);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
