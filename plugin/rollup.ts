/** The mugraph plugin for rollup, from `mugraph/rollup`; rollup.config.js: `plugins: [mugraph()]`. */
import { unplugin } from './index.js';

export default unplugin.rollup;
