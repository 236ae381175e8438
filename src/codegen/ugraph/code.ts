/**
 * A small WGSL text builder (indented lines and blocks) and the loops every custom-kernel
 * emitter shares: "each invocation takes elements lid, lid + N, ..." and the workgroup
 * barrier. Kept apart so that the emitters read as what they compute.
 */
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
    this.line(`// ${text}`);
  }

  barrier(): void {
    this.line('workgroupBarrier();');
  }

  get empty(): boolean {
    return this.lines.length === 0;
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
