/**
 * The mugraph bundler plugin: one unplugin factory for Vite, Rollup, Rolldown, webpack,
 * Rspack and esbuild. Integration only: each `*.tensor.ts` the filter matches is built by
 * the core (`buildTensorModule`: evaluate, look up or fill the kernel lock, regenerate
 * WGSL, emit an ES module), its dependencies are watched, errors go through the bundler's
 * error API at the user's file:line with a code frame, and Vite's dev server hot-updates
 * the importers when a tensor module or anything it imports changes.
 */
import { createUnplugin, type UnpluginBuildContext, type UnpluginContext } from 'unplugin';
import { createFilter } from 'unplugin-utils';
import {
  type BuildContext, buildTensorModule, createBuildContext, jsLiteral, locateError, type MugraphOptions, resolveOptions,
  RUNTIME_ENTRY,
} from '#mugraph/core';

export type { MugraphOptions } from '#mugraph/core';

const PLUGIN_NAME = 'mugraph';

export const unplugin = createUnplugin<MugraphOptions | undefined>((userOptions = {}, meta) => {
  let context: BuildContext = createBuildContext(resolveOptions(userOptions));
  let isTensorModule = filterFor(context);
  /** Tensor module file -> the files it imports (itself included), for hot updates. */
  const dependencies = new Map<string, readonly string[]>();

  async function load(this: UnpluginBuildContext & UnpluginContext, id: string) {
    const file = id.replace(/[?#].*$/, '');
    this.addWatchFile(file);
    try {
      const built = await buildTensorModule(file, context);
      dependencies.set(file, built.dependencies);
      for (const dependency of built.dependencies) if (dependency !== file) this.addWatchFile(dependency);
      return { code: built.code, map: { version: 3, mappings: '', sources: [], names: [] } };
    } catch (error) {
      const { message, location, frame } = locateError(error);
      this.error({
        plugin: PLUGIN_NAME,
        id: location?.file ?? file,
        message: frame ? `${message}\n\n${frame}` : message,
        ...(location ? { loc: { file: location.file, line: location.line, column: location.column - 1 } } : {}),
      });
      // Hosts whose error() records instead of throwing (esbuild, webpack): the build has failed; emit a module that says so.
      return { code: `throw new Error(${jsLiteral(message)});\n` };
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
    vite: {
      configResolved(config) {
        if (userOptions.root === undefined) {
          context = createBuildContext(resolveOptions({ ...userOptions, root: config.root }));
          isTensorModule = filterFor(context);
        }
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

function filterFor(context: BuildContext): (id: string) => boolean {
  const filter = createFilter(context.options.include, context.options.exclude);
  return (id) => filter(id.replace(/[?#].*$/, ''));
}

export default unplugin;
