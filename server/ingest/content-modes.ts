/**
 * Turns a POST /api/events request into a list of raw events, by the
 * CloudEvents HTTP content modes: structured, batch, binary, and NDJSON.
 * Nothing is validated here but the framing; see validate-events.ts.
 */
import { ProblemError } from '../http/problem.ts';
import { parseJsonArray } from './json-array.ts';

export type ContentMode = 'structured' | 'batch' | 'binary' | 'ndjson';

export interface RawEvents {
  mode: ContentMode;
  events: unknown[];
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const NDJSON = 'application/x-ndjson';
const JSON_TYPE = 'application/json';

/** The media type without parameters, lower-cased. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** UTF-8, a leading byte order mark dropped and malformed bytes replaced, as Request.text() reads a body. */
const utf8 = new TextDecoder();

/** `bytes`: the request body. */
export function readEvents(contentType: string | undefined, headers: Headers, bytes: Buffer): RawEvents {
  const type = mediaType(contentType);
  const binary = headers.has('ce-specversion');
  const body = () => utf8.decode(bytes);
  if (type === STRUCTURED) return { mode: 'structured', events: [parseJson(body(), 'the structured event')] };
  if (type === BATCH) {
    // Element by element where the framing is plain; the whole text otherwise, for JSON.parse's own error.
    const batch = parseJsonArray(bytes) ?? parseJson(body(), 'the batch');
    if (!Array.isArray(batch)) {
      throw new ProblemError('badRequest', 400, 'A batch (application/cloudevents-batch+json) must be a JSON array of events.');
    }
    return { mode: 'batch', events: batch };
  }
  if (type === NDJSON) return { mode: 'ndjson', events: parseNdjson(body()) };
  if (binary && (type === JSON_TYPE || type.endsWith('+json'))) {
    return { mode: 'binary', events: [binaryEvent(headers, contentType!, parseJson(body(), 'the event data'))] };
  }
  if (type === JSON_TYPE) {
    throw new ProblemError('badRequest', 400,
      'application/json is binary mode and needs the ce-specversion, ce-id, ce-source, ce-type and ce-time headers; ' +
      `to send the whole event as JSON use ${STRUCTURED}.`);
  }
  throw new ProblemError('unsupportedMediaType', 415,
    `Content type "${type || '(none)'}" is not accepted. Send ${STRUCTURED}, ${BATCH}, ${NDJSON}, ` +
    `or binary mode (${JSON_TYPE} data with ce-* headers).`,
    { accepted: [STRUCTURED, BATCH, NDJSON, JSON_TYPE] });
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ProblemError('badRequest', 400, `${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseNdjson(body: string): unknown[] {
  const events: unknown[] = [];
  const lines = body.split('\n');
  for (let line = 0; line < lines.length; line++) {
    const text = lines[line]!.trim();
    if (text === '') continue;
    try {
      events.push(JSON.parse(text));
    } catch (error) {
      throw new ProblemError('badRequest', 400, `NDJSON line ${line + 1} is not valid JSON: ${(error as Error).message}`, {
        errors: [{ index: events.length, pointer: '', detail: `line ${line + 1} is not valid JSON` }],
      });
    }
  }
  return events;
}

/** Binary mode: attributes in ce-* headers (percent-encoded), data in the body. */
function binaryEvent(headers: Headers, contentType: string, data: unknown): Record<string, unknown> {
  const event: Record<string, unknown> = { datacontenttype: contentType };
  headers.forEach((value, name) => {
    if (!name.startsWith('ce-')) return;
    const attribute = name.slice(3);
    const text = safeDecode(value);
    // Header values are strings; dataversion is the one integer attribute.
    event[attribute] = attribute === 'dataversion' && /^\d+$/.test(text) ? Number(text) : text;
  });
  event.data = data;
  return event;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // not percent-encoded after all: keep it as sent
  }
}
