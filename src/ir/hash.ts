/**
 * A 128-bit non-cryptographic string hash (four FNV-1a-style lanes with different
 * primes and a final avalanche), pure JS so the frontend runs in browsers too.
 * Used for structural hashes and cache keys, where collisions only cost a cache miss
 * check (entries also store the canonical program they were built from).
 */
export function hashString(text: string): string {
  let h1 = 0x811c9dc5 | 0, h2 = 0x01000193 | 0, h3 = 0x9e3779b9 | 0, h4 = 0x85ebca6b | 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h3 = Math.imul(h3 ^ c, 0x27d4eb2f);
    h4 = Math.imul(h4 ^ c, 0x165667b1);
  }
  const lanes = [h1, h2, h3, h4].map((h, i) => {
    h ^= text.length + i;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0).toString(16).padStart(8, '0');
  });
  return lanes.join('');
}
