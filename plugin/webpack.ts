/** The mugraph plugin for webpack, from `mugraph/webpack`; webpack.config.js: `plugins: [mugraph()]`. */
import { forRequire } from './commonjs.js';
import { unplugin } from './index.js';

const mugraph = unplugin.webpack;
export default mugraph;
/** What `require('mugraph/webpack')` returns (commonjs.ts). */
const required = forRequire(mugraph);
export { required as 'module.exports' };
