/**
 * Re-drives a dead letter into the one projection that gave up on it, once the
 * cause is gone (an upcaster that now fills a missing field, a fixed projection).
 *
 * Not by appending the event to its partition again: the other projections
 * applied it already, and counters (inventory, kpi) dedupe only by checkpoint,
 * so they would count it twice. Instead the event is decoded and upcast with
 * today's registry, planned by the same pure step as a batch (planBatch), and
 * committed by one script that, atomically:
 *
 * - does nothing if the dead letter is gone (discarded or re-driven meanwhile);
 * - if the event's identity (source + id) is in the projection's set of
 *   re-driven events, only removes the dead letter: it was applied already;
 * - otherwise writes the projection's changes, adds the identity to that set
 *   and removes the dead letter.
 *
 * Keyed projections rewrite whole documents, so the script also checks that
 * every document is still what was planned against (else: plan again) and that
 * the live group has no batch of that partition in flight (its pending list is
 * empty): a batch read before the script and committed after it would write
 * documents planned without the re-driven event. Counter changes commute and need neither.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import { eventKey } from '../../shared/cloudevent.ts';
import { readModelKeys, VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import type { Registry } from '../../shared/registry.ts';
import { CONSUMER_GROUPS, deadLetterKey, ENTRY_FIELDS, KEY_PREFIX, streamKey } from '../../shared/streams.ts';
import type { Projection } from '../projection.ts';
import { COMMIT_COMMANDS, CommitWrites } from './commit-writes.ts';
import { decode } from './decode.ts';
import { documentKeys, planBatch } from './plan-batch.ts';

/** SET of the identities (eventKey: source + id) of the events re-driven into a projection. */
export function redrivenKey(projection: string): string {
  // Not under `eventdeck:dlq:`: whatever scans the dead-letter streams by that prefix must not find a SET.
  return `${KEY_PREFIX}:dlq-redriven:${projection}`;
}

/** A dead letter as the projection's dead-letter stream holds it. */
export interface DeadLetterToRedrive {
  /** Its id in `eventdeck:dlq:<projection>`. */
  entryId: string;
  /** The event as the partition stream held it (the dead letter's `event` field). */
  event: string;
  /** The partition it came from and its id there. */
  partition: number;
  streamId: string;
}

export type RedriveOutcome =
  /** The projection applied it; the dead letter is gone. */
  | { outcome: 'applied' }
  /** It was re-driven before: nothing changed but the dead letter, which is gone. */
  | { outcome: 'already-applied' }
  /** The projection still fails on it (or it still cannot be decoded): the dead letter stays. */
  | { outcome: 'failed'; error: string }
  /** No such dead letter (any more). */
  | { outcome: 'gone' }
  /** The partition kept a batch in flight for longer than we waited: nothing changed, try again. */
  | { outcome: 'busy'; error: string };

export interface RedriveOptions {
  redis: RedisClient;
  registry: Registry;
  projection: Projection;
  letter: DeadLetterToRedrive;
  /** How long to wait for a partition with a batch in flight (keyed projections); default 5 s. */
  busyWaitMs?: number;
  now?: () => number;
}

/** Plans done again at most this often when documents move under us. */
const MAX_REPLANS = 20;
const BUSY_POLL_MS = 25;

// KEYS[1] the dead-letter stream, KEYS[2] the re-driven set, KEYS[3] the partition stream, KEYS[4…] the
// documents planned against. ARGV[1] the dead letter's id, ARGV[2] the event's identity, ARGV[3] the
// group whose pending list must be empty ('' for none; '!' to only settle an event applied before), then the expected value of each document ('' for
// none), then the writes as CommitWrites lays them out. Returns what happened, as a word.
const redriveScript = new LuaScript(`
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 'gone' end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then
  redis.call('XDEL', KEYS[1], ARGV[1])
  return 'already-applied'
end
if ARGV[3] == '!' then return 'not-applied' end
if ARGV[3] ~= '' then
  local pending = redis.pcall('XPENDING', KEYS[3], ARGV[3])
  if type(pending) == 'table' and not pending.err and tonumber(pending[1]) > 0 then return 'busy' end
end
local i = 4
for k = 4, #KEYS do
  if (redis.call('GET', KEYS[k]) or '') ~= ARGV[i] then return 'moved' end
  i = i + 1
end
local allowed = {${COMMIT_COMMANDS.map((c) => `${c} = true`).join(', ')}}
local n = #ARGV
while i <= n do
  local command, count = ARGV[i], tonumber(ARGV[i + 1])
  if not allowed[command] then return redis.error_reply('redrive: unknown command ' .. tostring(command)) end
  redis.call(command, unpack(ARGV, i + 2, i + 1 + count))
  i = i + 2 + count
end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[1])
return 'applied'
`);

/** One dead letter into its projection, exactly once (see above). */
export async function redriveDeadLetter(options: RedriveOptions): Promise<RedriveOutcome> {
  const { redis, registry, projection, letter } = options;
  const delivery = decode({ id: letter.streamId, message: { [ENTRY_FIELDS.event]: letter.event, [ENTRY_FIELDS.acceptedAt]: '0' } }, registry);
  if ('decodeError' in delivery) return { outcome: 'failed', error: delivery.decodeError };
  const { event } = delivery;
  if (typeof event.source !== 'string' || typeof event.id !== 'string') {
    return { outcome: 'failed', error: 'the event has no source and id, so it cannot be re-driven exactly once' };
  }
  const identity = eventKey(event);
  const keys = [deadLetterKey(projection.name), redrivenKey(projection.name), streamKey(letter.partition)];
  // An event re-driven before is settled without planning: the projection may well fail on it now.
  if (await redis.sIsMember(keys[1]!, identity)) {
    const settled = String(await redriveScript.run(redis, keys, [letter.entryId, identity, '!']));
    if (settled === 'already-applied' || settled === 'gone') return { outcome: settled };
  }
  const keyed = projection.kind === 'keyed';
  const now = options.now ?? Date.now;
  const deadline = now() + (options.busyWaitMs ?? 5_000);

  for (let replans = 0; ; ) {
    const wanted = keyed ? documentKeys(projection, [delivery]) : new Map<string, string>();
    const redisKeys = [...wanted.values()];
    const values = redisKeys.length > 0 ? await redis.mGet(redisKeys) : [];
    const documents = new Map<string, unknown>();
    [...wanted.keys()].forEach((key, i) => {
      if (values[i]) documents.set(key, JSON.parse(values[i]!));
    });

    const plan = planBatch(projection, [delivery], documents);
    if (plan.failures.length > 0) return { outcome: 'failed', error: plan.failures[0]!.error };

    const writes = new CommitWrites();
    writes.group('MSET', [], plan.documents.flatMap((d) => [d.key, d.json]), 2);
    for (const change of plan.changes) writes.add(change);
    if (plan.documents.length > 0 || plan.changes.length > 0) {
      for (const view of projection.views) {
        writes.command('INCR', [readModelKeys.viewVersion(view)]);
        writes.command('PUBLISH', [VIEW_CHANGED_CHANNEL, view]);
      }
    }
    const done = String(await redriveScript.run(
      redis,
      [...keys, ...redisKeys],
      [letter.entryId, identity, keyed ? CONSUMER_GROUPS.live : '', ...values.map((v) => v ?? ''), ...writes.flat()],
    ));
    switch (done) {
      case 'applied':
      case 'already-applied':
      case 'gone':
        return { outcome: done };
      case 'moved':
        if (++replans >= MAX_REPLANS) return { outcome: 'busy', error: `the documents of ${projection.name} kept changing while re-driving` };
        continue;
      case 'busy':
        if (now() >= deadline) {
          return { outcome: 'busy', error: `partition ${letter.partition} of ${projection.name} kept a batch in flight; try again` };
        }
        await sleep(BUSY_POLL_MS);
        continue;
      default:
        throw new Error(`redrive: unexpected answer from the script: ${done}`);
    }
  }
}
