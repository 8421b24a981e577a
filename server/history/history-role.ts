/**
 * The `history` role of a process: opens the history store, brings its schema
 * up to date, and runs the history writer, the retention of `events`
 * (EVENTDECK_HISTORY_RETENTION_DAYS), the alerts' history (`alerts`) and the audit trail (`audit_log`). A ClickHouse server that does not
 * answer at start does not stop EventDeck (the live views do not need it): the
 * migrations are retried in the background and the writer (and retention)
 * start after them.
 * A schema EventDeck does not know (MigrationError) or a rejected migration
 * still refuses the start.
 */
import { defer, firstValueFrom, retry, Subject, takeUntil, throwError, timer } from 'rxjs';
import type { Config } from '../config.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { ToAnalyticRows } from './analytic-rows.ts';
import type { ConsumerEngine } from './consumer-engine.ts';
import { HistoryUnavailableError } from './errors.ts';
import { AlertHistory } from './alert-history.ts';
import { AuditHistory } from './audit-history.ts';
import { HistoryWriter } from './history-writer.ts';
import { applyMigrations } from './migrations.ts';
import { openHistoryStore } from './open-store.ts';
import { dropExpiredMonths, startRetention, type Retention } from './retention.ts';
import type { HistoryStore } from './store.ts';

export interface HistoryRoleOptions {
  config: Pick<Config, 'clickhouseUrl' | 'dataDir' | 'partitions' | 'projector' | 'history'>;
  redis: RedisClient;
  engine: ConsumerEngine;
  now: () => number;
  log: (line: string) => void;
  /** An event's analytic rows (the composition root's projections/analytics); without it, only `events` is written. */
  toAnalyticRows?: ToAnalyticRows;
}

export interface HistoryRole {
  store: HistoryStore;
  writer: HistoryWriter;
  /** Drops the months of `events` past the retention now (the role also does so hourly); the months dropped. */
  dropExpiredMonths(): Promise<string[]>;
  /** Stops retention and the writer, then closes the store. */
  stop(): Promise<void>;
}

export async function startHistoryRole(options: HistoryRoleOptions): Promise<HistoryRole> {
  const { config, redis, engine, now, log, toAnalyticRows } = options;
  const store = await openHistoryStore(config);
  const { leaseTtlMs, pendingIdleMs, retry: policy } = config.projector;
  const { batchSize, batchWaitMs, retentionDays } = config.history;
  const writer = new HistoryWriter({
    redis, store, engine, partitions: config.partitions, batchSize, batchWaitMs, leaseTtlMs, pendingIdleMs, retry: policy, now, log,
    toAnalyticRows,
  });
  const stopping = new Subject<void>();
  let stopped = false;
  let retention: Retention | undefined;
  // Side streams copied into their tables: alert changes and the audit trail.
  const copies = [AlertHistory, AuditHistory].map((Copy) => new Copy({ redis, store, consumer: writer.ownerId, retry: policy, log }));
  const startWriting = async () => {
    await writer.start();
    if (stopped) return;
    retention = startRetention({ store, retentionDays, now, log });
    for (const copy of copies) await copy.start();
  };
  try {
    await applyMigrations(store);
    await startWriting();
  } catch (error) {
    if (!(error instanceof HistoryUnavailableError)) {
      await store.close();
      throw error;
    }
    log(`history: ClickHouse does not answer (${error.message}); history waits for it, the live views go on`);
    const migrated = defer(() => applyMigrations(store)).pipe(
      retry({
        delay: (failure: Error, count) => (failure instanceof HistoryUnavailableError
          ? timer(engine.backoffMs(policy, count, Math.random))
          : throwError(() => failure)),
      }),
      takeUntil(stopping),
    );
    void firstValueFrom(migrated, { defaultValue: undefined })
      .then((report) => (report ? startWriting() : undefined))
      .catch((failure: Error) => log(`history: cannot start, history is not written: ${failure.message}`));
  }
  return {
    store,
    writer,
    dropExpiredMonths: () => dropExpiredMonths(store, retentionDays, now()),
    async stop() {
      stopped = true;
      stopping.next();
      retention?.stop();
      for (const copy of copies) await copy.stop();
      await writer.stop();
      await store.close();
    },
  };
}
