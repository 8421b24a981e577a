/**
 * One accepted event as a row of the `events` table (migration 1), and back.
 * Pure: the history consumer calls it with where the bus held the event.
 */
import { eventTimeMs, type CloudEvent } from '../../shared/cloudevent.ts';

/** Where an event sat on the bus when the history group read it. */
export interface StreamPosition {
  partition: number;
  /** The Redis stream entry id, "ms-seq". */
  streamId: string;
  /** When ingest accepted it, ms since the epoch. */
  acceptedAt: number;
}

/** A row of `events`, as written with JSONEachRow and as read back by `SELECT *`. */
export type EventRow = {
  id: string;
  source: string;
  type: string;
  specversion: string;
  dataversion: number;
  /** "YYYY-MM-DD hh:mm:ss" in UTC. */
  time: string;
  time_unix_ms: number;
  subject: string;
  partitionkey: string;
  correlationid: string;
  causationid: string;
  /** JSON object of the remaining attributes. */
  extensions: string;
  /** JSON object. */
  data: string;
  stream_partition: number;
  stream_id: string;
  accepted_unix_ms: number;
};

/** The range of ClickHouse's DateTime (seconds as UInt32), in ms. */
const DATETIME_MAX_MS = 0xffffffff * 1000;

/** The event's time does not fit a DateTime column (before 1970 or after 2106). */
export class EventTimeOutOfRangeError extends RangeError {
  override readonly name = 'EventTimeOutOfRangeError';
  readonly code = 'EVENTDECK_HISTORY_TIME_OUT_OF_RANGE';
}

const COLUMN_ATTRIBUTES = new Set([
  'id', 'source', 'type', 'specversion', 'dataversion', 'time', 'subject', 'partitionkey',
  'correlationid', 'causationid', 'data',
]);

export function toEventRow(event: CloudEvent, position: StreamPosition): EventRow {
  const ms = eventTimeMs(event);
  if (!(ms >= 0 && ms <= DATETIME_MAX_MS)) {
    throw new EventTimeOutOfRangeError(`event ${event.source} ${event.id}: time ${event.time} is outside 1970–2106`);
  }
  // A loop, not Object.entries/filter/fromEntries: this runs for every stored event (bench/history.ts).
  const extensions: Record<string, unknown> = {};
  for (const name in event) if (!COLUMN_ATTRIBUTES.has(name)) extensions[name] = event[name as keyof CloudEvent];
  return {
    id: event.id,
    source: event.source,
    type: event.type,
    specversion: event.specversion,
    dataversion: event.dataversion,
    time: new Date(ms).toISOString().slice(0, 19).replace('T', ' '),
    time_unix_ms: ms,
    subject: event.subject ?? '',
    partitionkey: event.partitionkey,
    correlationid: event.correlationid ?? '',
    causationid: event.causationid ?? '',
    extensions: JSON.stringify(extensions),
    data: JSON.stringify(event.data),
    stream_partition: position.partition,
    stream_id: position.streamId,
    accepted_unix_ms: position.acceptedAt,
  };
}

/**
 * The accepted event a row holds, its time in UTC with milliseconds. A rebuild
 * converts every stored event: the event is built in place, without
 * intermediate objects or a parse of the usual empty extensions.
 */
export function fromEventRow(row: EventRow): CloudEvent {
  const event = (row.extensions === '{}' ? {} : JSON.parse(row.extensions)) as Record<string, unknown>;
  event.specversion = '1.0';
  event.id = row.id;
  event.source = row.source;
  event.type = row.type;
  event.time = new Date(row.time_unix_ms).toISOString();
  event.dataversion = row.dataversion;
  event.partitionkey = row.partitionkey;
  if (row.subject !== '') event.subject = row.subject;
  if (row.correlationid !== '') event.correlationid = row.correlationid;
  if (row.causationid !== '') event.causationid = row.causationid;
  event.data = JSON.parse(row.data);
  return event as unknown as CloudEvent;
}
