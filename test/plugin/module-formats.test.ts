/**
 * Every published entry loads with require() (Node 20.19+ and 22.12+ require ES modules; the
 * exports map has `default` conditions, not `import` only): a bundler entry gives the plugin
 * itself, callable, and the plugin again as `.default` (plugin/commonjs.ts); the other entries
 * give their namespace. Loaded by Node's own require, resolving `mugraph` from inside the
 * package as a config file in a project resolves it from node_modules. The builds with
 * CommonJS configs are in bundlers.test.ts.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLERS, PROJECT } from './bundlers.js';
import { ensureBuilt } from './dist.js';

const require = createRequire(join(PROJECT, 'configs', 'require.cjs'));

beforeAll(() => ensureBuilt());

type Factory = ((options?: object) => unknown) & { default?: unknown };

describe('require()', () => {
  it.each(BUNDLERS)('mugraph/%s is the plugin, and has it as .default too', (bundler) => {
    const required = require(`mugraph/${bundler}`) as Factory;
    expect(typeof required).toBe('function');
    expect(typeof required.default).toBe('function');
    const plugin = required({});
    expect(plugin).toBeTypeOf('object');
    expect(Object.keys(plugin as object).sort()).toEqual(Object.keys((required.default as Factory)({}) as object).sort());
  });

  it.each([
    ['mugraph', 'tensorProgram'],
    ['mugraph/runtime', 'loadCompiled'],
    ['mugraph/node', 'createNodeDevice'],
  ])('%s gives its named exports', (entry, name) => {
    expect(typeof (require(entry) as Record<string, unknown>)[name]).toBe('function');
  });
});
