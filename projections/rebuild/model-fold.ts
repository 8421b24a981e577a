/**
 * One projection's read model folded in memory, event by event, with the
 * projection's own pure functions: what a rebuild writes. Memory grows with the
 * read model (documents, hash fields, set members), not with the events folded.
 *
 * The same events give the same model as the live pipeline (planBatch): keyed
 * projections keep their documents, and their indexes are the index changes of
 * each final document from nothing (the live diffs compose to the same); counter
 * projections add each event's changes as they come. An event the projection
 * throws on (or whose changes Redis would refuse) is left out whole, as the live
 * pipeline dead-letters it. Hash fields stay when they add up to zero, as Redis
 * keeps a field that HINCRBY brought to 0.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import type { Change, KeyedProjection, Projection } from '../projection.ts';

/** A write to a read model: a Change, or a keyed projection's whole document. */
export type Write = Change | { op: 'set'; key: string; value: string };

/** Aggregate states by key: the model's own, or an overlay on them. */
interface States {
  get(key: string): unknown;
  set(key: string, state: unknown): void;
}

/** Hashes, sorted sets and sets by Redis key, as Redis would hold them. */
export interface IndexModel {
  hashes: Map<string, Map<string, number>>;
  zsets: Map<string, Map<string, number>>;
  sets: Map<string, Set<string>>;
}

export class ModelFold {
  /** Keyed projections: each aggregate's state, by the projection's key. */
  readonly states = new Map<string, unknown>();
  /** Counter projections: their hashes, sorted sets and sets (keyed ones derive theirs in `indexModel`). */
  readonly counters: IndexModel = { hashes: new Map(), zsets: new Map(), sets: new Map() };
  /** Events the projection threw on, left out. */
  skipped = 0;

  constructor(readonly projection: Projection) {}

  /** Folds one event in; false when it was left out. */
  add(event: CloudEvent): boolean {
    const projection = this.projection;
    try {
      if (projection.kind === 'keyed') {
        const key = projection.keyOf(event);
        if (key !== undefined) this.states.set(key, projection.evolve(this.states.get(key), event));
      } else {
        applyAll(this.counters, projection.changes(event).map(checked));
      }
      return true;
    } catch {
      this.skipped++;
      return false;
    }
  }

  /**
   * Folds one event in and returns its writes, as a commit of it alone would
   * make them (the document and the index diff of a keyed projection; the
   * changes of a counter projection); undefined when it was left out.
   */
  addWithWrites(event: CloudEvent): Write[] | undefined {
    const writes = this.#writesOf(event, this.states);
    if (writes === undefined) this.skipped++;
    return writes;
  }

  /**
   * Writes of events folded on top of this model without changing it: for the
   * switch, which applies only those the live projector has committed by then.
   */
  overlay(): { writes(event: CloudEvent): Write[] | undefined } {
    const states = new Map<string, unknown>();
    const base = this.states;
    const view: States = {
      get: (key) => (states.has(key) ? states.get(key) : base.get(key)),
      set: (key, state) => void states.set(key, state),
    };
    return { writes: (event) => this.#writesOf(event, view, false) };
  }

  /** The documents of a keyed projection, as Redis key → JSON. */
  *documents(): Generator<[key: string, json: string]> {
    const projection = this.projection;
    if (projection.kind !== 'keyed') return;
    for (const [key, state] of this.states) yield [projection.stateKey(key), JSON.stringify(state)];
  }

  /** The hashes, sorted sets and sets of the model: a keyed projection's indexes, built from its final documents. */
  indexModel(): IndexModel {
    const projection = this.projection;
    if (projection.kind !== 'keyed') return this.counters;
    const model: IndexModel = { hashes: new Map(), zsets: new Map(), sets: new Map() };
    for (const [key, state] of this.states) applyAll(model, projection.indexChanges(key, undefined, state).map(checked));
    return model;
  }

  #writesOf(
    event: CloudEvent,
    states: States,
    commit = true,
  ): Write[] | undefined {
    const projection = this.projection;
    try {
      if (projection.kind === 'counter') {
        const changes = projection.changes(event).map(checked);
        if (commit) applyAll(this.counters, changes);
        return changes;
      }
      return keyedWrites(projection, event, states);
    } catch {
      return undefined;
    }
  }
}

function keyedWrites(projection: KeyedProjection, event: CloudEvent, states: States): Write[] {
  const key = projection.keyOf(event);
  if (key === undefined) return [];
  const before = states.get(key);
  const after = projection.evolve(before, event);
  const changes = projection.indexChanges(key, before, after).map(checked);
  states.set(key, after);
  return [{ op: 'set', key: projection.stateKey(key), value: JSON.stringify(after) }, ...changes];
}

/** Applies changes with Redis semantics (an emptied sorted set is gone). */
export function applyAll(model: IndexModel, changes: readonly Change[]): void {
  for (const change of changes) {
    switch (change.op) {
      case 'hincr': {
        let hash = model.hashes.get(change.key);
        if (!hash) model.hashes.set(change.key, (hash = new Map()));
        hash.set(change.field, (hash.get(change.field) ?? 0) + change.by);
        break;
      }
      case 'zadd': {
        let zset = model.zsets.get(change.key);
        if (!zset) model.zsets.set(change.key, (zset = new Map()));
        zset.set(change.member, change.score);
        break;
      }
      case 'zrem': {
        const zset = model.zsets.get(change.key);
        if (zset?.delete(change.member) && zset.size === 0) model.zsets.delete(change.key);
        break;
      }
      case 'sadd': {
        let set = model.sets.get(change.key);
        if (!set) model.sets.set(change.key, (set = new Set()));
        set.add(change.member);
        break;
      }
    }
  }
}

/** What Redis would refuse (a fractional HINCRBY, a NaN score) fails the event, as plan-batch.ts refuses it. */
function checked(change: Change): Change {
  if (change.op === 'hincr' && !Number.isSafeInteger(change.by)) {
    throw new RangeError(`increment of ${change.key} ${change.field} must be a whole number, got ${change.by}`);
  }
  if (change.op === 'zadd' && !Number.isFinite(change.score)) {
    throw new RangeError(`score of ${change.member} in ${change.key} must be a finite number, got ${change.score}`);
  }
  return change;
}
