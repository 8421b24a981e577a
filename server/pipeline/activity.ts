/**
 * Pipeline activity per second, shared by every process through Redis: each
 * process counts what it did (events accepted by type, entries applied to the
 * read models with their latency, entries stored in ClickHouse) in memory and
 * adds the counts to one hash per second once a second. The pipeline view sums
 * the last two minutes of hashes, so any api process shows the whole deployment,
 * at the cost of one pipelined write per process per second, whatever the load.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { VIEW_CHANGED_CHANNEL, readModelKeys } from '../../shared/read-models.ts';
import { KEY_PREFIX } from '../../shared/streams.ts';

export const PIPELINE_VIEW = 'pipeline';

/** One hash per second of activity: `eventdeck:pipeline:activity:<seconds since the epoch>`. */
export const activityKey = (second: number): string => `${KEY_PREFIX}:pipeline:activity:${second}`;

/** The view reads two minutes back; a little more is kept for late flushes and slow readers. */
const ACTIVITY_TTL_S = 300;

/** Upper bounds (ms) of the event-to-read-model latency buckets; the last catches everything slower. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, Infinity];

/** Hash fields. */
export const activityFields = {
  accepted: (type: string) => `accepted:${type}`,
  applied: 'applied',
  stored: 'stored',
  latency: (bucket: number) => `latency:${bucket}`,
} as const;

export function latencyBucket(ms: number): number {
  let i = 0;
  while (ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

export interface ActivityRecorderOptions {
  now: () => number;
  log: (line: string) => void;
  flushEveryMs?: number;
}

export class ActivityRecorder {
  /** Counts not yet in Redis: second → field → count. */
  #counts = new Map<number, Map<string, number>>();
  #timer?: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();
  #failing = false;

  constructor(private readonly redis: RedisClient, private readonly options: ActivityRecorderOptions) {}

  start(): void {
    this.#timer = setInterval(() => void this.flush(), this.options.flushEveryMs ?? 1_000);
    this.#timer.unref();
  }

  /** Events ingest appended (an IngestObserver); duplicates are not activity. */
  appended(events: readonly { type: string }[], duplicate: readonly boolean[]): void {
    const second = this.#second();
    events.forEach((event, i) => duplicate[i] || this.#add(second, activityFields.accepted(event.type), 1));
  }

  /** A batch the live group committed, with each entry's latency from acceptance (ms). */
  applied(batch: { entries: number; latenciesMs: readonly number[] }): void {
    const second = this.#second();
    this.#add(second, activityFields.applied, batch.entries);
    for (const ms of batch.latenciesMs) this.#add(second, activityFields.latency(latencyBucket(ms)), 1);
  }

  /** A batch the history group stored. */
  stored(batch: { entries: number }): void {
    this.#add(this.#second(), activityFields.stored, batch.entries);
  }

  /** Adds the counts so far to Redis; one flush at a time. Counts that fail to go are kept for the next one. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flush());
    return this.#flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  async #flush(): Promise<void> {
    if (this.#counts.size === 0) return;
    const counts = this.#counts;
    this.#counts = new Map();
    const batch = this.redis.multi();
    for (const [second, fields] of counts) {
      const key = activityKey(second);
      for (const [field, n] of fields) batch.hIncrBy(key, field, n);
      batch.expire(key, ACTIVITY_TTL_S);
    }
    batch.incr(readModelKeys.viewVersion(PIPELINE_VIEW));
    batch.publish(VIEW_CHANGED_CHANNEL, PIPELINE_VIEW);
    try {
      // Not atomic on purpose: the hashes live in different slots of a cluster.
      await batch.execAsPipeline();
      if (this.#failing) this.options.log('pipeline: activity is written to Redis again');
      this.#failing = false;
    } catch (error) {
      // Keep the counts that are still worth showing for the next flush (a partly applied pipeline
      // may count some twice: this is a gauge for people, not a ledger).
      const oldest = this.#second() - ACTIVITY_TTL_S;
      for (const [second, fields] of counts) if (second > oldest) for (const [field, n] of fields) this.#add(second, field, n);
      if (!this.#failing) this.options.log(`pipeline: writing activity to Redis failed, keeping it for later: ${(error as Error).message}`);
      this.#failing = true;
    }
  }

  #second(): number {
    return Math.floor(this.options.now() / 1000);
  }

  #add(second: number, field: string, n: number): void {
    if (n === 0) return;
    let fields = this.#counts.get(second);
    if (!fields) this.#counts.set(second, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + n);
  }
}
