/**
 * Projection rebuild speed on embedded chDB (target ≥ 100,000 events/s).
 *
 * N realistic events (the demo flows; 200,000 unless BENCH_EVENTS is set) are
 * XADDed to the 16 partition streams as ingest stores them, and written to a
 * chDB event store as the history group writes them (with their stream ids).
 * Both consumer groups are then at the end of every stream and every live
 * checkpoint at its last entry: the state after the history group and the
 * projector have caught up. Each run is one rebuild (projections/rebuild:
 * stream the store, fold, stage, switch) of one projection, timed from its
 * start to the switch; events/s = N / seconds. inventory and orders run
 * BENCH_RUNS times (median), the other projections once. The CPU time of the
 * process (chDB's threads included) is given beside the wall time, since a
 * busy machine stretches the wall time.
 */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createFlows } from '../demo/flows.ts';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { builtInProjections } from '../projections/index.ts';
import { KeyPatterns } from '../projections/rebuild/key-patterns.ts';
import { DEFAULT_REBUILD_SETTINGS, runRebuild, type RebuildOutcome } from '../projections/rebuild/rebuild-run.ts';
import { toEventRow, type EventRow } from '../server/history/event-row.ts';
import { applyMigrations } from '../server/history/migrations.ts';
import { chdbDataDir, openHistoryStore } from '../server/history/open-store.ts';
import type { HistoryStore } from '../server/history/store.ts';
import { validateEvents } from '../server/ingest/validate-events.ts';
import { openChdbAnalyst } from '../server/query/chdb-analyst.ts';
import { storedEvents } from '../server/rebuild/stored-events.ts';
import { buildRegistry } from '../server/registry/build.ts';
import { createValidator } from '../server/registry/validator.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { readModelKeyPatterns, rebuildKeys } from '../shared/read-models.ts';
import { checkpointKey, CONSUMER_GROUPS, ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import { formatNumber, machine, median, writeFigures, type BenchContext, type BenchPart } from './part.ts';

const PARTITIONS = 16;
const DEFAULT_EVENTS = 200_000;
const XADD_CHUNK = 1_000;
const INSERT_CHUNK = 20_000;
const TARGET = 100_000;
/** Rebuilt BENCH_RUNS times; the others once. */
const MEASURED = ['inventory', 'orders'];

export const rebuildPart: BenchPart = { name: 'rebuild', run };

interface RunFigures {
  projection: string;
  seconds: number;
  cpuSeconds: number;
  eventsPerSecond: number;
  keys: number;
  peakHeapMb: number;
  phasesMs: RebuildOutcome['phasesMs'];
}

async function run(context: BenchContext): Promise<void> {
  const { log, signal } = context;
  const count = process.env.BENCH_EVENTS ? context.events : DEFAULT_EVENTS;
  const registry = buildRegistry();
  const redis = await connectRedis(context.redisUrl);
  const dataDir = mkdtempSync(path.join(context.tmpDir, 'rebuild-chdb-'));
  const store = await openHistoryStore({ dataDir });
  const analyst = openChdbAnalyst(chdbDataDir(dataDir));
  try {
    log(`rebuild: ${formatNumber(count)} stored events in ${PARTITIONS} partitions, embedded chDB; ` +
      `${context.runs} runs of ${MEASURED.join(' and ')}, one of the others`);
    await prepare(redis, store, count, log);
    const events = storedEvents(store, analyst, { maxMemoryBytes: 4 * 1024 ** 3 });
    const byName = new Map(builtInProjections.map((p) => [p.name, p]));
    const runs: RunFigures[] = [];
    const order = [...MEASURED.flatMap((name) => Array.from({ length: context.runs }, () => name)),
      ...builtInProjections.map((p) => p.name).filter((n) => !MEASURED.includes(n))];
    for (const [i, name] of order.entries()) {
      signal.throwIfAborted();
      const projection = byName.get(name)!;
      const owner = `bench-${i}`;
      await redis.set(rebuildKeys.lock(name), owner);
      let peakHeap = 0;
      const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const outcome = await runRebuild({
        redis, registry, partitions: PARTITIONS, events, projection, owner,
        patterns: new KeyPatterns(name, readModelKeyPatterns[name]!), settings: DEFAULT_REBUILD_SETTINGS, signal,
        progress: () => {}, log,
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      clearInterval(sampler);
      await redis.del(rebuildKeys.lock(name));
      if (outcome.done !== count) throw new Error(`the rebuild of ${name} folded ${outcome.done} events, not ${count}`);
      const figures: RunFigures = {
        projection: name, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, eventsPerSecond: count / seconds,
        keys: outcome.keys, peakHeapMb: Math.round(peakHeap / 2 ** 20), phasesMs: outcome.phasesMs,
      };
      runs.push(figures);
      const phases = Object.entries(outcome.phasesMs).map(([phase, ms]) => `${phase} ${Math.round(ms)}`).join(', ');
      log(`  ${name.padEnd(10)} ${formatNumber(count)} events in ${seconds.toFixed(2)} s (cpu ${figures.cpuSeconds.toFixed(2)} s) → ` +
        `${formatNumber(figures.eventsPerSecond)} events/s; ${formatNumber(outcome.keys)} keys; heap ≤ ${figures.peakHeapMb} MB; ms: ${phases}`);
    }

    const summary = Object.fromEntries(builtInProjections.map((p) => {
      const own = runs.filter((r) => r.projection === p.name);
      return [p.name, { eventsPerSecond: median(own.map((r) => r.eventsPerSecond)), cpuSeconds: median(own.map((r) => r.cpuSeconds)), runs: own.length }];
    }));
    const figures = { at: new Date().toISOString(), machine: machine(), events: count, partitions: PARTITIONS, backend: 'chdb', target: TARGET, summary, runs };
    const m = figures.machine;
    log('');
    log(`machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, ${m.platform}`);
    log(`rebuild from chDB, ${formatNumber(count)} events   median events/s   cpu s`);
    for (const [name, s] of Object.entries(summary)) {
      const mark = MEASURED.includes(name) ? (s.eventsPerSecond >= TARGET ? '' : '   (below the target of 100,000)') : '';
      log(`  ${name.padEnd(28)} ${formatNumber(s.eventsPerSecond).padStart(15)}   ${s.cpuSeconds.toFixed(2).padStart(5)}${mark}`);
    }
    log(`wrote ${writeFigures(context.root, 'rebuild', figures)}`);
  } finally {
    await analyst.close();
    await store.close();
    await redis.close();
  }
}

/** The streams and the event store as they are once every group has caught up. */
async function prepare(redis: RedisClient, store: HistoryStore, count: number, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  await redis.flushAll();
  const events = prepareEvents(count);
  const rows: EventRow[] = [];
  const last = new Array<string>(PARTITIONS).fill('');
  for (let i = 0; i < events.length; i += XADD_CHUNK) {
    const acceptedAt = Date.now();
    const chunk = events.slice(i, i + XADD_CHUNK);
    const ids = await Promise.all(chunk.map((event) => redis.xAdd(streamKey(partitionOf(event.partitionkey, PARTITIONS)), '*', {
      [ENTRY_FIELDS.event]: JSON.stringify(event), [ENTRY_FIELDS.acceptedAt]: String(acceptedAt),
    })));
    chunk.forEach((event, j) => {
      const partition = partitionOf(event.partitionkey, PARTITIONS);
      last[partition] = ids[j]!;
      rows.push(toEventRow(event, { partition, streamId: ids[j]!, acceptedAt }));
    });
  }
  for (let p = 0; p < PARTITIONS; p++) {
    for (const group of Object.values(CONSUMER_GROUPS)) await redis.xGroupCreate(streamKey(p), group, '$', { MKSTREAM: true });
  }
  await redis.mSet(builtInProjections.flatMap((projection) => last.flatMap((id, p) => (id ? [checkpointKey(projection.name, p), id] : []))));
  await applyMigrations(store);
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await store.insert('events', rows.slice(i, i + INSERT_CHUNK));
  log(`  prepared in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Realistic events with distinct ids, dated in the past, as ingest stores them (dataversion and partition key set). */
function prepareEvents(count: number): CloudEvent[] {
  const startAt = Date.now() - 2 * 60 * 60_000;
  const flows = createFlows({ seed: 42, startAt, duplicateRate: 0, reorderRate: 0 });
  let planned = 0;
  while (planned < count) planned += flows.startFlow(startAt);
  const sent = flows.takeDue(Number.MAX_SAFE_INTEGER, count);
  const registry = buildRegistry();
  const validation = validateEvents(sent, { registry, validator: createValidator(registry), maxFutureMs: 0, now: Date.now() });
  if (!validation.ok) throw new Error(`the prepared events are invalid: ${JSON.stringify(validation.problems.slice(0, 3))}`);
  return validation.events;
}
