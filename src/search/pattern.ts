/**
 * Patterns over the e-graph's atoms and e-matching. A pattern is a term with variables: `?a`
 * matches any e-class (a repeated variable, the same class), and a leaf's payload may be a
 * variable too (`input[?i]`), bound to a number. Polynomials are not pattern operators: rules
 * that look into them are dynamic (rules.ts). Patterns are compiled once into a small register
 * machine, as egg does: `bind` scans the nodes of one kind in the class held by a register
 * and writes their children into fresh registers; `compare` checks a repeated variable.
 * Matching backtracks over that instruction list with no allocation per step, and reports
 * each match into a flat number array: [root class, variables..., payload variables...].
 */
import { KIND, type EGraph, type NodeKind } from './egraph.js';

/** Kinds a pattern may name: atoms (polynomials are matched by dynamic rules, rules.ts). */
export type PatternKind = Exclude<NodeKind, 'poly'>;

function arityOf(kind: PatternKind): number {
  return kind === 'input' || kind === 'const' ? 0 : 1;
}

export type Pattern =
  | { readonly type: 'var'; readonly name: string }
  | {
    readonly type: 'node';
    readonly kind: PatternKind;
    /** A fixed payload (an input's index, a constant's value) or the name of a payload variable. */
    readonly payload: number | string | undefined;
    readonly args: readonly Pattern[];
  };

export function patternVar(name: string): Pattern {
  return Object.freeze({ type: 'var', name });
}

export function patternNode(kind: PatternKind, args: readonly Pattern[], payload?: number | string): Pattern {
  if (args.length !== arityOf(kind)) throw new Error(`pattern ${kind} takes ${arityOf(kind)} operand(s), got ${args.length}`);
  if (payload !== undefined && arityOf(kind) !== 0) throw new Error(`pattern ${kind} carries no payload`);
  return Object.freeze({ type: 'node', kind, payload, args: Object.freeze([...args]) });
}

/** `(inv (sqrt ?a))`-style text, for reports. */
export function formatPattern(p: Pattern): string {
  if (p.type === 'var') return `?${p.name}`;
  const head = p.payload === undefined ? p.kind : `${p.kind}[${typeof p.payload === 'string' ? `?${p.payload}` : p.payload}]`;
  return p.args.length === 0 ? head : `(${head} ${p.args.map(formatPattern).join(' ')})`;
}

type Instruction =
  | { readonly op: 'bind'; readonly reg: number; readonly kind: number; readonly payload: number; readonly payloadSlot: number; readonly payloadCheck: number; readonly out: readonly number[] }
  | { readonly op: 'compare'; readonly a: number; readonly b: number };

/** A pattern compiled for matching; the root must be a node pattern. */
export class CompiledPattern {
  readonly vars: readonly string[];
  readonly payloadVars: readonly string[];
  /** Numbers per match in the flat result: root, variables, payload variables. */
  readonly stride: number;
  private readonly instructions: Instruction[] = [];
  private readonly varRegister: number[];
  private readonly rootKind: number;
  private registers = 1;

  constructor(readonly pattern: Pattern) {
    if (pattern.type !== 'node') throw new Error('a pattern to search for must have an operator at its root');
    const vars = new Map<string, number>();
    const payloadVars = new Map<string, number>();
    this.compile(pattern, 0, vars, payloadVars);
    this.vars = [...vars.keys()];
    this.payloadVars = [...payloadVars.keys()];
    this.varRegister = [...vars.values()];
    this.stride = 1 + this.vars.length + this.payloadVars.length;
    this.rootKind = KIND[pattern.kind];
  }

  private compile(p: Pattern & { type: 'node' }, reg: number, vars: Map<string, number>, payloadVars: Map<string, number>): void {
    let payload = NaN;
    let payloadSlot = -1;
    let payloadCheck = -1;
    if (typeof p.payload === 'number') payload = p.payload;
    else if (typeof p.payload === 'string') {
      const seen = payloadVars.get(p.payload);
      if (seen === undefined) payloadVars.set(p.payload, (payloadSlot = payloadVars.size));
      else payloadCheck = seen;
    }
    const out = p.args.map(() => this.registers++);
    this.instructions.push({ op: 'bind', reg, kind: KIND[p.kind], payload, payloadSlot, payloadCheck, out });
    p.args.forEach((arg, i) => {
      const r = out[i]!;
      if (arg.type === 'node') return this.compile(arg, r, vars, payloadVars);
      const seen = vars.get(arg.name);
      if (seen === undefined) vars.set(arg.name, r);
      else this.instructions.push({ op: 'compare', a: r, b: seen });
    });
  }

  /** Appends every match in the e-graph (which must be rebuilt) to `out`; returns how many. */
  search(g: EGraph, out: number[]): number {
    const regs = new Array<number>(this.registers).fill(0);
    const payloads = new Array<number>(this.payloadVars.length).fill(0);
    const before = out.length;
    const root = this.instructions[0] as Extract<Instruction, { op: 'bind' }>;
    for (const n of g.nodesOfKind(this.rootKind)) {
      if (g.isDead(n)) continue;
      regs[0] = g.classOfNode(n);
      if (this.bindNode(g, root, n, regs, payloads)) this.run(g, 1, regs, payloads, out);
    }
    return (out.length - before) / this.stride;
  }

  /** Matches rooted in one given class. */
  searchClass(g: EGraph, cls: number, out: number[]): number {
    const regs = new Array<number>(this.registers).fill(0);
    const payloads = new Array<number>(this.payloadVars.length).fill(0);
    const before = out.length;
    regs[0] = g.find(cls);
    this.run(g, 0, regs, payloads, out);
    return (out.length - before) / this.stride;
  }

  private bindNode(g: EGraph, instr: Extract<Instruction, { op: 'bind' }>, n: number, regs: number[], payloads: number[]): boolean {
    if (instr.payloadSlot >= 0 || instr.payloadCheck >= 0 || !Number.isNaN(instr.payload)) {
      const value = g.payloadOf(n);
      if (!Number.isNaN(instr.payload) && value !== instr.payload) return false;
      if (instr.payloadCheck >= 0 && payloads[instr.payloadCheck] !== value) return false;
      if (instr.payloadSlot >= 0) payloads[instr.payloadSlot] = value;
    }
    const out = instr.out;
    const children = g.childrenOf(n);
    for (let i = 0; i < out.length; i++) regs[out[i]!] = g.find(children[i]!);
    return true;
  }

  private run(g: EGraph, pc: number, regs: number[], payloads: number[], out: number[]): void {
    if (pc === this.instructions.length) {
      out.push(regs[0]!);
      for (const r of this.varRegister) out.push(regs[r]!);
      for (const v of payloads) out.push(v);
      return;
    }
    const instr = this.instructions[pc]!;
    if (instr.op === 'compare') {
      if (regs[instr.a] === regs[instr.b]) this.run(g, pc + 1, regs, payloads, out);
      return;
    }
    const nodes = g.classNodes(regs[instr.reg]!);
    const kind = instr.kind;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const k = g.kindOf(n);
      if (k < kind) continue;
      if (k > kind) break;
      if (this.bindNode(g, instr, n, regs, payloads)) this.run(g, pc + 1, regs, payloads, out);
    }
  }
}

/** Reads one match of a flat result array without copying it. */
export class MatchView {
  offset = 0;
  constructor(private readonly pattern: CompiledPattern, private readonly data: readonly number[]) {}

  get root(): number {
    return this.data[this.offset]!;
  }

  /** The class bound to variable `name`. */
  get(name: string): number {
    const i = this.pattern.vars.indexOf(name);
    if (i < 0) throw new Error(`pattern ${formatPattern(this.pattern.pattern)} has no variable ?${name}`);
    return this.data[this.offset + 1 + i]!;
  }

  /** The number bound to payload variable `name`. */
  payload(name: string): number {
    const i = this.pattern.payloadVars.indexOf(name);
    if (i < 0) throw new Error(`pattern ${formatPattern(this.pattern.pattern)} has no payload variable ?${name}`);
    return this.data[this.offset + 1 + this.pattern.vars.length + i]!;
  }
}

/** Adds the pattern's instance under the match's bindings; returns its class. */
export function instantiate(g: EGraph, p: Pattern, m: MatchView): number {
  if (p.type === 'var') return m.get(p.name);
  if (p.kind === 'input' || p.kind === 'const') {
    return g.leaf(p.kind, typeof p.payload === 'string' ? m.payload(p.payload) : (p.payload ?? 0))!;
  }
  return g.unary(KIND[p.kind], instantiate(g, p.args[0]!, m))!;
}
