// Plain-JS entry of the inference process: installs tsx's loader, then loads the TypeScript child.
import { register } from 'tsx/esm/api';

register();
await import('./inference-child.ts');
