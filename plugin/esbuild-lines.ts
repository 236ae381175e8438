/**
 * esbuild draws the source line of a message from its `location.lineText`. unplugin's esbuild
 * adapter turns `this.error({ loc })` into a location with file, line and column only, so
 * esbuild drew an empty line under `file:7:16:`. `withSourceLines` wraps the esbuild plugin
 * so that every error and warning its load hook returns carries its line, read from the
 * file, and the length of the name at the column, which esbuild underlines.
 */
import type { OnLoadResult, PartialMessage, Plugin } from 'esbuild';
import { sourceLine } from '#mugraph/core';

export function withSourceLines(plugin: Plugin): Plugin {
  return {
    ...plugin,
    // unplugin registers its load hook through the build it is given: hand it one whose onLoad completes the messages.
    setup: (build) => plugin.setup({
      ...build,
      onLoad: (options, callback) => build.onLoad(options, async (args) => withLineText(await callback(args))),
    }),
  };
}

function withLineText(result: OnLoadResult | null | undefined): OnLoadResult | null | undefined {
  for (const message of [...(result?.errors ?? []), ...(result?.warnings ?? [])]) fillLineText(message);
  return result;
}

function fillLineText({ location }: PartialMessage): void {
  if (!location?.file || !location.line || location.lineText) return;
  const lineText = sourceLine(location.file, location.line);
  if (lineText === undefined) return;
  location.lineText = lineText;
  location.length ??= /^[\w$]*/.exec(lineText.slice(location.column ?? 0))![0].length;
}
