/** The mugraph plugin for vite, from `mugraph/vite`; vite.config.ts: `plugins: [mugraph()]`. */
import { unplugin } from './index.js';

export default unplugin.vite;
