/**
 * Reads the dead-letter streams (`eventdeck:dlq:<queue>`, fields event, error,
 * attempts, streamId, partition, failedAt; webhooks: url instead of partition)
 * as the workbench shows them: masked (mask-sensitive.ts), grouped by error,
 * paged, and selected for an action.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import type {
  DeadLetterDetail, DeadLetterGroup, DeadLetterPage, DeadLetterSelector, DeadLetterSummary,
} from '../../shared/dead-letters.ts';
import type { Registry } from '../../shared/registry.ts';
import { deadLetterKey } from '../../shared/streams.ts';
import { blotOut, maskEvent } from '../registry/mask-sensitive.ts';

/** Entries grouped by error at most (the newest): a stream of millions is summed up by its latest. */
export const MAX_GROUPED = 10_000;
/** Entries one action takes at most; the answer says how many more the selector matched. */
export const MAX_PER_ACTION = 500;
const READ_CHUNK = 1_000;

/** A dead letter as stored, and as the workbench shows it. */
export interface DeadLetter {
  summary: DeadLetterSummary;
  /** The stored event text, unmasked: for re-driving only, never for an answer. */
  raw: string;
  /** The event parsed and masked; undefined when it is not JSON. */
  maskedEvent: unknown;
  /** The sensitive values masked in it (to keep them out of any text about it). */
  hidden: string[];
}

export interface Selection {
  letters: DeadLetter[];
  /** Matched beyond MAX_PER_ACTION. */
  more: number;
  /** Ids asked for that are not in the stream. */
  missing: string[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export class DeadLetterReader {
  constructor(private readonly redis: RedisClient, private readonly registry: Registry) {}

  count(queue: string): Promise<number> {
    return this.redis.xLen(deadLetterKey(queue));
  }

  /** Groups by error of the newest MAX_GROUPED entries, most first. */
  async groups(queue: string): Promise<{ count: number; groups: DeadLetterGroup[]; partial: boolean }> {
    const count = await this.count(queue);
    const groups = new Map<string, DeadLetterGroup & { typeSet: Set<string> }>();
    let seen = 0;
    let before = '+';
    while (seen < MAX_GROUPED) {
      const entries = await this.redis.xRevRange(deadLetterKey(queue), before, '-', { COUNT: Math.min(READ_CHUNK, MAX_GROUPED - seen) });
      if (entries.length === 0) break;
      for (const entry of entries) {
        const { summary } = this.#parse(entry.id, entry.message);
        let group = groups.get(summary.error);
        if (!group) {
          groups.set(summary.error, (group = {
            error: summary.error, count: 0, firstFailedAt: summary.failedAt, lastFailedAt: summary.failedAt, types: [], typeSet: new Set(),
          }));
        }
        group.count++;
        if (summary.failedAt < group.firstFailedAt) group.firstFailedAt = summary.failedAt;
        if (summary.failedAt > group.lastFailedAt) group.lastFailedAt = summary.failedAt;
        if (summary.type) group.typeSet.add(summary.type);
      }
      seen += entries.length;
      before = `(${entries[entries.length - 1]!.id}`;
    }
    const list = [...groups.values()]
      .map(({ typeSet, ...group }) => ({ ...group, types: [...typeSet].sort() }))
      .sort((a, b) => b.count - a.count || (a.firstFailedAt < b.firstFailedAt ? -1 : 1));
    return { count, groups: list, partial: count > seen };
  }

  /** A page of entries, oldest first, after `after` (exclusive), of one error if given. */
  async page(queue: string, options: { error?: string; after?: string; limit: number }): Promise<DeadLetterPage> {
    const entries: DeadLetterSummary[] = [];
    let start = options.after ? `(${options.after}` : '-';
    let next: string | null = null;
    scan: for (;;) {
      const chunk = await this.redis.xRange(deadLetterKey(queue), start, '+', { COUNT: READ_CHUNK });
      for (const entry of chunk) {
        const { summary } = this.#parse(entry.id, entry.message);
        if (options.error !== undefined && summary.error !== options.error) continue;
        if (entries.length === options.limit) {
          next = entries[entries.length - 1]!.id;
          break scan;
        }
        entries.push(summary);
      }
      if (chunk.length < READ_CHUNK) break;
      start = `(${chunk[chunk.length - 1]!.id}`;
    }
    return { queue, error: options.error ?? null, count: await this.count(queue), entries, next };
  }

  async get(queue: string, id: string): Promise<DeadLetter | undefined> {
    const [entry] = await this.redis.xRange(deadLetterKey(queue), id, id);
    return entry ? this.#parse(entry.id, entry.message) : undefined;
  }

  detail(queue: string, letter: DeadLetter): DeadLetterDetail {
    return { queue, ...letter.summary, event: letter.maskedEvent ?? null, eventLength: letter.raw.length, masked: letter.hidden.length > 0 };
  }

  /** The dead letters a selector names, oldest first, at most MAX_PER_ACTION of them. */
  async select(queue: string, selector: DeadLetterSelector): Promise<Selection> {
    if ('ids' in selector) {
      const found = await Promise.all(selector.ids.map((id) => this.get(queue, id)));
      const letters = found.filter((l): l is DeadLetter => l !== undefined);
      const missing = selector.ids.filter((_, i) => found[i] === undefined);
      return { letters: letters.slice(0, MAX_PER_ACTION), more: Math.max(0, letters.length - MAX_PER_ACTION), missing };
    }
    const letters: DeadLetter[] = [];
    let more = 0;
    let start = '-';
    for (;;) {
      const chunk = await this.redis.xRange(deadLetterKey(queue), start, '+', { COUNT: READ_CHUNK });
      for (const entry of chunk) {
        const letter = this.#parse(entry.id, entry.message);
        if ('error' in selector && letter.summary.error !== selector.error) continue;
        if (letters.length < MAX_PER_ACTION) letters.push(letter);
        else more++;
      }
      if (chunk.length < READ_CHUNK) break;
      start = `(${chunk[chunk.length - 1]!.id}`;
    }
    return { letters, more, missing: [] };
  }

  #parse(id: string, fields: Record<string, string>): DeadLetter {
    const raw = fields.event ?? '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined; // SyntaxError: not JSON, so nothing in it can be told apart from personal data
    }
    let maskedEvent: unknown = parsed;
    let hidden: string[] = [];
    if (isObject(parsed) && typeof parsed.type === 'string' && isObject(parsed.data)) {
      const masked = maskEvent(this.registry, parsed as CloudEvent);
      maskedEvent = masked.value;
      hidden = masked.hidden;
    }
    const event = isObject(parsed) ? parsed : {};
    const failedAtMs = Number(fields.failedAt);
    const partition = fields.partition === undefined || fields.partition === '' ? null : Number(fields.partition);
    const summary: DeadLetterSummary = {
      id,
      error: blotOut(fields.error ?? '', hidden),
      attempts: Number(fields.attempts ?? 0) || 0,
      streamId: fields.streamId ?? '',
      partition: partition !== null && Number.isInteger(partition) ? partition : null,
      failedAt: new Date(Number.isFinite(failedAtMs) ? failedAtMs : 0).toISOString(),
      type: text(event.type),
      source: text(event.source),
      eventId: text(event.id),
      subject: text(event.subject) === null ? null : blotOut(text(event.subject)!, hidden),
      ...(fields.url !== undefined ? { url: fields.url } : {}),
    };
    return { summary, raw, maskedEvent, hidden };
  }
}
