/**
 * The search's pruning check (docs/search.md): abstract expressions of programs and μGraph
 * tensors, the e-graph modulo polynomial arithmetic they are checked in, its rules and
 * runner, and the oracle that answers 'yes' | 'no' | 'unknown'; and the search that uses
 * them (generator, program guide, sizing, superoptimize: docs/search.md §6).
 */
export { Expr, ExprError, type ExprKind, EXPR_KINDS } from './expr.js';
export * as expr from './expr.js';
export { parseExpr } from './expr-parse.js';
export { type AbstractValue, describeValue, type Piece, termsOf } from './abstract-value.js';
export { abstractProgram, type ProgramAbstraction } from './abstract-program.js';
export { abstractBlockGraph, abstractKernelGraph, type BlockAbstraction, type UGraphAbstraction } from './abstract-ugraph.js';
export { EGraph, KIND, NODE_KINDS, type NodeKind, POLY_LIMIT } from './egraph.js';
export { type Monomial, type Poly, IndexedPoly, PolyTooLarge } from './poly.js';
export { CompiledPattern, type Pattern, patternNode, patternVar } from './pattern.js';
export { atomRules, dynamicRule, rewrite, type Rule, targetRules } from './rules.js';
export { DEFAULT_LIMITS, type IterationReport, type RuleReport, type RunnerLimits, type RunReport, runRules, type StopReason } from './runner.js';
export { type OracleOptions, type SaturationFigures, type SubexpressionAnswer, SubexpressionOracle } from './subexpr.js';
export { DEFAULT_SEARCH_LIMITS, superoptimize, type SearchCandidate, type SearchLimits, type SearchOptions, type SearchProgress, type SearchReport, type SearchResult } from './superoptimize.js';
export { closeSearchPool, defaultSearchThreads } from './search-pool.js';
