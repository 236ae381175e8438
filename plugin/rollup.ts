/** The mugraph plugin for rollup, from `mugraph/rollup`; rollup.config.js: `plugins: [mugraph()]`. */
import { forRequire } from './commonjs.js';
import { unplugin } from './index.js';

const mugraph = unplugin.rollup;
export default mugraph;
/** What `require('mugraph/rollup')` returns (commonjs.ts). */
const required = forRequire(mugraph);
export { required as 'module.exports' };
