/**
 * Where in the user's code an operator was called. Every IR node remembers its site so
 * that errors (at build time, in the plugin, in the CLI) point at the user's line.
 */
export interface CallSite {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * Our own code: src/ and dist/ of this package. Both count even when we run from one of
 * them, because with source maps enabled Node reports dist frames at their src/ origin.
 */
// String(...) keeps bundlers (Vite) from treating `new URL(path, import.meta.url)` as an asset import.
const PACKAGE_ROOT = new URL('../..', String(import.meta.url)).href;
const OWN_ROOTS = ['src/', 'dist/'].flatMap((folder) => {
  const url = new URL(folder, PACKAGE_ROOT).href;
  return url.startsWith('file:') ? [url, decodeURI(new URL(url).pathname)] : [url];
});

/** The first stack frame outside mugraph: the user's call. */
export function captureCallSite(): CallSite | undefined {
  const stack = new Error().stack ?? '';
  for (const frame of parseStack(stack)) {
    if (isOwnFile(frame.file)) continue;
    if (frame.file.startsWith('node:') || frame.file.startsWith('internal/')) continue;
    return frame;
  }
  return undefined;
}

export function formatSite(site: CallSite | undefined): string {
  return site ? `${site.file}:${site.line}:${site.column}` : '<unknown location>';
}

function isOwnFile(file: string): boolean {
  return OWN_ROOTS.some((root) => file.startsWith(root));
}

/** Parses V8 ("at f (file:1:2)") and Firefox/Safari ("f@file:1:2") stack lines. */
export function parseStack(stack: string): CallSite[] {
  const sites: CallSite[] = [];
  for (const line of stack.split('\n')) {
    const match = /(?:\bat (?:.*?\()?|@)(.+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match) continue;
    sites.push({ file: normalizeFile(match[1]!), line: Number(match[2]), column: Number(match[3]) });
  }
  return sites;
}

function normalizeFile(file: string): string {
  const cleaned = file.replace(/^async /, '');
  if (cleaned.startsWith('file://')) {
    try {
      return decodeURI(new URL(cleaned).pathname);
    } catch {
      return cleaned;
    }
  }
  return cleaned;
}
