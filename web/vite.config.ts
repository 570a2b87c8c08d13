import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// A plain static build served by `alphacut serve` at `/`: everything is bundled (no CDN), and
// JSX is compiled for Preact by Vite's own transformer, so no Babel-based plugin is needed.
export default defineConfig({
  root,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080', '/ui': 'http://127.0.0.1:8080' } },
});
