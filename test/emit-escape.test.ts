/**
 * The one escaping function for generated code (src/codegen/escape.ts), and the emitter
 * using it for every string it did not write itself. emitModule is fed hostile strings
 * everywhere the DSL does not stop them (module path, export names, target names) and,
 * bypassing the DSL, in the program's own names, kernel names and the μGraph JSON: the
 * module must parse, run nothing, and give every string back exactly.
 */
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { emitModule, type EmittedProgram } from '../src/build/emit.js';
import { commentText, jsLiteral } from '../src/codegen/escape.js';
import { compile } from '../src/compile.js';
import { buildProgram, type Program } from '../src/frontend/program.js';
import { createRng } from '../src/reference/random.js';
import type { CompiledProgram } from '../src/runtime/types.js';
import { webgpuDefaults } from '../src/ugraph/target.js';
import { HOSTILE } from './helpers/hostile.js';

/** Every JS and WGSL line terminator, and non-ASCII text; all well-formed, since export names must be. */
const everyHostile = [...HOSTILE, 'a\rb', 'x\u2029y', 'v\u000bw\u000cz\u0085', '${x}', 'é 𝔘 \u0000'];

/** Evaluates an emitted ES module as CommonJS, with the runtime stubbed; returns its exports. */
function runModule(code: string): Record<string, { name: string; program: { name: string; inputSpecs: Array<{ name: string }> }; ugraph?: unknown }> {
  const cjs = transformSync(code, { format: 'cjs', loader: 'js' }).code;
  const module = { exports: {} as Record<string, never> };
  const runtime = { loadCompiled: () => undefined, loadForDevice: () => undefined };
  new Function('require', 'module', 'exports', cjs)(() => runtime, module, module.exports);
  return module.exports;
}

describe('jsLiteral', () => {
  it('round-trips any string as one line of printable ASCII with no </ or <!', () => {
    const random = createRng(11);
    const samples = [...everyHostile, '\ud800 lone surrogate', ...Array.from({ length: 500 }, () =>
      String.fromCharCode(...Array.from({ length: 1 + Math.floor(random() * 12) }, () => Math.floor(random() * (random() < 0.5 ? 128 : 0x10000)))))];
    for (const value of samples) {
      const literal = jsLiteral(value);
      expect(literal).toMatch(/^[\x20-\x7e]*$/);
      expect(literal).not.toMatch(/<[/!]/);
      expect(new Function(`return ${literal};`)()).toBe(value);
    }
    expect(jsLiteral({ nested: ['</script>', 1.5, null] })).toBe('{"nested":["\\u003c/script>",1.5,null]}');
  });

  it('commentText keeps a comment on its line and closed comments closed', () => {
    for (const text of everyHostile) {
      const comment = commentText(text);
      expect(comment).not.toMatch(/[\n\r\v\f\u0085\u2028\u2029]/);
      expect(comment).not.toContain('*/');
      expect(new Function(`/* ${comment} */ // ${comment}\nreturn 1;`)()).toBe(1);
    }
  });
});

describe('emitModule with hostile strings', () => {
  const program = buildProgram('plain', (g) => ({ y: g.relu(g.input('x', [4])) }));
  const { compiled, ugraph } = compile(program);

  /** A program as the emitter reads it (name, hash, specs), with names the DSL would refuse. */
  function hostileProgram(name: string): Program {
    return { name, hash: program.hash, inputSpecs: [{ ...program.inputSpecs[0]!, name }], outputSpecs: [{ ...program.outputSpecs[0]!, name }] } as unknown as Program;
  }
  function hostileCompiled(name: string): CompiledProgram {
    return {
      ...compiled, name,
      inputs: [{ ...compiled.inputs[0]!, name }], outputs: [{ ...compiled.outputs[0]!, name }],
      kernels: compiled.kernels.map((k) => ({ ...k, name })),
    };
  }

  it.each([[1], [2]])('with %i target(s), nothing runs and every string comes back exactly', (targetCount) => {
    const emitted: EmittedProgram[] = everyHostile.map((name, i) => ({
      exportName: name,
      program: hostileProgram(name),
      builds: everyHostile.slice(0, targetCount).map((targetName, t) => ({
        target: { ...webgpuDefaults, name: targetName, maxWorkgroupsPerDimension: 65535 - t },
        compiled: hostileCompiled(name),
        key: `${i}${t}`.padStart(32, '0'),
      })),
      ugraph: { ...ugraph.toJSON(), hostile: name } as never,
    }));
    delete (globalThis as { PWNED?: unknown }).PWNED;
    const code = emitModule(everyHostile.join(' '), emitted, { artifacts: true });
    const exports = runModule(code);
    expect((globalThis as { PWNED?: unknown }).PWNED).toBeUndefined();
    expect(Object.keys(exports).sort()).toEqual([...everyHostile].sort());
    for (const name of everyHostile) {
      expect(exports[name]!.name).toBe(name);
      expect(exports[name]!.program.inputSpecs[0]!.name).toBe(name);
      expect(exports[name]!.ugraph).toMatchObject({ hostile: name });
    }
    expect(code).not.toMatch(/[\r\v\f\u0085\u2028\u2029]/); // no line ends but the emitter's own
  });
});
