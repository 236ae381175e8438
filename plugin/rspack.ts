/** The mugraph plugin for rspack, from `mugraph/rspack`; rspack.config.js: `plugins: [mugraph()]`. */
import { forRequire } from './commonjs.js';
import { unplugin } from './index.js';

const mugraph = unplugin.rspack;
export default mugraph;
/** What `require('mugraph/rspack')` returns (commonjs.ts). */
const required = forRequire(mugraph);
export { required as 'module.exports' };
