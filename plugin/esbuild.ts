/** The mugraph plugin for esbuild, from `mugraph/esbuild`; `esbuild.build({ plugins: [mugraph()] })`. */
import { forRequire } from './commonjs.js';
import { unplugin } from './index.js';

const mugraph = unplugin.esbuild;
export default mugraph;
/** What `require('mugraph/esbuild')` returns (commonjs.ts). */
const required = forRequire(mugraph);
export { required as 'module.exports' };
