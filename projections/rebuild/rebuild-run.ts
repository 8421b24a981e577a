/**
 * One rebuild of one projection, from the event store into a new read model,
 * while the live one keeps serving; then the switch (switch-script.ts).
 *
 * 1. Per partition, where to read from (positions.ts): the event store below
 *    the earlier of the history group's acknowledged position and the live
 *    checkpoint, the stream from there up to the live checkpoint. A stream that
 *    lost entries the store does not have fails the rebuild (StreamTrimmedError).
 * 2. The identities of the stream part are noted (it is as long as the history
 *    group lags: small), then the event store part is streamed in batches, each
 *    distinct event once, upcast, folded in memory (model-fold.ts). An event of
 *    the store part that is on the stream part too (appended twice, the first
 *    copy stored) is remembered, so that the stream part does not fold it again.
 *    One read decides: asking the store again later could get another answer,
 *    as inserts and merges go on.
 * 3. The stream part, per partition, each identity once.
 * 4. The new model is staged beside the live one, and the live keys to replace
 *    are gathered (staging.ts).
 * 5. The switch, tried until the live checkpoints are where the script can
 *    meet them: after each miss, what the live projector committed meanwhile
 *    is folded and staged, then the switch is tried again, a bounded number of times.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { RedisClient } from '../../platform/redis/client.ts';
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import type { RebuildStatus } from '../../shared/read-models.ts';
import { upcast, type Registry } from '../../shared/registry.ts';
import { compareStreamIds } from '../../shared/streams.ts';
import { decode, type StreamEntry } from '../engine/decode.ts';
import type { Projection } from '../projection.ts';
import { CheckpointWentBackError, RebuildLockLostError, RebuildStoppedError, SwitchContendedError } from './errors.ts';
import type { RebuildEventStore } from './event-store.ts';
import type { KeyPatterns } from './key-patterns.ts';
import { ModelFold, type Write } from './model-fold.ts';
import { checkStreamsKept, readCheckpoints, storeBounds, storedBelow } from './positions.ts';
import { clearStaging, gatherReplaced, writeStagedChanges, writeStaging } from './staging.ts';
import { readAfter, readRange } from './stream-reader.ts';
import { trySwitch, type TailEntry } from './switch-script.ts';

export interface RebuildSettings {
  /** Stream entries per XRANGE. */
  pageSize: number;
  /** Entries per partition past a checkpoint that one switch attempt can meet. */
  tailLimit: number;
  /** Switch attempts before giving up (SwitchContendedError). */
  attempts: number;
}

export const DEFAULT_REBUILD_SETTINGS: RebuildSettings = { pageSize: 1_000, tailLimit: 1_000, attempts: 50 };

export interface RebuildRun {
  redis: RedisClient;
  registry: Registry;
  partitions: number;
  events: RebuildEventStore;
  projection: Projection;
  patterns: KeyPatterns;
  /** The lock owner: the switch happens only while the lock is still this run's. */
  owner: string;
  settings: RebuildSettings;
  signal: AbortSignal;
  /** Called as the run moves on (often: throttle what it does). */
  progress(progress: RebuildProgress): void;
  log(line: string): void;
}

export type RebuildProgress = Pick<RebuildStatus, 'phase' | 'done' | 'total' | 'skipped'>;

export interface RebuildOutcome extends RebuildProgress {
  /** Switch attempts it took. */
  attempts: number;
  /** Keys of the new model, and live keys it replaced. */
  keys: number;
  replaced: number;
  /** Where the time went, ms per phase (for benchmarks and the log). */
  phasesMs: Record<NonNullable<RebuildProgress['phase']>, number>;
}

export async function runRebuild(run: RebuildRun): Promise<RebuildOutcome> {
  const { redis, registry, partitions, events, projection, settings, signal } = run;
  const name = projection.name;
  const fold = new ModelFold(projection);
  const progress: RebuildProgress = { phase: 'history', done: 0, total: 0, skipped: 0 };
  const phasesMs = { history: 0, streams: 0, staging: 0, switching: 0 };
  let phaseStart = performance.now();
  const report = () => run.progress({ ...progress, total: Math.max(progress.total, progress.done), skipped: fold.skipped });
  const enter = (phase: keyof typeof phasesMs | undefined) => {
    const now = performance.now();
    if (progress.phase) phasesMs[progress.phase] += now - phaseStart;
    phaseStart = now;
    progress.phase = phase;
    report();
  };
  const stopIfAsked = () => {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new RebuildStoppedError('the rebuild was stopped');
  };

  // 1. Where each partition is read from (and what an interrupted rebuild left staged, gone).
  await clearStaging(redis, name);
  const checkpoints = await readCheckpoints(redis, name, partitions);
  const below = storeBounds(checkpoints, await storedBelow(redis, partitions));
  await checkStreamsKept(redis, below);

  // 2. The identities on the stream part, then the event store part (its size, for progress, is counted meanwhile).
  const onStreams = new Set<string>();
  let streamPart = 0;
  for (let p = 0; p < partitions; p++) {
    if (checkpoints[p] === '') continue;
    for await (const entries of readRange(redis, p, { id: below[p]! }, checkpoints[p]!, settings.pageSize)) {
      for (const entry of entries) {
        const delivery = decode(entry, registry);
        if ('event' in delivery) onStreams.add(eventKey(delivery.event));
      }
      streamPart += entries.length;
    }
  }
  progress.total = streamPart;
  const counted = events.countRows(below).then((rows) => {
    progress.total += rows;
    report();
  });
  counted.catch(() => {}); // awaited below
  const fromStore = new Set<string>();
  for await (const batch of events.read(below, signal)) {
    stopIfAsked();
    for (const event of batch) {
      if (onStreams.size > 0) {
        const key = eventKey(event);
        if (onStreams.has(key)) fromStore.add(key);
      }
      fold.add(upcast(registry, event));
    }
    progress.done += batch.length;
    report();
  }
  await counted;
  onStreams.clear();
  // The rows counted include copies not merged yet: from here on the total is exact.
  progress.total = progress.done + streamPart;

  // 3. The stream part, up to the live checkpoints; then once more up to where they are now.
  enter('streams');
  const seen = new StreamEvents(fromStore, fold);
  const catchUp = async (p: number, from: { id: string; after?: boolean }, to: string, writes?: Write[], inTotal = false) => {
    for await (const entries of readRange(redis, p, from, to, settings.pageSize)) {
      stopIfAsked();
      if (!inTotal) progress.total += entries.length;
      for (const event of seen.fresh(entries, registry)) {
        if (writes) writes.push(...(fold.addWithWrites(event) ?? []));
        else fold.add(event);
      }
      progress.done += entries.length;
      report();
      await yieldToLoop();
    }
  };
  for (let p = 0; p < partitions; p++) {
    if (checkpoints[p] !== '') await catchUp(p, { id: below[p]! }, checkpoints[p]!, undefined, true);
  }
  let foldedUpTo = checkpoints;
  const caughtUp = async (now: readonly string[], writes?: Write[]) => {
    for (let p = 0; p < partitions; p++) {
      if (now[p] === foldedUpTo[p]) continue;
      if (compareStreamIds(now[p]!, foldedUpTo[p]!) < 0) {
        throw new CheckpointWentBackError(`partition ${p}: the live checkpoint of ${name} went back from ${foldedUpTo[p]} to ${now[p] || 'none'}`);
      }
      if (compareStreamIds(now[p]!, foldedUpTo[p]!) > 0) await catchUp(p, { id: foldedUpTo[p]!, after: true }, now[p]!, writes);
    }
    foldedUpTo = [...now];
  };
  await caughtUp(await readCheckpoints(redis, name, partitions));

  // 4. Staged beside the live model.
  enter('staging');
  const replaced = await gatherReplaced(redis, name, run.patterns);
  const keys = await writeStaging(redis, fold, run.patterns);
  stopIfAsked();

  // 5. The switch.
  enter('switching');
  for (let attempt = 1; ; attempt++) {
    const tails = await tailsAfter(run, foldedUpTo, seen, fold);
    const result = await trySwitch(redis, {
      projection: name, views: projection.views, owner: run.owner,
      partitions: foldedUpTo.map((upTo, p) => ({ foldedUpTo: upTo, tail: tails[p]! })),
    });
    if (result.outcome === 'switched') {
      enter(undefined);
      return { ...progress, skipped: fold.skipped, attempts: attempt, keys, replaced, phasesMs };
    }
    if (result.outcome === 'lock-lost') throw new RebuildLockLostError(`the rebuild of ${name} no longer holds its lock; another may have started`);
    if (attempt >= settings.attempts) {
      throw new SwitchContendedError(
        `the live projector of ${name} moved past what the rebuild had read on each of ${attempt} attempts to switch; ` +
        'nothing was changed: try again when fewer events arrive');
    }
    stopIfAsked();
    const writes: Write[] = [];
    await caughtUp(result.checkpoints, writes);
    await writeStagedChanges(redis, name, writes, run.patterns);
  }
}

/**
 * Per partition, the entries after the checkpoint folded up to (at most
 * tailLimit), with their writes on top of the new model, for the switch to
 * apply as far as the live projector has got. Not looked up in the event
 * store (that would widen the window in which the projector moves on): an
 * entry repeating an event of the store part counts as the live projector counts it.
 */
async function tailsAfter(run: RebuildRun, foldedUpTo: readonly string[], seen: StreamEvents, fold: ModelFold): Promise<TailEntry[][]> {
  const pages = await Promise.all(foldedUpTo.map((upTo, p) => readAfter(run.redis, p, upTo, run.settings.tailLimit)));
  const overlay = fold.overlay();
  const tailSeen = new Set<string>();
  return pages.map((entries) => entries.map((entry): TailEntry => {
    const delivery = decode(entry, run.registry);
    if (!('event' in delivery)) return { id: entry.id, writes: [] };
    const key = eventKey(delivery.event);
    if (seen.has(key) || tailSeen.has(key)) return { id: entry.id, writes: [] };
    tailSeen.add(key);
    return { id: entry.id, writes: overlay.writes(delivery.event) ?? [] };
  }));
}

/**
 * Events of the stream part, each identity once, and none that the event store
 * part gave (`fromStore`). Remembers the identities of the stream part only,
 * which is what arrived after the history group's position: memory follows the
 * history group's lag, not the store.
 */
class StreamEvents {
  readonly #seen = new Set<string>();
  constructor(private readonly fromStore: ReadonlySet<string>, private readonly fold: ModelFold) {}

  has(key: string): boolean {
    return this.#seen.has(key) || this.fromStore.has(key);
  }

  fresh(entries: readonly StreamEntry[], registry: Registry): CloudEvent[] {
    const fresh: CloudEvent[] = [];
    for (const entry of entries) {
      const delivery = decode(entry, registry);
      if (!('event' in delivery)) {
        this.fold.skipped++; // not an event: the live projector dead-letters it
        continue;
      }
      const key = eventKey(delivery.event);
      if (this.has(key)) continue;
      this.#seen.add(key);
      fresh.push(delivery.event);
    }
    return fresh;
  }
}
