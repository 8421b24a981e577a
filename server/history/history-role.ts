/**
 * The `history` role of a process: opens the history store, brings its schema
 * up to date, and runs the history writer. A ClickHouse server that does not
 * answer at start does not stop EventDeck (the live views do not need it): the
 * migrations are retried in the background and the writer starts after them.
 * A schema EventDeck does not know (MigrationError) or a rejected migration
 * still refuses the start.
 */
import { defer, firstValueFrom, retry, Subject, takeUntil, throwError, timer } from 'rxjs';
import type { Config } from '../config.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { ConsumerEngine } from './consumer-engine.ts';
import { HistoryUnavailableError } from './errors.ts';
import { HistoryWriter } from './history-writer.ts';
import { applyMigrations } from './migrations.ts';
import { openHistoryStore } from './open-store.ts';
import type { HistoryStore } from './store.ts';

export interface HistoryRoleOptions {
  config: Pick<Config, 'clickhouseUrl' | 'dataDir' | 'partitions' | 'projector' | 'history'>;
  redis: RedisClient;
  engine: ConsumerEngine;
  now: () => number;
  log: (line: string) => void;
}

export interface HistoryRole {
  store: HistoryStore;
  writer: HistoryWriter;
  /** Stops the writer, then closes the store. */
  stop(): Promise<void>;
}

export async function startHistoryRole(options: HistoryRoleOptions): Promise<HistoryRole> {
  const { config, redis, engine, now, log } = options;
  const store = await openHistoryStore(config);
  const { leaseTtlMs, pendingIdleMs, retry: policy } = config.projector;
  const writer = new HistoryWriter({
    redis, store, engine, partitions: config.partitions, ...config.history, leaseTtlMs, pendingIdleMs, retry: policy, now, log,
  });
  const stopping = new Subject<void>();
  try {
    await applyMigrations(store);
    await writer.start();
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
      .then((report) => (report ? writer.start() : undefined))
      .catch((failure: Error) => log(`history: cannot start, history is not written: ${failure.message}`));
  }
  return {
    store,
    writer,
    async stop() {
      stopping.next();
      await writer.stop();
      await store.close();
    },
  };
}
