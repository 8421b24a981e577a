/** Exponential backoff with full jitter: a random wait up to min(cap, base · factor^(n-1)). */
export interface BackoffPolicy {
  baseMs: number;
  factor: number;
  capMs: number;
}

export function backoffMs(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
