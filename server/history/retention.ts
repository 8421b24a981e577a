/**
 * Retention of the event store: months of `events` that lie entirely before
 * the retention limit are dropped whole, with `ALTER TABLE … DROP PARTITION`
 * (ClickHouse 18.16 has no TTL; a partition drop is instant and needs no
 * merge). A month is dropped only once its last instant is older than the
 * limit, so nothing younger than the limit is ever lost; up to a month older
 * is kept. The analytic tables are not trimmed: stock totals need every
 * movement since the start (docs/history.md, "Retention").
 */
import { catchError, defer, EMPTY, exhaustMap, Subject, takeUntil, timer } from 'rxjs';
import type { HistoryStore } from './store.ts';

const DAY_MS = 86_400_000;

/** The table retention trims, partitioned by toYYYYMM(time) (migration 1). */
export const RETAINED_TABLE = 'events';

/**
 * The partitions (YYYYMM) entirely older than `retentionDays` before `nowMs`,
 * oldest first; none when retentionDays is 0 (keep everything). Pure.
 */
export function expiredMonths(partitions: readonly string[], nowMs: number, retentionDays: number): string[] {
  if (retentionDays <= 0) return [];
  const limit = nowMs - retentionDays * DAY_MS;
  return partitions
    .filter((partition) => /^\d{6}$/.test(partition))
    .filter((partition) => {
      const year = Number(partition.slice(0, 4));
      const month = Number(partition.slice(4, 6)); // 1…12: as a 0-based index, the month after it
      return Date.UTC(year, month, 1) <= limit;
    })
    .sort();
}

/** Drops the months of `events` older than the retention; returns the months dropped. */
export async function dropExpiredMonths(store: HistoryStore, retentionDays: number, nowMs: number): Promise<string[]> {
  if (retentionDays <= 0) return [];
  // Rows, not just parts: newer releases (chDB) leave an empty part behind a dropped partition for a while.
  const parts = await store.query<{ partition: string }>(
    `SELECT partition FROM system.parts
     WHERE database = currentDatabase() AND table = {table:String} AND active
     GROUP BY partition HAVING sum(rows) > 0`,
    { table: RETAINED_TABLE },
  );
  const expired = expiredMonths(parts.map((p) => p.partition), nowMs, retentionDays);
  // The partition is named by the value of its key, toYYYYMM(time): a number.
  for (const month of expired) await store.exec(`ALTER TABLE ${RETAINED_TABLE} DROP PARTITION ${month}`);
  return expired;
}

export interface RetentionOptions {
  store: HistoryStore;
  /** 0: keep everything, and run nothing. */
  retentionDays: number;
  /** How often to look (default hourly); the first look is at start. */
  intervalMs?: number;
  now: () => number;
  log: (line: string) => void;
}

export interface Retention {
  /** Drops what has expired now; the months dropped. */
  run(): Promise<string[]>;
  stop(): void;
}

/**
 * Runs dropExpiredMonths at start and then on a timer. A failure (ClickHouse
 * away) is logged and the next round tries again: retention is never urgent.
 */
export function startRetention(options: RetentionOptions): Retention {
  const { store, retentionDays, intervalMs = 3_600_000, now, log } = options;
  const run = async () => {
    const dropped = await dropExpiredMonths(store, retentionDays, now());
    if (dropped.length > 0) log(`history: retention (${retentionDays} days) dropped the months ${dropped.join(', ')} of ${RETAINED_TABLE}`);
    return dropped;
  };
  const stopping = new Subject<void>();
  if (retentionDays > 0) {
    timer(0, intervalMs).pipe(
      exhaustMap(() => defer(run).pipe(catchError((error: Error) => {
        log(`history: retention round failed (${error.message}); next round in ${Math.round(intervalMs / 60_000)} min`);
        return EMPTY;
      }))),
      takeUntil(stopping),
    ).subscribe();
  }
  return { run, stop: () => stopping.next() };
}
