/**
 * A small XML well-formedness check for generated SVG (Node has no DOMParser): one root
 * element, balanced tags, well-formed attributes without duplicates, and `<` and `&` only
 * where XML allows them. It is strict about what our generators emit and does not try to
 * cover XML features they never use (doctypes, CDATA, processing instructions).
 */

const TOKEN = /<!--[\s\S]*?-->|<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|(<)/g;
const ATTRIBUTE = /([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);/g;

/** Problems found, empty when `text` is a well-formed XML document. */
export function xmlProblems(text: string): string[] {
  const problems: string[] = [];
  const open: string[] = [];
  let roots = 0;
  for (const match of text.matchAll(TOKEN)) {
    const [, closing, name, attributes, selfClosing, chars, stray] = match;
    const at = `offset ${match.index}`;
    if (stray !== undefined) {
      problems.push(`${at}: "<" that starts no tag`);
    } else if (chars !== undefined) {
      if (open.length === 0 && chars.trim() !== '') problems.push(`${at}: text outside the root element`);
      problems.push(...badAmpersands(chars, at));
    } else if (name !== undefined) {
      if (closing) {
        const expected = open.pop();
        if (expected !== name) problems.push(`${at}: </${name}> closes ${expected === undefined ? 'nothing' : `<${expected}>`}`);
      } else {
        if (open.length === 0 && ++roots > 1) problems.push(`${at}: a second root element <${name}>`);
        problems.push(...attributeProblems(attributes ?? '', `${at} <${name}>`));
        if (!selfClosing) open.push(name);
      }
    }
  }
  if (open.length > 0) problems.push(`unclosed: ${open.map((n) => `<${n}>`).join(' ')}`);
  if (roots === 0) problems.push('no root element');
  return problems;
}

function attributeProblems(attributes: string, at: string): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const [, name, doubleQuoted, singleQuoted] of attributes.matchAll(ATTRIBUTE)) {
    if (seen.has(name!)) problems.push(`${at}: duplicate attribute ${name}`);
    seen.add(name!);
    const value = doubleQuoted ?? singleQuoted ?? '';
    if (value.includes('<')) problems.push(`${at}: "<" in attribute ${name}`);
    problems.push(...badAmpersands(value, `${at} ${name}`));
  }
  return problems;
}

function badAmpersands(text: string, at: string): string[] {
  const stray = text.replace(ENTITY, '').includes('&');
  return stray ? [`${at}: "&" that starts no entity in ${JSON.stringify(text.slice(0, 60))}`] : [];
}

/** The contents of every <text> element (entities decoded), in document order. */
export function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => decode(m[1]!));
}

function decode(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[\da-fA-F]+|#\d+|\w+);/g, (whole, body: string) => {
    if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
    return named[body] ?? whole;
  });
}
