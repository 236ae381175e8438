/**
 * The one way text reaches generated code. Everything the compiler writes into the ES
 * module it emits or into WGSL that it did not write itself (program, input, output and
 * export names, file names, target names, anything read from a lock entry) goes through
 * `jsLiteral` (as a value) or `commentText` (inside a `//` comment). Names are already
 * restricted at the DSL (frontend/names.ts); this is the second line, and the one that
 * covers what the DSL does not see (export names, paths, lock contents, options).
 *
 * `jsLiteral` is JSON with every character outside printable ASCII written as a `\uXXXX`
 * escape, and so is a `<` before `/` or `!`: the result is one line of pure ASCII, a valid
 * JS expression that evaluates to exactly the given value, safe inside an HTML `<script>`
 * (no `</script>`, no `<!--`) and free of the line terminators that end a `//` comment in
 * JS (LF, CR, U+2028, U+2029) or in WGSL (also VT, FF, U+0085). WGSL's own `<` (as in
 * `array<f32>`) stays as it is, so emitted shaders remain readable.
 */

const UNSAFE = /[^\x20-\x7e]|<(?=[/!])/g;

const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `value` (JSON data) as a JS expression of pure printable ASCII; see the header. */
export function jsLiteral(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new Error(`jsLiteral: ${typeof value} has no JSON form`);
  return json.replace(UNSAFE, escapeChar);
}

/** Control characters (C0, DEL, C1: every line terminator among them), U+2028/2029, surrogates. */
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]/g;

/**
 * Text for a `//` comment in JS or WGSL: one line (control characters, line and paragraph
 * separators and surrogates escaped as `\uXXXX`; printable text such as `·` or `μ` kept),
 * with no `*\/` that could close a surrounding block comment.
 */
export function commentText(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar).replaceAll('*/', '*\\/');
}
