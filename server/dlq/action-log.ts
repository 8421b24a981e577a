/**
 * The record of what was done to dead letters: the append-only stream
 * `eventdeck:dlq-actions`, one entry per re-drive or discard, with what, which
 * entries and how each went, the reason, who (as they said) and when.
 * A discard removes its entries and records itself in one script, so a discard
 * is never unrecorded; a re-drive is recorded once its entries are done (each
 * entry's re-drive is its own atomic step, see projections/engine/redrive.ts).
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import {
  DEAD_LETTER_ACTIONS_KEY, type DeadLetterAction, type DeadLetterActionEntry, type DeadLetterActionPage, type DeadLetterOutcome,
} from '../../shared/dead-letters.ts';
import { deadLetterKey } from '../../shared/streams.ts';

export type NewAction = Omit<DeadLetterAction, 'id' | 'counts'>;

// KEYS[1] the dead-letter stream, KEYS[2] the actions stream. ARGV[1] the action's fields but `entries`
// and `counts`, as JSON; ARGV[2] its entries as JSON (each with an `id`). Deletes each entry, marks it
// discarded (or gone, when it was not there), and appends the action. Returns the action's id and entries.
const discardScript = new LuaScript(`
local fields = cjson.decode(ARGV[1])
local entries = cjson.decode(ARGV[2])
local counts = {}
for _, entry in ipairs(entries) do
  local outcome = 'gone'
  if redis.call('XDEL', KEYS[1], entry.id) == 1 then outcome = 'discarded' end
  entry.outcome = outcome
  counts[outcome] = (counts[outcome] or 0) + 1
end
local encoded = #entries == 0 and '[]' or cjson.encode(entries)
local args = {}
for name, value in pairs(fields) do
  table.insert(args, name)
  table.insert(args, value)
end
local id = redis.call('XADD', KEYS[2], '*', 'entries', encoded, 'counts', cjson.encode(counts), unpack(args))
return {id, encoded}
`);

/** Every field is a string in the stream; objects as JSON, absent ones as ''. */
function fieldsOf(action: Omit<NewAction, 'entries'>): Record<string, string> {
  return {
    action: action.action,
    queue: action.queue,
    selector: JSON.stringify(action.selector),
    more: String(action.more),
    reason: action.reason ?? '',
    by: action.by ?? '',
    at: action.at,
  };
}

export function countOutcomes(entries: readonly DeadLetterActionEntry[]): Partial<Record<DeadLetterOutcome, number>> {
  const counts: Partial<Record<DeadLetterOutcome, number>> = {};
  for (const entry of entries) counts[entry.outcome] = (counts[entry.outcome] ?? 0) + 1;
  return counts;
}

export class ActionLog {
  constructor(private readonly redis: RedisClient) {}

  /** Appends an action whose entries are done. */
  async record(action: NewAction): Promise<DeadLetterAction> {
    const counts = countOutcomes(action.entries);
    const id = await this.redis.xAdd(DEAD_LETTER_ACTIONS_KEY, '*', {
      ...fieldsOf(action), entries: JSON.stringify(action.entries), counts: JSON.stringify(counts),
    });
    return { id, ...action, counts };
  }

  /** Removes the entries from the dead-letter stream and appends the action, in one step. */
  async discard(action: NewAction): Promise<DeadLetterAction> {
    const [id, encoded] = (await discardScript.run(this.redis, [deadLetterKey(action.queue), DEAD_LETTER_ACTIONS_KEY], [
      JSON.stringify(fieldsOf(action)), JSON.stringify(action.entries.map(({ outcome: _, ...entry }) => entry)),
    ])) as [string, string];
    const entries = (JSON.parse(encoded) as DeadLetterActionEntry[]).map(normalEntry);
    return { id, ...action, entries, counts: countOutcomes(entries) };
  }

  /** Newest first, before `before` (exclusive). */
  async list(options: { before?: string; limit: number }): Promise<DeadLetterActionPage> {
    const start = options.before ? `(${options.before}` : '+';
    const entries = await this.redis.xRevRange(DEAD_LETTER_ACTIONS_KEY, start, '-', { COUNT: options.limit + 1 });
    const actions = entries.slice(0, options.limit).map((e) => parseAction(e.id, e.message));
    return { actions, next: entries.length > options.limit ? actions[actions.length - 1]!.id : null };
  }
}

/** An entry with the fields it always has, whatever a round through Lua's cjson left out. */
function normalEntry(entry: DeadLetterActionEntry): DeadLetterActionEntry {
  return { id: entry.id, source: entry.source ?? null, eventId: entry.eventId ?? null, outcome: entry.outcome, ...(entry.error ? { error: entry.error } : {}) };
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  try {
    return text ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback; // SyntaxError: an entry written by hand; show what can be shown
  }
}

function parseAction(id: string, fields: Record<string, string>): DeadLetterAction {
  const entries = parseJson<DeadLetterActionEntry[]>(fields.entries, []);
  const counts = parseJson<DeadLetterAction['counts']>(fields.counts, countOutcomes(entries));
  return {
    id,
    action: fields.action === 'discard' ? 'discard' : 'redrive',
    queue: fields.queue ?? '',
    selector: parseJson(fields.selector, { ids: [] }),
    entries: entries.map(normalEntry),
    // cjson encodes an empty table as {}: counts of no entries.
    counts: Array.isArray(counts) ? {} : counts,
    more: Number(fields.more ?? 0) || 0,
    reason: fields.reason || null,
    by: fields.by || null,
    at: fields.at ?? new Date(Number(id.split('-')[0])).toISOString(),
  };
}
