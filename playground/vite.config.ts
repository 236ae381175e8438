/**
 * Vite config of the playground (playground/README.md). In the page, `mugraph` resolves to
 * the repo's src/ (as tsconfig's `paths` do), so it shows the compiler as it is in the
 * working tree. The build plugin comes from the built package (`mugraph/vite`, i.e.
 * dist/: run `npm run build` first), as an app would import it; its kernel lock is
 * playground/mugraph.lock. Its options are in mugraph.config.js, shared with the demo and
 * `npm run playground:warm`. To run the page without the plugin (tensor modules then lower
 * per operator at run time), drop `mugraph(...)` from `plugins`. The plugin leaves modules
 * imported with `?dsl` alone: the page evaluates their DSL programs for its reference.
 *
 * Mode `e2e` (the browser test) is frozen: it builds from the committed lock alone, so a
 * lock that lacks an entry the page needs fails the test instead of being filled quietly.
 */
import { fileURLToPath } from 'node:url';
import mugraph from 'mugraph/vite';
import { defineConfig } from 'vite';
import playgroundOptions from './mugraph.config.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const source = (path: string) => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

export default defineConfig(({ mode }) => ({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [mugraph({ ...playgroundOptions, ...(mode === 'e2e' ? { frozen: true } : {}) })],
  resolve: {
    alias: [
      { find: /^mugraph$/, replacement: source('index.ts') },
      { find: /^mugraph\/runtime$/, replacement: source('runtime/index.ts') },
    ],
  },
  server: { host: '127.0.0.1', fs: { allow: [repo] } },
  preview: { host: '127.0.0.1' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
}));

