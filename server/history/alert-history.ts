/**
 * The alerts' history in ClickHouse (`alerts`): every change of an alert, as
 * the alert store announced it on its changes stream, read through the
 * consumer group "alerts-history", inserted in batches and only then
 * acknowledged. An insert repeated after a crash or a lost answer adds rows
 * with the same key, which the table's merges (and the view's FINAL) collapse.
 * While ClickHouse is away the batch is retried with backoff and nothing more
 * is read: the changes wait in Redis.
 */
import { concatMap, defer, EMPTY, ignoreElements, of, repeat, retry, type Subscription } from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { BackoffPolicy } from '../../platform/retry/backoff.ts';
import { waitAfterFailure } from '../../platform/retry/wait-after-failure.ts';
import { KEY_PREFIX } from '../../shared/streams.ts';
import { ensureStreamGroup, GroupReader, type GroupEntry } from '../pipeline/group-reader.ts';
import type { HistoryStore } from './store.ts';

/** The alert store's changes stream (server/alerts/alert-keys.ts): the history reads it by name. */
const CHANGES = `${KEY_PREFIX}:alerts:changes`;
const GROUP = 'alerts-history';
const BATCH = 500;

export interface AlertHistoryOptions {
  redis: RedisClient;
  store: HistoryStore;
  consumer: string;
  retry: BackoffPolicy;
  log: (line: string) => void;
}

export class AlertHistory {
  #connection: RedisClient | undefined;
  #running: Subscription | undefined;
  #stopped = false;

  constructor(private readonly options: AlertHistoryOptions) {}

  async start(): Promise<void> {
    const { redis, store, consumer, retry: policy, log } = this.options;
    await ensureStreamGroup(redis, CHANGES, GROUP);
    this.#connection = redis.duplicate();
    this.#connection.on('error', () => {});
    await this.#connection.connect();
    const connection = this.#connection;
    this.#running = defer(() => {
      // A fresh reader on every (re)start: the changes of a failed batch, still pending, come first.
      const reader = new GroupReader(connection, { stream: CHANGES, group: GROUP, consumer, count: BATCH, blockMs: 1_000, claimIdleMs: 60_000 });
      return defer(() => reader.next()).pipe(
        concatMap((changes) => (changes.length === 0 ? of(undefined) : defer(async () => {
          await store.insert('alerts_raw', changes.map(toRow));
          await redis.xAck(CHANGES, GROUP, changes.map((c) => c.id));
        }))),
        repeat({ delay: () => (this.#stopped ? EMPTY : of(0)) }),
      );
    }).pipe(
      // ClickHouse or Redis away: the same changes are read again (they stay pending) after a backoff.
      retry({ delay: (error: Error, count) => waitAfterFailure('history: writing alert changes', error, count, { policy, log }) }),
      ignoreElements(),
    ).subscribe();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running?.unsubscribe();
    await this.#connection?.close().catch(() => undefined);
  }
}

/** A change entry (the alert's fields and `change`) as an `alerts_raw` row. */
function toRow({ message: m }: GroupEntry) {
  const dateTime = (iso: string | undefined) => (iso ?? '1970-01-01T00:00:00Z').slice(0, 19).replace('T', ' ');
  return {
    alert_id: m.id, change: m.change, changed_at: dateTime(m.lastChangedAt), changed_at_unix_ms: Date.parse(m.lastChangedAt ?? '') || 0,
    rule: m.rule, key: m.key, severity: m.severity, state: m.state, value: Number(m.value), message: m.message ?? '',
    first_fired_at: dateTime(m.firstFiredAt), acknowledged_by: m.acknowledgedBy ?? '', note: m.note ?? '',
  };
}
