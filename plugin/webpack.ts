/** The mugraph plugin for webpack, from `mugraph/webpack`; webpack.config.js: `plugins: [mugraph()]`. */
import { unplugin } from './index.js';

export default unplugin.webpack;
