import { type CallSite, formatSite } from './site.js';
import { formatShape, type Shape } from '../ir/shape.js';

/**
 * An invalid tensor program. The message names the user's file and line, the operator
 * and the shapes involved, e.g.
 *   model.tensor.ts:7:19: matmul: inner dimensions differ (a [16, 4096], b [4095, 64])
 */
export class ProgramError extends Error {
  override readonly name = 'ProgramError';
  constructor(
    /** What was wrong, without location. */
    readonly detail: string,
    /** The operator being built, e.g. `matmul`, `input`, `program`. */
    readonly op: string,
    readonly site: CallSite | undefined,
    readonly shapes: readonly Shape[] = [],
  ) {
    super(formatProgramError(detail, op, site, shapes));
  }

  /** The same error located at another site (used when a bundled frame is mapped back to source). */
  relocated(site: CallSite): ProgramError {
    return new ProgramError(this.detail, this.op, site, this.shapes);
  }
}

function formatProgramError(detail: string, op: string, site: CallSite | undefined, shapes: readonly Shape[]): string {
  const shapeText = shapes.length > 0 ? ` (shapes ${shapes.map(formatShape).join(', ')})` : '';
  return `${formatSite(site)}: ${op}: ${detail}${shapeText}`;
}

export function isProgramError(error: unknown): error is ProgramError {
  return error instanceof Error && error.name === 'ProgramError' && 'detail' in error && 'op' in error;
}
