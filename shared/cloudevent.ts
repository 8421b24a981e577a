/**
 * The CloudEvents 1.0 envelope as EventDeck accepts it (DESIGN.md section 3).
 * Pure data and pure functions: runs unchanged in Node and in the browser.
 */
import { parseTime } from './time.ts';

/** A JSON object: the only `data` EventDeck accepts. */
export type JsonObject = { [key: string]: unknown };

/** One accepted CloudEvent, after normalisation (dataversion and partitionkey always set). */
export interface CloudEvent<D extends JsonObject = JsonObject> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  /** RFC 3339 business time of the fact. */
  time: string;
  data: D;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  /** Version of the type's data schema; 1 when the producer leaves it out. */
  dataversion: number;
  correlationid?: string;
  causationid?: string;
  traceparent?: string;
  tracestate?: string;
  /** The key that chose the partition (computed by ingest from the type's rule). */
  partitionkey: string;
  /** Any other extension attribute the producer sent. */
  [extension: string]: unknown;
}

/** Attributes every event must carry. */
export const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'time', 'data'] as const;

/** Attributes whose values are strings in the envelope. */
export const STRING_ATTRIBUTES = [
  'id', 'source', 'type', 'time', 'subject', 'datacontenttype', 'dataschema',
  'correlationid', 'causationid', 'traceparent', 'tracestate', 'partitionkey',
] as const;

/**
 * JSON Schema of the envelope. Data is checked separately against the registry,
 * so problems point at `/data/...` of the type's own schema.
 */
export const envelopeSchema = {
  $id: 'eventdeck:envelope',
  type: 'object',
  required: [...REQUIRED_ATTRIBUTES],
  properties: {
    specversion: { const: '1.0' },
    id: { type: 'string', minLength: 1, maxLength: 256 },
    source: { type: 'string', minLength: 1, maxLength: 1024 },
    type: { type: 'string', minLength: 1, maxLength: 256 },
    time: { type: 'string', format: 'date-time' },
    data: { type: 'object' },
    subject: { type: 'string', minLength: 1, maxLength: 512 },
    datacontenttype: { type: 'string', pattern: '^application/json(\\s*;.*)?$' },
    dataschema: { type: 'string', minLength: 1 },
    dataversion: { type: 'integer', minimum: 1 },
    correlationid: { type: 'string', minLength: 1, maxLength: 256 },
    causationid: { type: 'string', minLength: 1, maxLength: 256 },
    traceparent: { type: 'string', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
    tracestate: { type: 'string' },
    partitionkey: { type: 'string', minLength: 1, maxLength: 512 },
  },
  // CloudEvents: extension names are lower-case letters and digits, at most 20 characters.
  propertyNames: { pattern: '^[a-z0-9]{1,20}$' },
} as const;

/**
 * The identity of an event: source + id. Length-prefixed so that no two
 * different pairs give the same key, whatever characters they hold.
 */
export function eventKey(event: Pick<CloudEvent, 'source' | 'id'>): string {
  return `${event.source.length}:${event.source}${event.id}`;
}

/** Milliseconds since the epoch of the event's business time. */
export function eventTimeMs(event: Pick<CloudEvent, 'time'>): number {
  return parseTime(event.time);
}

/** What a value marked `x-sensitive` reads as wherever EventDeck shows event data. */
export const MASKED = '•••';
