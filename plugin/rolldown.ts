/** The mugraph plugin for rolldown, from `mugraph/rolldown`; rolldown.config.js: `plugins: [mugraph()]`. */
import { forRequire } from './commonjs.js';
import { unplugin } from './index.js';

const mugraph = unplugin.rolldown;
export default mugraph;
/** What `require('mugraph/rolldown')` returns (commonjs.ts). */
const required = forRequire(mugraph);
export { required as 'module.exports' };
