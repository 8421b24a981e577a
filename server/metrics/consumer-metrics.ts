/**
 * What the consumer groups did, from the batches they report: batch sizes,
 * dead letters, retried ClickHouse inserts, and how long an event took from
 * ingest to the read models (projector role) or to the history (history role).
 * The shapes are structural: server/ may not import projections/ (the
 * projector's BatchCommitted matches CommittedBatch).
 */
import { Counter, Histogram, type Registry as MetricsRegistry } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import { CONSUMER_GROUPS, type ConsumerGroup } from '../../shared/streams.ts';

/** One batch a group committed and acknowledged. */
export interface CommittedBatch {
  entries: number;
  deadLettered: number;
  /** ms from ingest acceptance to commit, one per entry. */
  latenciesMs: readonly number[];
}

/** One batch the projector committed: also how many commits failed and were tried again. */
export interface ProjectedBatch extends CommittedBatch {
  retries: number;
}

/** One batch the history writer stored and acknowledged. */
export interface StoredBatch extends CommittedBatch {
  /** Inserts that failed before the batch was stored. */
  failedInserts: number;
  /** Each insert that stored rows: its table and how long ClickHouse took (ms). */
  inserts: ReadonlyArray<{ table: string; ms: number }>;
}

/** From 5 ms (an idle bus) to 10 min (a group catching up after an outage). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class ConsumerMetrics {
  readonly #registers: MetricsRegistry[];
  readonly #subscriptions: Subscription[] = [];
  readonly #batchEntries: Histogram<'group'>;
  readonly #deadLettered: Counter<'group'>;

  constructor(metrics: MetricsRegistry) {
    this.#registers = [metrics];
    this.#batchEntries = new Histogram({
      name: 'eventdeck_batch_entries',
      help: 'Stream entries per batch a consumer group committed and acknowledged, by group (live, history).',
      labelNames: ['group'], registers: this.#registers,
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
    });
    this.#deadLettered = new Counter({
      name: 'eventdeck_dead_lettered_total',
      help: 'Events a consumer group gave up on and moved to a dead-letter stream, by group (live: summed over projections).',
      labelNames: ['group'], registers: this.#registers,
    });
  }

  /** The projector's committed batches (the "live" group). */
  watchProjector(committed$: Observable<ProjectedBatch>): void {
    const toReadModel = new Histogram({
      name: 'eventdeck_event_to_read_model_seconds',
      help: 'Time from ingest accepting an event to the read models holding it (commit of its batch), one per committed entry.',
      registers: this.#registers, buckets: LATENCY_BUCKETS,
    });
    const retries = new Counter({
      name: 'eventdeck_projection_commit_retries_total',
      help: 'Commits of a projection\'s batch that failed (the projection threw, or Redis failed) and were tried again after a backoff.',
      registers: this.#registers,
    });
    this.#zero(CONSUMER_GROUPS.live);
    this.#subscriptions.push(committed$.subscribe((batch) => {
      this.#batch(CONSUMER_GROUPS.live, batch);
      retries.inc(batch.retries);
      for (const ms of batch.latenciesMs) toReadModel.observe(seconds(ms));
    }));
  }

  /** The history writer's stored batches (the "history" group). */
  watchHistory(stored$: Observable<StoredBatch>): void {
    const toHistory = new Histogram({
      name: 'eventdeck_event_to_history_seconds',
      help: 'Time from ingest accepting an event to ClickHouse holding it (acknowledgement of its batch), one per stored event.',
      registers: this.#registers, buckets: LATENCY_BUCKETS,
    });
    const retries = new Counter({
      name: 'eventdeck_history_insert_retries_total',
      help: 'ClickHouse inserts of the history writer that failed and were tried again.',
      registers: this.#registers,
    });
    const insertSeconds = new Histogram({
      name: 'eventdeck_clickhouse_insert_duration_seconds',
      help: 'Time ClickHouse took to store one insert of the history writer (one table and month of a batch), by table.',
      labelNames: ['table'], registers: this.#registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.#zero(CONSUMER_GROUPS.history);
    this.#subscriptions.push(stored$.subscribe((batch) => {
      this.#batch(CONSUMER_GROUPS.history, batch);
      retries.inc(batch.failedInserts);
      for (const { table, ms } of batch.inserts) insertSeconds.observe({ table }, ms / 1000);
      for (const ms of batch.latenciesMs) toHistory.observe(seconds(ms));
    }));
  }

  close(): void {
    for (const subscription of this.#subscriptions.splice(0)) subscription.unsubscribe();
  }

  /** The group's series exist from the start, so rate() sees the first batch. */
  #zero(group: ConsumerGroup): void {
    this.#batchEntries.zero({ group });
    this.#deadLettered.inc({ group }, 0);
  }

  #batch(group: ConsumerGroup, batch: CommittedBatch): void {
    this.#batchEntries.observe({ group }, batch.entries);
    this.#deadLettered.inc({ group }, batch.deadLettered);
  }
}

/** Clocks of two hosts may disagree a little: a latency is never negative. */
function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}
