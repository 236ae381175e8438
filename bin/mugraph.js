#!/usr/bin/env node
// The `mugraph` command: a plain-JS shim that runs the compiled CLI in dist/.
const entry = new URL('../dist/cli/main.js', import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(entry.pathname)) {
    console.error('mugraph: dist/ is missing; run `npm run build` first');
    process.exit(2);
  }
  throw error;
}
// Exit explicitly: the WebGPU (Dawn) instance may keep the event loop alive.
process.exit(await cli.runCli(process.argv));
