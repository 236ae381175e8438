/** The mugraph plugin for rspack, from `mugraph/rspack`; rspack.config.js: `plugins: [mugraph()]`. */
import { unplugin } from './index.js';

export default unplugin.rspack;
