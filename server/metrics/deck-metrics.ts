/**
 * The metrics of one EventDeck process, in a registry of its own (several
 * instances may share a process, as in tests; prom-client's global registry
 * is never used). A process serves what its roles do: api → ingest and live
 * hub; projector → the live group, projections and their dead letters;
 * history → the history group and its dead letters; every process → Node.js
 * and process metrics. docs/metrics.md lists them all.
 */
import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { Registry } from '../../shared/registry.ts';
import { CONSUMER_GROUPS, type ConsumerGroup } from '../../shared/streams.ts';
import type { Role } from '../config.ts';
import { ConsumerMetrics } from './consumer-metrics.ts';
import { IngestMetrics } from './ingest-metrics.ts';
import { LagMetrics } from './lag-metrics.ts';
import { LiveMetrics } from './live-metrics.ts';

/** A scrape waits this long for Redis at most (Prometheus' default scrape timeout is 10 s). */
const REDIS_READ_TIMEOUT_MS = 2_000;

/**
 * prom-client's default collectors include these gauges, whose `_total` suffix
 * is for counters only (promtool check metrics flags them); the same numbers,
 * by type, are in nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface DeckMetricsOptions {
  roles: ReadonlySet<Role>;
  /** The connection scrapes read the lag on (ingest's fail-fast one: a scrape never queues behind an outage). */
  redis: RedisClient;
  registry: Registry;
  partitions: number;
  /** Names of the projections the projector role runs. */
  projections: readonly string[];
  now: () => number;
  log: (line: string) => void;
  redisTimeoutMs?: number;
}

export class DeckMetrics {
  readonly metrics = new MetricsRegistry();
  /** With the api role. */
  readonly ingest?: IngestMetrics;
  /** With the api role. */
  readonly live?: LiveMetrics;
  /** With the projector or history role. */
  readonly consumers?: ConsumerMetrics;
  readonly #lag?: LagMetrics;

  constructor(options: DeckMetricsOptions) {
    const { roles } = options;
    collectDefaultMetrics({ register: this.metrics });
    for (const name of MISNAMED_DEFAULTS) this.metrics.removeSingleMetric(name);
    if (roles.has('api')) {
      this.ingest = new IngestMetrics(this.metrics, options.registry);
      this.live = new LiveMetrics(this.metrics);
    }
    const groups: ConsumerGroup[] = [];
    const deadLetters: string[] = [];
    if (roles.has('projector')) {
      groups.push(CONSUMER_GROUPS.live);
      deadLetters.push(...options.projections);
    }
    if (roles.has('history')) {
      groups.push(CONSUMER_GROUPS.history);
      deadLetters.push(CONSUMER_GROUPS.history);
    }
    if (groups.length > 0) {
      this.consumers = new ConsumerMetrics(this.metrics);
      this.#lag = new LagMetrics(this.metrics, {
        redis: options.redis,
        query: {
          partitions: options.partitions, groups, deadLetters,
          projections: roles.has('projector') ? options.projections : [],
        },
        timeoutMs: options.redisTimeoutMs ?? REDIS_READ_TIMEOUT_MS,
        now: options.now,
        log: options.log,
      });
    }
  }

  /** The Prometheus text exposition, with the lag read from Redis now. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    await this.#lag?.refresh();
    return { contentType: this.metrics.contentType, body: await this.metrics.metrics() };
  }

  /** Stops following the consumer groups' batches. */
  close(): void {
    this.consumers?.close();
  }
}
