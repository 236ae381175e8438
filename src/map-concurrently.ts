/**
 * `f` over `items`, at most `limit` calls at once, results in the items' order whatever
 * order the calls end in: for work whose outcome must not depend on how much of it ran
 * side by side (the parts of a search, the modules `mugraph warm` compiles).
 */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, f: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const run = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await f(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
  return results;
}
