// @ts-check
/**
 * The playground's mugraph plugin options, in one place for everything that must compute
 * the same lock keys and read the same lock (playground/mugraph.lock):
 *   - vite.config.ts, the page's build;
 *   - the demo (playground/demo/), which builds the same tensor modules for Node;
 *   - `npm run playground:warm`: `mugraph warm --config playground/mugraph.config.js`.
 * Plain JavaScript because the CLI imports it with Node, which does not load TypeScript.
 */
import { fileURLToPath } from 'node:url';

/** @type {import('../src/build/options.js').MugraphOptions} */
export default {
  // The playground's folder (Vite's root), whatever the working directory: the lock is <root>/mugraph.lock.
  root: fileURLToPath(new URL('.', import.meta.url)),
  // `x.tensor.ts?dsl` imports the module as written, for the page's reference (src/benchmarks.ts).
  exclude: [/node_modules/, /\?dsl$/],
  // Generated modules carry `ugraph` and `compiled`: the page and the demo show what the build chose.
  artifacts: true,
};
