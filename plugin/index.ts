/**
 * The mugraph bundler plugin: one unplugin factory for Vite, Rollup, Rolldown, webpack,
 * Rspack and esbuild. Integration only: each `*.tensor.ts` the filter matches is built by
 * the core (`buildTensorModule`: evaluate, look up or fill the kernel lock, regenerate
 * WGSL, emit an ES module), its dependencies are watched, program events and errors go
 * through the bundler's logger and error API (report.ts), and Vite's dev server hot-updates
 * the importers when a tensor module or anything it imports changes.
 *
 * Under a dev server (`vite serve`; `webpack serve` and `rspack serve`, which set
 * WEBPACK_SERVE) newly compiled entries go to the scratch cache only (`writeLock: false`)
 * unless the options say otherwise: editing a model must not rewrite the committed lock.
 */
import { createUnplugin, type UnpluginBuildContext, type UnpluginContext, type UnpluginInstance } from 'unplugin';
import { createFilter } from 'unplugin-utils';
import {
  type BuildContext, buildTensorModule, createBuildContext, jsLiteral, locateError, type MugraphOptions, type ProgramEvent, resolveOptions,
  RUNTIME_ENTRY,
} from '#mugraph/core';
import { withSourceLines } from './esbuild-lines.js';
import { bundlerLog, errorFor, type ErrorStyle, PLUGIN_NAME, reportProgram } from './report.js';

export type { MugraphOptions } from '#mugraph/core';

type Options = MugraphOptions | undefined;

const instance = createUnplugin<Options>((userOptions = {}, meta) => {
  let context: BuildContext = createBuildContext(resolveOptions(userOptions));
  let isTensorModule = filterFor(context);
  let devServer = false;
  /** Rebuilds the context with `defaults` for the options the user left unset (root from Vite, writeLock under a dev server). */
  const reconfigure = (defaults: MugraphOptions) => {
    context = createBuildContext(resolveOptions(withDefaults(userOptions, defaults)));
    isTensorModule = filterFor(context);
  };
  /** webpack and Rspack: their `serve` commands set WEBPACK_SERVE before the config (and so this plugin) is loaded. */
  const detectWebpackServe = () => {
    devServer = process.env.WEBPACK_SERVE === 'true';
    if (devServer) reconfigure({ writeLock: false });
  };
  /** Tensor module file -> the files it imports (itself included), for hot updates. */
  const dependencies = new Map<string, readonly string[]>();

  const errorStyle = (): ErrorStyle => {
    if (meta.framework === 'esbuild' || (meta.framework === 'vite' && devServer)) return 'draws-frame';
    return meta.framework === 'vite' || meta.framework === 'rollup' || meta.framework === 'rolldown' ? 'prints-frame' : 'message-only';
  };

  async function load(this: UnpluginBuildContext & UnpluginContext, id: string) {
    const file = id.replace(/[?#].*$/, '');
    this.addWatchFile(file);
    const log = bundlerLog(this);
    const { root } = context.options;
    const onProgram = userOptions.onProgram ?? ((event: ProgramEvent) => reportProgram(log, event, root));
    try {
      const built = await buildTensorModule(file, { ...context, options: { ...context.options, onProgram } });
      dependencies.set(file, built.dependencies);
      for (const dependency of built.dependencies) if (dependency !== file) this.addWatchFile(dependency);
      return { code: built.code, map: { version: 3, mappings: '', sources: [], names: [] } };
    } catch (error) {
      const located = locateError(error);
      this.error(errorFor(located, file, errorStyle()));
      // Hosts whose error() records instead of throwing (esbuild, webpack): the build has failed; emit a module that says so.
      return { code: `throw new Error(${jsLiteral(located.message)});\n` };
    }
  }

  /** Generated modules load this package's own runtime, whatever the host resolves `mugraph` to. */
  const runtimeFor = (importer: string | undefined) => (importer !== undefined && isTensorModule(importer) ? RUNTIME_ENTRY : undefined);
  const RUNTIME_ID = /^mugraph\/runtime$/;

  return {
    name: PLUGIN_NAME,
    enforce: 'pre',
    // esbuild: unplugin would put a resolved id in the plugin's namespace, so resolve natively there.
    ...(meta.framework === 'esbuild' ? {} : {
      resolveId: { filter: { id: RUNTIME_ID }, handler: (id: string, importer: string | undefined) => runtimeFor(importer) ?? null },
    }),
    esbuild: {
      setup(build) {
        build.onResolve({ filter: RUNTIME_ID }, (args) => {
          const path = runtimeFor(args.importer);
          return path === undefined ? undefined : { path };
        });
      },
    },
    load: { filter: { id: { include: context.options.include, exclude: context.options.exclude } }, handler: load },
    buildEnd: () => context.release(),
    webpack: detectWebpackServe,
    rspack: detectWebpackServe,
    vite: {
      configResolved(config) {
        devServer = config.command === 'serve';
        reconfigure({ root: config.root, ...(devServer ? { writeLock: false } : {}) });
      },
      handleHotUpdate({ file, server, modules }) {
        const affected = [...dependencies].filter(([, files]) => files.includes(file)).map(([tensorFile]) => tensorFile);
        if (affected.length === 0) return undefined;
        const tensorModules = affected.flatMap((f) => [...(server.moduleGraph.getModulesByFile(f) ?? [])]);
        for (const module of tensorModules) server.moduleGraph.invalidateModule(module);
        return [...new Set([...modules, ...tensorModules])];
      },
    },
  };
});

/** The plugin for every bundler; esbuild's messages also carry their source line (esbuild-lines.ts). */
export const unplugin: UnpluginInstance<Options> = {
  ...instance,
  esbuild: (options?: Options) => withSourceLines(instance.esbuild(options)),
};

/** `options` with `defaults` for the keys it leaves undefined. */
function withDefaults(options: MugraphOptions, defaults: MugraphOptions): MugraphOptions {
  const merged: Record<string, unknown> = { ...options };
  for (const [key, value] of Object.entries(defaults)) merged[key] ??= value;
  return merged as MugraphOptions;
}

function filterFor(context: BuildContext): (id: string) => boolean {
  const filter = createFilter(context.options.include, context.options.exclude);
  return (id) => filter(id.replace(/[?#].*$/, ''));
}

export default unplugin;
