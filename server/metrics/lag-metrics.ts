/**
 * Lag gauges, refreshed from Redis once per scrape (lag-reader.ts). The read
 * has a deadline: a slow or absent Redis makes /metrics answer without the lag
 * series and with eventdeck_metrics_redis_up 0, never hang. Scrapes that come
 * while a read is running share it.
 */
import { Gauge, type Registry as MetricsRegistry } from 'prom-client';
import type { RedisClient } from '../../platform/redis/client.ts';
import { readLag, type LagQuery, type LagReading } from '../pipeline/lag-reader.ts';
import { within } from '../../platform/async/within.ts';

/** The read did not finish in time; its late answer is dropped. */
export class RedisReadTimeoutError extends Error {
  override readonly name = 'RedisReadTimeoutError';
  readonly code = 'EVENTDECK_METRICS_REDIS_TIMEOUT';
}

export interface LagMetricsOptions {
  redis: RedisClient;
  query: Omit<LagQuery, 'now'>;
  timeoutMs: number;
  now: () => number;
  log: (line: string) => void;
}

export class LagMetrics {
  readonly #options: LagMetricsOptions;
  readonly #up: Gauge;
  readonly #readSeconds: Gauge;
  readonly #groupEntries: Gauge<'group'>;
  readonly #groupPending: Gauge<'group'>;
  readonly #groupSeconds: Gauge<'group'>;
  readonly #projectionEntries?: Gauge<'projection'>;
  readonly #projectionSeconds?: Gauge<'projection'>;
  readonly #deadLetters: Gauge<'projection'>;
  #reading?: Promise<void>;
  #failing = false;

  constructor(metrics: MetricsRegistry, options: LagMetricsOptions) {
    this.#options = options;
    const registers = [metrics];
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Gauge<L>({ name, help, labelNames, registers });
    this.#up = gauge('eventdeck_metrics_redis_up', 'Whether the Redis reads of this scrape (lag, dead letters) answered in time: 1 yes, 0 no (those series are then missing).');
    this.#readSeconds = gauge('eventdeck_metrics_redis_read_duration_seconds', 'How long the Redis reads of this scrape took.');
    this.#groupEntries = gauge('eventdeck_consumer_group_lag_entries',
      'Entries of the partition streams the group has not acknowledged (not yet delivered, or pending), over all partitions.', ['group']);
    this.#groupPending = gauge('eventdeck_consumer_group_pending_entries',
      'Entries delivered to a consumer of the group and not yet acknowledged, over all partitions.', ['group']);
    this.#groupSeconds = gauge('eventdeck_consumer_group_lag_seconds',
      'Age of the oldest entry the group has not acknowledged, the largest over partitions; 0 when caught up.', ['group']);
    if (options.query.projections.length > 0) {
      this.#projectionEntries = gauge('eventdeck_projection_lag_entries',
        'Entries after the projection\'s checkpoint (not yet applied to its read model), over all partitions.', ['projection']);
      this.#projectionSeconds = gauge('eventdeck_projection_lag_seconds',
        'Age of the oldest entry the projection has not applied, the largest over partitions; 0 when caught up.', ['projection']);
    }
    this.#deadLetters = gauge('eventdeck_dead_letter_entries',
      'Entries in the dead-letter stream eventdeck:dlq:<projection> ("history": the history writer\'s).', ['projection']);
  }

  /** Reads the lag once for this scrape (or joins the read in flight); never rejects. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #read(): Promise<void> {
    const { redis, query, timeoutMs, now, log } = this.#options;
    const started = performance.now();
    try {
      this.#set(await deadline(readLag(redis, { ...query, now: now() }), timeoutMs));
      this.#up.set(1);
      if (this.#failing) log('metrics: Redis answers the lag reads again');
      this.#failing = false;
    } catch (error) {
      // Stale lag would look current: the series go until Redis answers again.
      for (const gauge of [this.#groupEntries, this.#groupPending, this.#groupSeconds, this.#projectionEntries, this.#projectionSeconds, this.#deadLetters]) gauge?.reset();
      this.#up.set(0);
      if (!this.#failing) log(`metrics: reading the lag from Redis failed, /metrics answers without it: ${(error as Error).message}`);
      this.#failing = true;
    } finally {
      this.#readSeconds.set((performance.now() - started) / 1000);
    }
  }

  #set(reading: LagReading): void {
    for (const [group, lag] of reading.groups) {
      this.#groupEntries.set({ group }, lag.entries);
      this.#groupPending.set({ group }, lag.pending);
      this.#groupSeconds.set({ group }, lag.seconds);
    }
    for (const [projection, lag] of reading.projections) {
      this.#projectionEntries?.set({ projection }, lag.entries);
      this.#projectionSeconds?.set({ projection }, lag.seconds);
    }
    for (const [projection, entries] of reading.deadLetters) this.#deadLetters.set({ projection }, entries);
  }
}

async function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
  const outcome = await within(work, ms);
  if (!outcome.settled) throw new RedisReadTimeoutError(`Redis did not answer within ${ms} ms`);
  return outcome.value;
}
