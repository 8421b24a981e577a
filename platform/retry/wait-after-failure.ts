/**
 * The wait before retry `count` after an infrastructure failure (Redis or
 * ClickHouse away): capped, jittered backoff without a budget, since nothing
 * unacknowledged is lost by waiting. Logs the first failure and then every
 * tenth, so that an outage of minutes does not flood the log.
 */
import { type Observable, timer } from 'rxjs';
import { backoffMs, type BackoffPolicy } from './backoff.ts';

export function waitAfterFailure(
  what: string,
  error: Error,
  count: number,
  options: { policy: BackoffPolicy; log: (line: string) => void; random?: () => number },
): Observable<number> {
  if (count === 1 || count % 10 === 0) options.log(`${what} failed (${error.message}); retry ${count}`);
  return timer(backoffMs(options.policy, count, options.random ?? Math.random));
}
