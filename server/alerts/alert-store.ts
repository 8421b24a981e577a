/**
 * The alerts and their lifecycle, in Redis: firing → acknowledged (by someone,
 * with a note) → resolved (when the condition clears). Every transition is one
 * Lua call, so several processes evaluating the same rules, or an evaluation
 * repeated, never open an alert twice: the open alert of a (rule, key) is
 * found under its rule, and only a resolved one makes room for a new
 * occurrence (a new id). Each change bumps the `alerts` view version and
 * announces it, as projection commits do, so the live hub pushes it, and is
 * appended with the alert as it then was to the changes stream (an outbox:
 * webhooks are delivered from it, so a change is never notified twice or lost).
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import type { Alert } from '../../shared/alerts.ts';
import { readModelKeys, VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import { alertKeys, ALERTS_VIEW } from './alert-keys.ts';
import { readAlert } from './alerts-view.ts';
import type { Evaluation } from './rules.ts';

/** About how many changes the outbox stream keeps (delivered or not: undelivered ones are far fewer). */
const CHANGES_KEPT = 100_000;

// KEYS: open hash of the rule, sequence, by-change index, view version, firing set, changes stream. ARGV: alert key prefix, rule,
// severity, now (ISO), now (ms), complete ('1'/'0'), channel, view, then per observation: key, verdict, value, message.
// Returns the number of alerts changed.
const applyScript = new LuaScript(`
local prefix, rule, severity, nowIso, nowMs, complete, channel, view = unpack(ARGV, 1, 8)
local changed, seen = 0, {}
local function announce(change, id)
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', '${CHANGES_KEPT}', '*', 'change', change, unpack(redis.call('HGETALL', prefix .. id)))
end
local function resolve(key, id)
  redis.call('HSET', prefix .. id, 'state', 'resolved', 'resolvedAt', nowIso, 'lastChangedAt', nowIso)
  redis.call('HDEL', KEYS[1], key)
  redis.call('ZADD', KEYS[3], nowMs, id)
  redis.call('ZREM', KEYS[5], id)
  announce('resolved', id)
  changed = changed + 1
end
for i = 9, #ARGV, 4 do
  local key, verdict, value, message = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  seen[key] = true
  local id = redis.call('HGET', KEYS[1], key)
  if id and verdict ~= 'clear' then
    -- Open and still (or maybe) on: keep it, with the value measured now.
    if redis.call('HGET', prefix .. id, 'value') ~= value then
      redis.call('HSET', prefix .. id, 'value', value, 'message', message)
      changed = changed + 1
    end
  elseif verdict == 'fire' then
    id = 'a' .. redis.call('INCR', KEYS[2])
    redis.call('HSET', prefix .. id, 'id', id, 'rule', rule, 'key', key, 'severity', severity, 'state', 'firing',
      'firstFiredAt', nowIso, 'lastChangedAt', nowIso, 'value', value, 'message', message)
    redis.call('HSET', KEYS[1], key, id)
    redis.call('ZADD', KEYS[3], nowMs, id)
    redis.call('ZADD', KEYS[5], nowMs, id)
    announce('fired', id)
    changed = changed + 1
  elseif verdict == 'clear' and id then
    resolve(key, id)
  end
end
if complete == '1' then
  local open = redis.call('HGETALL', KEYS[1])
  for i = 1, #open, 2 do
    if not seen[open[i]] then resolve(open[i], open[i + 1]) end
  end
end
if changed > 0 then
  redis.call('INCR', KEYS[4])
  redis.call('PUBLISH', channel, view)
end
return changed
`);

// KEYS: the alert, by-change index, view version, firing set, changes stream. ARGV: by, note, now (ISO), now (ms), channel, view.
// Returns 'done', or the state that kept it from being acknowledged ('' when there is no such alert).
const acknowledgeScript = new LuaScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return '' end
if state ~= 'firing' then return state end
redis.call('HSET', KEYS[1], 'state', 'acknowledged', 'acknowledgedBy', ARGV[1], 'note', ARGV[2],
  'acknowledgedAt', ARGV[3], 'lastChangedAt', ARGV[3])
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('ZADD', KEYS[2], ARGV[4], id)
redis.call('ZREM', KEYS[4], id)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', '${CHANGES_KEPT}', '*', 'change', 'acknowledged', unpack(redis.call('HGETALL', KEYS[1])))
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'done'
`);

export type AcknowledgeOutcome =
  | { outcome: 'acknowledged'; alert: Alert }
  | { outcome: 'not-found' }
  /** Only a firing alert can be acknowledged. */
  | { outcome: 'not-firing'; alert: Alert };

export class AlertStore {
  constructor(private readonly redis: RedisClient) {}

  /** Applies one rule's evaluation; returns how many alerts changed. */
  async apply(evaluation: Evaluation, now: number): Promise<number> {
    const args = [
      alertKeys.alert(''), evaluation.rule, evaluation.severity, new Date(now).toISOString(), String(now),
      evaluation.complete ? '1' : '0', VIEW_CHANGED_CHANNEL, ALERTS_VIEW,
    ];
    for (const o of evaluation.observations) args.push(o.key, o.verdict, String(o.value), o.message);
    const keys = [
      alertKeys.open(evaluation.rule), alertKeys.sequence, alertKeys.byChange, readModelKeys.viewVersion(ALERTS_VIEW), alertKeys.firing,
      alertKeys.changes,
    ];
    return Number(await applyScript.run(this.redis, keys, args));
  }

  async acknowledge(id: string, by: string, note: string, now: number): Promise<AcknowledgeOutcome> {
    const state = String(await acknowledgeScript.run(this.redis,
      [alertKeys.alert(id), alertKeys.byChange, readModelKeys.viewVersion(ALERTS_VIEW), alertKeys.firing, alertKeys.changes],
      [by, note, new Date(now).toISOString(), String(now), VIEW_CHANGED_CHANNEL, ALERTS_VIEW]));
    if (state === '') return { outcome: 'not-found' };
    const alert = (await readAlert(this.redis, id))!;
    return state === 'done' ? { outcome: 'acknowledged', alert } : { outcome: 'not-firing', alert };
  }
}
