/** The mugraph plugin for vite, from `mugraph/vite`; vite.config.ts: `plugins: [mugraph()]`. */
import { forRequire } from './commonjs.js';
import { unplugin } from './index.js';

const mugraph = unplugin.vite;
export default mugraph;
/** What `require('mugraph/vite')` returns (commonjs.ts). */
const required = forRequire(mugraph);
export { required as 'module.exports' };
