// Plain-JS entry of the inference thread: installs tsx's loader in this thread (hooks registered
// in the main thread do not reach workers on Node 20), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./segmenter-worker.ts');
