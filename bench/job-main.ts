/**
 * Child-process entry of the bench: `node --import tsx bench/job-main.ts <spec.json> <result.json>`.
 * Each run gets a fresh process so that its peak RSS and model load are its own.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { runJob, type JobResult, type JobSpec } from './job.ts';

const [specPath, resultPath] = process.argv.slice(2);
if (!specPath || !resultPath) {
  process.stderr.write('usage: job-main.ts <spec.json> <result.json>\n');
  process.exit(2);
}
const spec = JSON.parse(await readFile(specPath, 'utf8')) as JobSpec;
// The parent stops a run with SIGTERM (and Ctrl-C reaches the whole process group): cancel the
// pipeline so that its ffmpeg children are killed and its partial outputs removed.
const controller = new AbortController();
const cancel = (): void => controller.abort();
process.on('SIGTERM', cancel);
process.on('SIGINT', cancel);
let result: JobResult;
try {
  result = await runJob(spec, controller.signal);
} catch (err) {
  result = { status: 'failed', error: err instanceof Error ? err.message : String(err) };
}
if (controller.signal.aborted) process.exit(130); // an inference may still run on a native thread
await writeFile(resultPath, JSON.stringify(result));
process.exitCode = result.status === 'ok' ? 0 : 1;
