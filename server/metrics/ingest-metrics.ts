/**
 * Ingest's metrics (api role): events accepted, duplicate and rejected by
 * type and source, and how long POST /api/events takes. Type and source are
 * bounded (label-values.ts); order ids and event ids are never labels.
 */
import { Counter, Histogram, type Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../../shared/registry.ts';
import type { IngestObserver, RejectReason } from '../ingest/routes.ts';
import { BoundedLabel, typeLabel } from './label-values.ts';

/** Distinct sources that get a label of their own; later ones are counted as "other". */
const MAX_SOURCES = 100;
/** A longer source (a URI with an id in it, say) is counted as "other". */
const MAX_SOURCE_LENGTH = 64;

type EventLabels = 'type' | 'source';

export class IngestMetrics implements IngestObserver {
  readonly #registry: Registry;
  readonly #sources = new BoundedLabel(MAX_SOURCES, MAX_SOURCE_LENGTH);
  readonly #accepted: Counter<EventLabels>;
  readonly #duplicate: Counter<EventLabels>;
  readonly #rejected: Counter<EventLabels | 'reason'>;
  readonly #duration: Histogram<'code'>;

  constructor(metrics: MetricsRegistry, registry: Registry) {
    this.#registry = registry;
    const registers = [metrics];
    this.#accepted = new Counter({
      name: 'eventdeck_ingest_events_accepted_total',
      help: 'Events appended to the bus, by type and source ("other": unregistered type, or a source past the label bounds).',
      labelNames: ['type', 'source'], registers,
    });
    this.#duplicate = new Counter({
      name: 'eventdeck_ingest_events_duplicate_total',
      help: 'Events received again (same source and id) and not appended, by type and source.',
      labelNames: ['type', 'source'], registers,
    });
    this.#rejected = new Counter({
      name: 'eventdeck_ingest_events_rejected_total',
      help: 'Events of refused requests, none appended, by type, source and reason (invalid, with_invalid, too_large, unavailable).',
      labelNames: ['type', 'source', 'reason'], registers,
    });
    this.#duration = new Histogram({
      name: 'eventdeck_ingest_request_duration_seconds',
      help: 'Time from receiving POST /api/events to its answer, by HTTP status code.',
      labelNames: ['code'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
  }

  request(): (status: number) => void {
    const end = this.#duration.startTimer();
    return (status) => end({ code: String(status) });
  }

  appended(events: readonly { type: string; source: string }[], duplicate: readonly boolean[]): void {
    // One increment per label pair, not per event: a batch of 1,000 events is a handful of series.
    const accepted = new Map<string, number>();
    const duplicates = new Map<string, number>();
    events.forEach((event, i) => tally(duplicate[i] ? duplicates : accepted, this.#labels(event)));
    for (const [key, n] of accepted) this.#accepted.inc(unkey(key), n);
    for (const [key, n] of duplicates) this.#duplicate.inc(unkey(key), n);
  }

  refused(events: readonly unknown[], reason: (index: number) => RejectReason): void {
    const counts = new Map<string, number>();
    events.forEach((event, i) => tally(counts, `${this.#labels(event)}\n${reason(i)}`));
    for (const [key, n] of counts) {
      const [type, source, why] = key.split('\n') as [string, string, string];
      this.#rejected.inc({ type, source, reason: why }, n);
    }
  }

  /** "type\nsource" as one map key: neither label can hold a newline (registered type names; BoundedLabel). */
  #labels(event: unknown): string {
    const { type, source } = (typeof event === 'object' && event !== null ? event : {}) as { type?: unknown; source?: unknown };
    return `${typeLabel(this.#registry, type)}\n${this.#sources.of(source)}`;
  }
}

function tally(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function unkey(key: string): { type: string; source: string } {
  const [type, source] = key.split('\n') as [string, string];
  return { type, source };
}
