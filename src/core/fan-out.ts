/**
 * One observer that tells several (notifications, status, metrics), in order: each of
 * `methods` calls that method of every part that has it. Parts may be class instances.
 */
export function fanOut<T extends object>(methods: readonly (keyof T & string)[], parts: readonly (T | undefined)[]): T {
  const out: Record<string, (...args: unknown[]) => void> = {};
  for (const m of methods) {
    const fns = parts.flatMap((p) => {
      const f = p?.[m];
      return typeof f === 'function' ? [(f as (...args: unknown[]) => void).bind(p)] : [];
    });
    if (fns.length === 1) out[m] = fns[0];
    else if (fns.length) out[m] = (...args) => fns.forEach((f) => f(...args));
  }
  return out as T;
}
