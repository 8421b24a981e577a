/**
 * What the history group does with one batch of a partition, decided before
 * any I/O (pure): each entry becomes an `events` row or, if it can never be
 * stored, a dead letter; rows are grouped by the month of their time (the
 * table's partition key), so that each insert writes one ClickHouse partition.
 *
 * Events are stored as ingest accepted them, not upcast: the event store keeps
 * what producers sent (with its dataversion); upcasting is for readers.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { ENTRY_FIELDS } from '../../shared/streams.ts';
import type { StreamEntry } from './consumer-engine.ts';
import { EventTimeOutOfRangeError, toEventRow, type EventRow } from './event-row.ts';

export interface DeadLetter {
  entry: StreamEntry;
  /** Why it can never be stored. */
  error: string;
}

export interface HistoryBatch {
  partition: number;
  /** One insert per month (the `events` partition), oldest first; rows in stream order. */
  inserts: Array<{ month: string; rows: EventRow[] }>;
  deadLetters: DeadLetter[];
  /** Every entry id of the batch, to acknowledge once it is stored. */
  ids: string[];
  /** When ingest accepted each stored event, ms since the epoch (for latency metrics). */
  acceptedAt: number[];
}

export function planHistoryBatch(partition: number, entries: readonly StreamEntry[]): HistoryBatch {
  const months = new Map<string, EventRow[]>();
  const deadLetters: DeadLetter[] = [];
  const acceptedAt: number[] = [];
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (!parsed.ok) {
      deadLetters.push({ entry, error: parsed.error });
      continue;
    }
    const row = toRow(parsed.event, partition, entry.id, parsed.acceptedAt);
    if (!row.ok) {
      deadLetters.push({ entry, error: row.error });
      continue;
    }
    const month = row.row.time.slice(0, 7); // "YYYY-MM", as toYYYYMM(time) partitions
    const rows = months.get(month) ?? [];
    rows.push(row.row);
    months.set(month, rows);
    acceptedAt.push(parsed.acceptedAt);
  }
  const inserts = [...months].sort(([a], [b]) => a.localeCompare(b)).map(([month, rows]) => ({ month, rows }));
  return { partition, inserts, deadLetters, ids: entries.map((e) => e.id), acceptedAt };
}

type Parsed = { ok: true; event: CloudEvent; acceptedAt: number } | { ok: false; error: string };

/** The entry's event, if it has what a row needs. Ingest validated it; a direct XADD may not have. */
function parseEntry(entry: StreamEntry): Parsed {
  const raw = entry.message[ENTRY_FIELDS.event];
  if (raw === undefined) return { ok: false, error: `entry has no "${ENTRY_FIELDS.event}" field` };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, error: `cannot decode the entry: ${(error as SyntaxError).message}` };
  }
  const problem = envelopeProblem(value);
  if (problem) return { ok: false, error: `not a storable CloudEvent: ${problem}` };
  const acceptedAt = Number(entry.message[ENTRY_FIELDS.acceptedAt] ?? 0);
  return { ok: true, event: value as CloudEvent, acceptedAt: Number.isSafeInteger(acceptedAt) && acceptedAt >= 0 ? acceptedAt : 0 };
}

function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const event = value as Record<string, unknown>;
  for (const name of ['id', 'source', 'type', 'time', 'partitionkey'] as const) {
    if (typeof event[name] !== 'string' || event[name] === '') return `${name} is missing or not a string`;
  }
  const version = event.dataversion;
  if (!(Number.isInteger(version) && (version as number) >= 1 && (version as number) <= 0xffffffff)) {
    return 'dataversion is not an integer 1…2^32-1';
  }
  if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) return 'data is not a JSON object';
  return undefined;
}

function toRow(event: CloudEvent, partition: number, streamId: string, acceptedAt: number):
  { ok: true; row: EventRow } | { ok: false; error: string } {
  try {
    return { ok: true, row: toEventRow(event, { partition, streamId, acceptedAt }) };
  } catch (error) {
    // Only a time outside DateTime's range is a property of the event; anything else is a bug: let it surface.
    if (error instanceof EventTimeOutOfRangeError) return { ok: false, error: `${error.name}: ${error.message}` };
    throw error;
  }
}
