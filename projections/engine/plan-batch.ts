/**
 * The pure step of a commit: given a projection, the deliveries of a batch and
 * the current documents, work out every write. Events a projection throws on
 * are set aside as failures; the others still apply, in stream order.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import type { Change, CounterProjection, KeyedProjection, Projection } from '../projection.ts';
import type { Delivery } from './decode.ts';

export interface Failure {
  delivery: Delivery;
  error: string;
}

export interface Plan {
  /** Whole documents to SET (keyed projections). */
  documents: Array<{ key: string; json: string }>;
  changes: Change[];
  failures: Failure[];
  /** Deliveries the projection took (whether or not they changed anything). */
  applied: number;
}

/** The Redis keys of the documents a keyed projection needs for these deliveries. */
export function documentKeys(projection: KeyedProjection, deliveries: readonly Delivery[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const d of deliveries) {
    if (!('event' in d)) continue;
    const key = safe(() => projection.keyOf(d.event));
    if (key.ok && key.value !== undefined) keys.set(key.value, projection.stateKey(key.value));
  }
  return keys;
}

export function planBatch(
  projection: Projection,
  deliveries: readonly Delivery[],
  documents: ReadonlyMap<string, unknown> = new Map(),
): Plan {
  return projection.kind === 'keyed'
    ? planKeyed(projection, deliveries, documents)
    : planCounters(projection, deliveries);
}

function planKeyed(projection: KeyedProjection, deliveries: readonly Delivery[], documents: ReadonlyMap<string, unknown>): Plan {
  const states = new Map(documents);
  const failures: Failure[] = [];
  const touched = new Set<string>();
  let applied = 0;
  for (const delivery of deliveries) {
    const result = withEvent(delivery, (event) => {
      const key = projection.keyOf(event);
      if (key === undefined) return;
      states.set(key, projection.evolve(states.get(key), event));
      touched.add(key);
    });
    if (result.ok) applied++;
    else failures.push({ delivery, error: result.error });
  }
  const plan: Plan = { documents: [], changes: [], failures, applied };
  for (const key of touched) {
    const after = states.get(key);
    plan.documents.push({ key: projection.stateKey(key), json: JSON.stringify(after) });
    plan.changes.push(...projection.indexChanges(key, documents.get(key), after).map(checked));
  }
  plan.changes = compactChanges(plan.changes);
  return plan;
}

function planCounters(projection: CounterProjection, deliveries: readonly Delivery[]): Plan {
  const failures: Failure[] = [];
  const changes: Change[] = [];
  let applied = 0;
  for (const delivery of deliveries) {
    const result = withEvent(delivery, (event) => changes.push(...projection.changes(event).map(checked)));
    if (result.ok) applied++;
    else failures.push({ delivery, error: result.error });
  }
  return { documents: [], changes: compactChanges(changes), failures, applied };
}

/**
 * The fewest changes with the same effect: increments of one hash field added
 * up, and of the set operations on one (key, member) only the last, since the
 * last ZADD, ZREM or SADD alone decides whether and with what score the member
 * is there. Every (key, member) is then touched once, so the commit may group
 * the changes by key in any order.
 */
export function compactChanges(changes: readonly Change[]): Change[] {
  const sums = new Map<string, Extract<Change, { op: 'hincr' }>>();
  const last = new Map<string, Change>();
  for (const change of changes) {
    if (change.op === 'hincr') {
      const id = `${change.key}\u0000${change.field}`;
      const sum = sums.get(id);
      if (sum) sum.by += change.by;
      else sums.set(id, { ...change });
      continue;
    }
    const id = `${change.key}\u0000${change.member}`;
    last.delete(id); // re-inserted: the map keeps the order of last writes
    last.set(id, change);
  }
  return [...[...sums.values()].filter((c) => c.by !== 0), ...last.values()];
}

/**
 * A Redis script is not rolled back when a command in it fails, so a change
 * Redis would refuse (a fractional HINCRBY, a NaN score) is refused here, before the commit.
 */
function checked(change: Change): Change {
  if (change.op === 'hincr' && !Number.isSafeInteger(change.by)) {
    throw new RangeError(`increment of ${change.key} ${change.field} must be a whole number, got ${change.by}`);
  }
  if (change.op === 'zadd' && !Number.isFinite(change.score)) {
    throw new RangeError(`score of ${change.member} in ${change.key} must be a finite number, got ${change.score}`);
  }
  return change;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

function withEvent(delivery: Delivery, apply: (event: CloudEvent) => void): Outcome<void> {
  if ('decodeError' in delivery) return { ok: false, error: delivery.decodeError };
  return safe(() => apply(delivery.event));
}

/** A projection is user code: whatever it throws becomes a failure of that event. */
function safe<T>(run: () => T): Outcome<T> {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}
