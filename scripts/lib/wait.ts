/** Bounded polls on conditions: the only way tests wait. Each attempt is bounded too: one that
 * never settles (a read from a server that stopped answering) fails the wait at its deadline
 * instead of holding it forever. */
export async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, ms = 10_000, context?: () => string): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const v = await Promise.race([
        Promise.resolve().then(fn),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('an attempt did not settle before the deadline')), Math.max(0, end - Date.now()) + 1);
        }),
      ]);
      if (v) return v;
    } catch (err) {
      last = err;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}${context ? context() : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
