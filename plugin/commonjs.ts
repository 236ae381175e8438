/**
 * What `require('mugraph/<bundler>')` returns in a CommonJS config (webpack.config.js,
 * rollup.config.cjs, ...). Node 20.19+ and 22.12+ load ES modules with require() and give
 * back a module's `'module.exports'` export, when it has one, instead of its namespace
 * object. Each entry exports this as `'module.exports'`: the plugin itself, so that
 * `require('mugraph/webpack')(options)` works, and the plugin again as `.default`, for
 * configs written `require('mugraph/webpack').default(options)`, as unplugin's docs show.
 * A wrapper, not the plugin with a property added: the ES module default stays as it is.
 */
export function forRequire<P extends (...args: never[]) => unknown>(plugin: P): P & { readonly default: P } {
  const required = (...args: Parameters<P>) => plugin(...args);
  return Object.assign(required as P, { default: plugin });
}
