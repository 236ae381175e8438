/** Strings that run `globalThis.PWNED = n` if generated code ever carries them unescaped (in a comment or a string). */
export const HOSTILE = [
  'a\nglobalThis.PWNED = 1; //',
  '*/ globalThis.PWNED = 2; /*',
  '\u2028globalThis.PWNED = 3; //',
  '\'"; globalThis.PWNED = 4; //',
  '`${globalThis.PWNED = 5}`',
  '</script><script>globalThis.PWNED = 6</script><!--',
] as const;
