/**
 * How the plugin tells the user things: through the bundler, so that the bundler's log level
 * decides what shows (`logLevel: 'silent'` prints nothing of ours).
 *
 * - Program events (the default `onProgram`): a compile is an info log, a rebuilt entry a
 *   warning, a lock hit nothing. Info goes to Rollup's, Rolldown's and Vite's `this.info`
 *   (their `logLevel` / `onLog`), to the compilation's logger in webpack and Rspack (shown
 *   under "LOG from mugraph" per `stats.logging`), and, since esbuild gives plugins no info
 *   channel, to stderr only when esbuild's `logLevel` is info or more verbose (its JS API
 *   default is warning). Warnings go through unplugin's `this.warn` everywhere.
 * - Errors carry `loc` (1-based line, 0-based column, as bundlers take it) and the message
 *   without the `file:line:column:` prefix wherever the bundler prints the location itself,
 *   and exactly one code frame: the bundler's own where it draws one, ours otherwise.
 */
import type { UnpluginBuildContext, UnpluginContext, UnpluginMessage } from 'unplugin';
import { formatProgramEvent, type LocatedError, type ProgramEvent } from '#mugraph/core';

export const PLUGIN_NAME = 'mugraph';

type HookContext = UnpluginBuildContext & UnpluginContext;

/** The bundler's log, at the two levels the plugin uses. */
export interface BundlerLog {
  info(text: string): void;
  warn(text: string): void;
}

/** esbuild's levels at which it prints info messages (`logLevel` is one of verbose, debug, info, warning, error, silent). */
const ESBUILD_INFO_LEVELS = new Set(['verbose', 'debug', 'info']);
/** esbuild's build API default (its CLI's is info, and says so in initialOptions). */
const ESBUILD_DEFAULT_LEVEL = 'warning';

export function bundlerLog(context: HookContext): BundlerLog {
  return { info: infoChannel(context), warn: (text) => context.warn(text) };
}

function infoChannel(context: HookContext): (text: string) => void {
  const native = context.getNativeBuildContext?.();
  if (native?.framework === 'webpack' || native?.framework === 'rspack') {
    const logger = native.compilation?.getLogger(PLUGIN_NAME);
    if (logger) return (text) => logger.info(text);
  } else if (native?.framework === 'esbuild') {
    return ESBUILD_INFO_LEVELS.has(native.build.initialOptions.logLevel ?? ESBUILD_DEFAULT_LEVEL) ? toStderr : () => {};
  }
  // Rollup, Rolldown and Vite (build and dev server): the hook context is the bundler's own, with its log methods.
  const { info } = context as Partial<{ info: (log: string) => void }>;
  if (typeof info === 'function') return (text) => info.call(context, text);
  return toStderr; // a host with no logger at all
}

function toStderr(text: string): void {
  process.stderr.write(`${PLUGIN_NAME}: ${text}\n`);
}

/** The default `onProgram` inside a bundler: compiles as info, rebuilds as warnings, hits not at all. */
export function reportProgram(log: BundlerLog, event: ProgramEvent, root: string): void {
  const text = formatProgramEvent(event, root);
  if (text === undefined) return;
  if (event.status === 'rebuilt') log.warn(text);
  else log.info(text);
}

/**
 * How a bundler shows an error with a location:
 * - 'draws-frame': prints `loc` and draws the source lines itself (Vite's dev server reads the
 *   file; esbuild draws `lineText`, which withSourceLines fills);
 * - 'prints-frame': prints `loc` and the error's `frame` field, draws none for a load hook
 *   (Rollup, Rolldown, `vite build`);
 * - 'message-only': shows the message alone (webpack and Rspack: unplugin hands them a plain
 *   Error), so the location and frame go in it.
 */
export type ErrorStyle = 'draws-frame' | 'prints-frame' | 'message-only';

/** The `this.error` argument for `located` (thrown while building `file`), one frame in all. */
export function errorFor(located: LocatedError, file: string, style: ErrorStyle): UnpluginMessage & { frame?: string } {
  const { message, text, location, frame } = located;
  if (location === undefined || style === 'message-only') {
    return { plugin: PLUGIN_NAME, id: location?.file ?? file, message: frame ? `${message}\n\n${frame}` : message };
  }
  return {
    plugin: PLUGIN_NAME,
    id: location.file,
    message: text,
    loc: { file: location.file, line: location.line, column: location.column - 1 },
    ...(style === 'prints-frame' && frame ? { frame } : {}),
  };
}
