/**
 * How routes that read the history store answer when it is not there: 501 in a
 * process without one (it lives with the history role, or behind CLICKHOUSE_URL),
 * 503 while ClickHouse does not answer (worth a retry).
 */
import { ProblemError } from '../http/problem.ts';
import { HistoryUnavailableError } from './errors.ts';
import type { HistoryStore } from './store.ts';

/** The store, or a 501 saying what needed it ("Lineage reads", "The audit trail is read from"). */
export function requireStore(store: HistoryStore | undefined, what: string): HistoryStore {
  if (store) return store;
  throw new ProblemError('notImplemented', 501, `${what} the history store, which this process does not have (run it with the history role, or set CLICKHOUSE_URL).`);
}

/** ClickHouse away is worth a retry (503); any other failure is ours and goes to the error funnel. */
export async function unlessUnavailable<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof HistoryUnavailableError) {
      throw new ProblemError('unavailable', 503, 'The history store does not answer; try again later.', { retryable: true });
    }
    throw error;
  }
}
