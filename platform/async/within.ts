/**
 * Waits for `work` at most `ms`. Settled in time: its value (or its rejection).
 * Late: `{settled: false}`, and the work goes on with nobody waiting for it
 * (a late rejection is swallowed: there is no one left to tell).
 */
export async function within<T>(work: Promise<T>, ms: number): Promise<{ settled: true; value: T } | { settled: false }> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => {});
  const late = new Promise<{ settled: false }>((resolve) => (timer = setTimeout(() => resolve({ settled: false }), ms)));
  try {
    return await Promise.race([work.then((value) => ({ settled: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}
