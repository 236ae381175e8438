/** The mugraph plugin for rolldown, from `mugraph/rolldown`; rolldown.config.js: `plugins: [mugraph()]`. */
import { unplugin } from './index.js';

export default unplugin.rolldown;
