/** The mugraph plugin for esbuild, from `mugraph/esbuild`; `esbuild.build({ plugins: [mugraph()] })`. */
import { unplugin } from './index.js';

export default unplugin.esbuild;
