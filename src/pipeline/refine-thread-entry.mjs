// Plain-JS entry of the refiner's worker thread: installs tsx's loader, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./refine-thread-worker.ts');
