/**
 * A small WGSL text builder (indented lines and blocks) and the loops every custom-kernel
 * emitter shares: "each invocation takes elements lid, lid + N, ..." and the workgroup
 * barrier. Kept apart so that the emitters read as what they compute.
 */
import { commentText } from '../escape.js';
import { u32 } from '../wgsl/common.js';

export class Code {
  private readonly lines: string[] = [];
  private depth = 1;

  line(text: string): void {
    this.lines.push(`${'  '.repeat(this.depth)}${text}`);
  }

  /** `header {` ... `}` with the body indented. */
  block(header: string, body: () => void): void {
    this.line(header === '' ? '{' : `${header} {`);
    this.depth++;
    body();
    this.depth--;
    this.line('}');
  }

  comment(text: string): void {
    this.line(`// ${commentText(text)}`);
  }

  barrier(): void {
    this.line('workgroupBarrier();');
  }

  get empty(): boolean {
    return this.lines.length === 0;
  }

  /** Lines written so far: a mark for `truncate`. */
  get length(): number {
    return this.lines.length;
  }

  /** Drops the lines written since `mark` (an emitted block that turned out to do nothing). */
  truncate(mark: number): void {
    this.lines.length = mark;
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

/** Invocation `lid` handles elements lid, lid + invocations, ... below `count`; `body` gets the element's name. */
export function forEachElement(code: Code, count: number, invocations: number, body: (e: string) => void): void {
  if (count === invocations) {
    code.block('', () => {
      code.line('let e = lid;');
      body('e');
    });
  } else if (count < invocations) {
    code.block(`if (lid < ${u32(count)})`, () => {
      code.line('let e = lid;');
      body('e');
    });
  } else {
    code.block(`for (var e = lid; e < ${u32(count)}; e += ${u32(invocations)})`, () => body('e'));
  }
}

/**
 * The kernel's workgroup memory, `wg`: a flat array<f32>, or an array of vec4<f32> so that
 * a matmul can read four consecutive K elements of its A operand in one load (emit-ops.ts);
 * then element i is component i % 4 of vector i / 4. `vectorUsed` records whether any
 * vector access was emitted (custom-kernel.ts falls back to the flat array otherwise).
 */
export class WorkgroupArray {
  vectorUsed = false;

  constructor(readonly vectors: boolean) {}

  /** The reference to f32 element `index` (a u32 expression). */
  element(index: string): string {
    if (!this.vectors) return `wg[${index}]`;
    const i = constantIndex(index);
    return i === undefined ? `wg[(${index}) / 4u][(${index}) % 4u]` : `wg[${u32(Math.floor(i / 4))}][${i % 4}]`;
  }

  /** The vec4<f32> reference to elements index.. index + 3 (`index` a multiple of 4), if the array holds vectors. */
  vector(index: string): string | undefined {
    const reference = this.vectorIfHeld(index);
    if (reference !== undefined) this.vectorUsed = true;
    return reference;
  }

  /**
   * Like `vector`, for accesses that only pay off once the array holds vectors anyway
   * (elementwise ops): they do not make custom-kernel.ts keep the vec4 array.
   */
  vectorIfHeld(index: string): string | undefined {
    if (!this.vectors) return undefined;
    const i = constantIndex(index);
    return i === undefined ? `wg[(${index}) / 4u]` : `wg[${u32(i / 4)}]`;
  }

  declaration(elements: number): string {
    return this.vectors
      ? `var<workgroup> wg: array<vec4<f32>, ${Math.max(1, Math.ceil(elements / 4))}>;`
      : `var<workgroup> wg: array<f32, ${elements}>;`;
  }
}

/** The value of a u32 literal such as `12u`, else undefined. */
function constantIndex(index: string): number | undefined {
  const literal = /^(\d+)u$/.exec(index);
  return literal ? Number(literal[1]) : undefined;
}
