/**
 * A live progress line for long CLI commands. On a TTY one status line is redrawn in place
 * (`[2/5] compiling src/model/x.tensor.ts`) and permanent lines print above it; elsewhere
 * (CI logs, pipes) only the permanent lines print, one per line, so logs stay readable.
 */
export interface Progress {
  /** Replaces the status line (TTY only). */
  status(text: string): void;
  /** Prints a permanent line. */
  log(line: string): void;
  /** Clears the status line. */
  done(): void;
}

export function createProgress(log: (line: string) => void, stream: NodeJS.WriteStream = process.stderr): Progress {
  const live = stream.isTTY === true;
  let shown = false;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  return {
    status(text) {
      if (!live) return;
      clear();
      const width = stream.columns ?? 80;
      stream.write(text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text);
      shown = true;
    },
    log(line) {
      clear();
      log(line);
    },
    done: clear,
  };
}
