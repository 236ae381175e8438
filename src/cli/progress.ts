/**
 * A live progress line for long CLI commands. On a TTY one status line is redrawn in place
 * (`[2/5] src/model/x.tensor.ts  row_norm: checking on the adapter  12.4 s`), its clock
 * ticking while the work runs, and permanent lines print above it; elsewhere (CI logs, pipes)
 * only the permanent lines print, one per line, so logs stay readable.
 *
 * Hand-written rather than a spinner library (ora, listr2, log-update): one line redrawn with
 * `\r` and erase-line is all it needs, those bring five to fifteen packages with them, and no
 * animation can run while the compiler holds the thread anyway (the clock catches up after).
 */
import { performance } from 'node:perf_hooks';
import { stripVTControlCharacters } from 'node:util';

export interface Progress {
  /**
   * Replaces the status line (TTY only) with `text` and the time since `since`
   * (performance.now(); default: now), redrawn as the time passes.
   */
  status(text: string, since?: number): void;
  /** Prints a permanent line. */
  log(line: string): void;
  /** Clears the status line and stops its clock. */
  done(): void;
}

/** How often the status line's clock is redrawn. */
const TICK_MS = 250;

export function createProgress(log: (line: string) => void, stream: NodeJS.WriteStream = process.stderr): Progress {
  const live = stream.isTTY === true;
  let current: { text: string; since: number } | undefined;
  let shown = false;
  let timer: NodeJS.Timeout | undefined;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  const draw = () => {
    if (!current) return;
    clear();
    const clock = `  ${formatDuration((performance.now() - current.since) / 1000)}`;
    // A terminal that reports no size (0 columns, as under `script`) gets a common width.
    stream.write(`${fitted(current.text, (stream.columns || 80) - 1 - clock.length)}${clock}`);
    shown = true;
  };
  return {
    status(text, since = performance.now()) {
      if (!live) return;
      current = { text, since };
      draw();
      // unref: a clock left running must not keep the process alive.
      timer ??= setInterval(draw, TICK_MS).unref();
    },
    log(line) {
      clear();
      log(line);
      draw();
    },
    done() {
      clearInterval(timer);
      timer = undefined;
      current = undefined;
      clear();
    },
  };
}

/**
 * At most `width` columns of one row: control characters (a newline in a file name, an
 * escape sequence) would move the cursor and leave a stale line behind, so they become
 * spaces; a longer text is cut with an ellipsis. Counted in code points: a wide character
 * can still wrap.
 */
function fitted(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const chars = [...stripVTControlCharacters(text).replace(/[\x00-\x1f\x7f]/g, ' ')];
  return chars.length > width ? `${chars.slice(0, Math.max(0, width - 1)).join('')}…` : chars.join('');
}

/** `0.4 s`, `12.3 s`, `4 min 05 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}
