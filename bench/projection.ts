/**
 * Projector throughput against its ceiling, and end-to-end latency under a
 * steady load.
 *
 * Throughput: N realistic events, stored as ingest stores them, are XADDed
 * into the partition streams before the clock starts. The ceiling: 16
 * concurrent per-partition loops in this process (a connection each, as the
 * projector has) that XREADGROUP 500 entries, JSON.parse each and XACK them,
 * with no projection work, until every entry is acknowledged. The projector
 * figure: the real Projector, in this process, with every built-in projection
 * and the default settings, from `start()` until `committed$` has reported
 * every entry committed by every projection and acknowledged. Each run
 * measures both, back to back; the median over the runs of their ratio says
 * how close projecting comes to merely reading the streams (target ≥ 50 %).
 *
 * Latency: the real ingest server (a child process, role api) takes a steady
 * 5,000 events/s (a batch of 50 every 10 ms on a fixed schedule that never
 * waits for answers) while an in-process Projector with the default settings
 * projects them. Every `latenciesMs` value (commit time − the time ingest
 * accepted the event) of the events accepted in the measured window is kept;
 * the warm-up before it is not counted. Both processes read Date.now() of this
 * machine (target p99 < 50 ms). A projector slower than the load shows as a
 * backlog when the load stops, and its latencies are then the age of that backlog.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { Projector, type ProjectorOptions } from '../projections/engine/projector.ts';
import { builtInProjections } from '../projections/index.ts';
import { loadConfig } from '../server/config.ts';
import { buildRegistry } from '../server/registry/build.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { CONSUMER_GROUPS, ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import { childPid, cpuMeter, medianPerProcess, microsPerEvent } from './process-cpu.ts';
import { formatNumber, machine, median, writeFigures, type BenchContext, type BenchPart } from './part.ts';
import { runOpenLoop, STEADY_LOAD, STEADY_RATE } from './open-loop-load.ts';
import { prepareDemoEvents } from './demo-events.ts';
import { startServerProcess } from './server-process.ts';

const PARTITIONS = 16;
const XADD_CHUNK = 1000;
/** The raw loops read as many entries at a time as the projector does by default. */
const READ_COUNT = 500;
const WARM_UP_EVENTS = 20_000; // JIT and connections warm before the clock runs
/** A run that has not finished after this (plus 1 ms per event) has failed. */
const RUN_TIMEOUT_MS = 60_000;

/** After the load, the projector has this long to commit what is left (a projector that cannot keep up has a backlog). */
const DRAIN_TIMEOUT_MS = 60_000;

export const projectionPart: BenchPart = { name: 'projection', run };

/** The projector's settings as EventDeck runs it when nothing is configured. */
type Settings = Pick<ProjectorOptions, 'batchSize' | 'batchWaitMs' | 'leaseTtlMs' | 'pendingIdleMs' | 'retry' | 'concurrency'>;

/** What node-redis makes of an XREADGROUP reply (RESP2). */
type ReadGroupReply = Array<{ name: string; messages: Array<{ id: string; message: Record<string, string> }> }> | null;

/** A timed run, and the CPU it took per event. */
interface Measured {
  seconds: number;
  cpu: CpuPerEvent;
}

/** CPU µs per event of this process and of the bench's redis-server. */
type CpuPerEvent = Record<'process' | 'redis', number>;

/** CPU seconds of this process and of the bench's redis-server (a child of it). */
type Meter = ReturnType<typeof cpuMeter<'redis'>>;

/** One ingest-shaped stream entry: the accepted event as JSON, for its partition's stream. */
interface Entry {
  partition: number;
  json: string;
}

async function run(context: BenchContext): Promise<void> {
  const { events: count, runs, log, signal } = context;
  const settings: Settings = loadConfig({}).projector;
  const registry = buildRegistry();
  log(`projection: ${runs} runs × ${formatNumber(count)} events in ${PARTITIONS} partitions; ` +
    `${builtInProjections.length} projections, batches of ${settings.batchSize}, wait ${settings.batchWaitMs} ms`);
  const redis = await connectRedis(context.redisUrl);
  // The projector's own client for its commits, as server/eventdeck.ts gives it one.
  const projectorRedis = await connectRedis(context.redisUrl);
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
    const projectorOptions = (): ProjectorOptions => ({
      redis: projectorRedis, registry, projections: builtInProjections, partitions: PARTITIONS, ...settings,
      log: (line) => log(`    ${line}`),
    });

    // Each measurement prepares its own events, so that the other's are garbage while it runs.
    const { raw, projected, ratios, deadLettered, cpu: throughputCpu } = await measureThroughput(context, redis, projectorOptions);
    signal.throwIfAborted();
    const latency = await measureLatency(context, redis, projectorOptions, log);

    const figures = {
      at: new Date().toISOString(),
      machine: { ...machine(), redis: redisVersion },
      eventsPerRun: count, runs, partitions: PARTITIONS,
      projections: builtInProjections.map((p) => p.name),
      settings,
      rawReadAck: { count: READ_COUNT, eventsPerSecond: raw, median: median(raw) },
      projector: { eventsPerSecond: projected, median: median(projected), deadLettered },
      /** Median over the runs of projector / raw read + ack of the same run. */
      ratio: median(ratios),
      ratios,
      /** Median CPU µs per event of this process (the raw loops, or the projector) and of the bench's redis-server. */
      cpuMicrosPerEvent: throughputCpu,
      latency,
    };
    const m = figures.machine;
    const ms = (n: number) => `${n} ms`;
    log('');
    log(`machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, ${m.platform}, redis ${m.redis}`);
    log(`                           median events/s`);
    log(`  raw read + ack           ${formatNumber(figures.rawReadAck.median).padStart(15)}`);
    log(`  projector                ${formatNumber(figures.projector.median).padStart(15)}`);
    log(`  projector / raw (median of runs) ${`${(figures.ratio * 100).toFixed(0)} %`.padStart(8)}   (target ≥ 50 %)`);
    const cpuLine = (c: CpuPerEvent) => `${c.process.toFixed(0)} / ${c.redis.toFixed(0)}`.padStart(15);
    log(`  CPU µs per event: this process / redis-server (medians)`);
    log(`    raw read + ack         ${cpuLine(throughputCpu.raw)}`);
    log(`    projector              ${cpuLine(throughputCpu.projector)}`);
    log(`  latency at ${formatNumber(latency.targetRate)} events/s: sent ${formatNumber(latency.sentRate)} events/s; ` +
      `${formatNumber(latency.samples)} events accepted in the ${latency.measuredSeconds} s window (${formatNumber(latency.acceptedRate)} events/s)`);
    log(`    schedule lag ≤ ${latency.maxScheduleLagMs} ms, ≤ ${latency.maxRequestsInFlight} requests in flight, ` +
      `backlog when the load stopped ${formatNumber(latency.backlogAtEnd)} events`);
    log(`    p50                    ${ms(latency.p50).padStart(15)}`);
    log(`    p90                    ${ms(latency.p90).padStart(15)}`);
    log(`    p99                    ${ms(latency.p99).padStart(15)}   (target < 50 ms)`);
    log(`    max                    ${ms(latency.max).padStart(15)}`);
    log(`wrote ${writeFigures(context.root, 'projection', figures)}`);
  } finally {
    await projectorRedis.close();
    await redis.close();
  }
}

/** Raw read + ack and the projector, each `runs` times over the same prepared entries after a warm-up run. */
async function measureThroughput(context: BenchContext, redis: RedisClient, projectorOptions: () => ProjectorOptions) {
  const { events: count, runs, log, signal } = context;
  const entries = toEntries(prepareDemoEvents(count, 'tp').stored);
  const warmUp = entries.slice(0, Math.min(WARM_UP_EVENTS, entries.length));

  const meter = cpuMeter({ redis: childPid('redis-server') });
  await rawRun(redis, warmUp, signal, meter);
  await projectorRun(redis, projectorOptions(), warmUp, signal, meter);
  const raw: number[] = [];
  const projected: number[] = [];
  const ratios: number[] = [];
  const rawCpu: CpuPerEvent[] = [];
  const projectorCpu: CpuPerEvent[] = [];
  let deadLettered = 0;
  // Each run measures both back to back, so a machine that slows down moves both alike.
  for (let i = 1; i <= runs; i++) {
    signal.throwIfAborted();
    const rawResult = await rawRun(redis, entries, signal, meter);
    const rawSeconds = rawResult.seconds;
    raw.push(entries.length / rawSeconds);
    rawCpu.push(rawResult.cpu);
    signal.throwIfAborted();
    const result = await projectorRun(redis, projectorOptions(), entries, signal, meter);
    projected.push(entries.length / result.seconds);
    ratios.push(projected.at(-1)! / raw.at(-1)!);
    projectorCpu.push(result.cpu);
    deadLettered += result.deadLettered;
    log(`  run ${i}/${runs}: raw read+ack ${formatNumber(raw.at(-1)!)} events/s (${rawSeconds.toFixed(2)} s), ` +
      `projector ${formatNumber(projected.at(-1)!)} events/s (${result.seconds.toFixed(2)} s) → ${(ratios.at(-1)! * 100).toFixed(0)} %` +
      `${result.deadLettered > 0 ? ` (${result.deadLettered} dead-lettered)` : ''}`);
  }
  return { raw, projected, ratios, deadLettered, cpu: { raw: medianPerProcess(rawCpu), projector: medianPerProcess(projectorCpu) } };
}

function toEntries(events: readonly CloudEvent[]): Entry[] {
  return events.map((e) => ({ partition: partitionOf(e.partitionkey, PARTITIONS), json: JSON.stringify(e) }));
}

/** Empties Redis and XADDs the entries to their streams, a chunk of concurrent (pipelined) commands at a time. */
async function load(redis: RedisClient, entries: readonly Entry[]): Promise<void> {
  await redis.flushAll();
  for (let i = 0; i < entries.length; i += XADD_CHUNK) {
    const acceptedAt = String(Date.now());
    await Promise.all(entries.slice(i, i + XADD_CHUNK).map(({ partition, json }) =>
      redis.xAdd(streamKey(partition), '*', { [ENTRY_FIELDS.event]: json, [ENTRY_FIELDS.acceptedAt]: acceptedAt })));
  }
}

/**
 * The ceiling: per partition a connection of its own, its group created at '0',
 * then XREADGROUP, JSON.parse, XACK until all its entries are acknowledged; returns the seconds and the CPU per event.
 * Connecting and creating the groups are inside the clock, as they are in the projector's start().
 */
async function rawRun(redis: RedisClient, entries: readonly Entry[], signal: AbortSignal, meter: Meter): Promise<Measured> {
  const perPartition = new Array<number>(PARTITIONS).fill(0);
  for (const e of entries) perPartition[e.partition]!++;
  await load(redis, entries);
  const connections: RedisClient[] = [];
  const group = CONSUMER_GROUPS.live;
  const partition = async (p: number): Promise<number> => {
    const connection = redis.duplicate();
    connection.on('error', () => {});
    connections.push(connection);
    await connection.connect();
    const key = streamKey(p);
    await connection.xGroupCreate(key, group, '0', { MKSTREAM: true });
    let acked = 0;
    while (acked < perPartition[p]!) {
      signal.throwIfAborted();
      const reply = (await connection.xReadGroup(group, 'bench-raw', { key, id: '>' }, { COUNT: READ_COUNT })) as ReadGroupReply;
      const messages = reply?.[0]?.messages ?? [];
      if (messages.length === 0) throw new Error(`raw read: partition ${p} ran dry after ${acked} of ${perPartition[p]} entries`);
      const ids: string[] = [];
      for (const { id, message } of messages) {
        JSON.parse(message[ENTRY_FIELDS.event]!);
        Number(message[ENTRY_FIELDS.acceptedAt]);
        ids.push(id);
      }
      await connection.xAck(key, group, ids);
      acked += ids.length;
    }
    return performance.now();
  };
  try {
    const stopMeter = meter.start();
    const started = performance.now();
    const finished = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => partition(p)));
    return { seconds: (Math.max(...finished) - started) / 1000, cpu: microsPerEvent(stopMeter(), entries.length) };
  } finally {
    await Promise.all(connections.map((c) => c.close().catch(() => c.destroy())));
  }
}

/**
 * Waits until `committed$` has reported `count` entries, and resolves with the
 * performance.now() of that moment; rejects on timeout or Ctrl+C.
 */
function untilCommitted(projector: Projector, count: number, signal: AbortSignal) {
  let committed = 0;
  let deadLettered = 0;
  let cancel = () => {};
  const done = new Promise<number>((resolve, reject) => {
    const subscription = projector.committed$.subscribe((batch) => {
      committed += batch.entries;
      deadLettered += batch.deadLettered;
      if (committed >= count) resolve(performance.now());
    });
    const timeoutMs = RUN_TIMEOUT_MS + count;
    const timer = setTimeout(() => reject(new Error(`the projector committed only ${committed} of ${count} entries in ${timeoutMs / 1000} s`)), timeoutMs);
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    cancel = () => {
      subscription.unsubscribe();
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    };
  });
  return { done, cancel, deadLettered: () => deadLettered };
}

/** The projector from start() until every entry is committed and acknowledged; returns the seconds, the CPU per event and the dead letters. */
async function projectorRun(redis: RedisClient, options: ProjectorOptions, entries: readonly Entry[], signal: AbortSignal, meter: Meter) {
  await load(redis, entries);
  const projector = new Projector(options);
  const watch = untilCommitted(projector, entries.length, signal);
  try {
    const stopMeter = meter.start();
    const started = performance.now();
    await projector.start();
    const finished = await watch.done;
    return { seconds: (finished - started) / 1000, cpu: microsPerEvent(stopMeter(), entries.length), deadLettered: watch.deadLettered() };
  } finally {
    watch.cancel();
    await projector.stop();
  }
}

/** Request bodies of STEADY_LOAD.batch fresh events each; only the strings stay in memory. */
function batchBodies(count: number): string[] {
  const { sent } = prepareDemoEvents(count, 'lat');
  const bodies: string[] = [];
  for (let i = 0; i < sent.length; i += STEADY_LOAD.batch) bodies.push(JSON.stringify(sent.slice(i, i + STEADY_LOAD.batch)));
  return bodies;
}

/** Latency at a steady rate: the ingest server in a child process, the projector here. */
async function measureLatency(
  context: BenchContext,
  redis: RedisClient,
  projectorOptions: () => ProjectorOptions,
  log: (line: string) => void,
) {
  const { signal } = context;
  const { batch, intervalMs, warmUpMs, measureMs } = STEADY_LOAD;
  const ticks = (warmUpMs + measureMs) / intervalMs;
  const warmUpTicks = warmUpMs / intervalMs;
  log(`  latency: ${formatNumber(STEADY_RATE)} events/s (${batch} every ${intervalMs} ms) to the ingest server, ` +
    `${warmUpMs / 1000} s warm-up, then ${measureMs / 1000} s measured…`);
  const bodies = batchBodies(ticks * batch);

  await redis.flushAll();
  const server = await startServerProcess({
    root: context.root, signal, cpuProfDir: context.cpuProfDir,
    env: {
      REDIS_URL: context.redisUrl, EVENTDECK_ROLES: 'api', EVENTDECK_DATA_DIR: context.tmpDir,
      EVENTDECK_PARTITIONS: String(PARTITIONS),
    },
  });
  let projector: Projector | undefined;
  let subscription: { unsubscribe(): void } | undefined;
  try {
    projector = new Projector(projectorOptions());
    // Events accepted (by the server's clock) in [windowStart, windowEnd) are measured.
    let windowStart = Infinity;
    let windowEnd = Infinity;
    const samples: number[] = [];
    let committed = 0;
    subscription = projector.committed$.subscribe((batch) => {
      committed += batch.entries;
      const committedAt = Date.now(); // emitted synchronously after the projector's own now(): the same ms, or one later
      for (const latency of batch.latenciesMs) {
        const acceptedAt = committedAt - latency;
        if (acceptedAt >= windowStart && acceptedAt < windowEnd) samples.push(latency);
      }
    });
    await projector.start();

    const wallStart = Date.now();
    windowStart = wallStart + STEADY_LOAD.warmUpMs;
    windowEnd = windowStart + STEADY_LOAD.measureMs;
    const load = await runOpenLoop({
      url: server.url, bodies, warmUpBatches: warmUpTicks, signal,
      describeBacklog: () => `${formatNumber(committed)} committed`,
      onProgress: (elapsed, accepted) => log(`    ${String(elapsed / 1000).padStart(2)} s: ${formatNumber(accepted)} accepted, ` +
        `${formatNumber(committed)} committed${elapsed === STEADY_LOAD.warmUpMs ? ' (end of warm-up)' : ''}`),
    });
    const { accepted } = load;
    // What the projector had yet to commit when the load stopped: 0 or a few batches when it keeps up.
    const backlog = accepted - committed;
    signal.throwIfAborted();

    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (committed < accepted && Date.now() < deadline) {
      signal.throwIfAborted();
      await sleep(20);
    }
    if (committed < accepted) throw new Error(`the projector committed ${committed} of ${accepted} accepted events within ${DRAIN_TIMEOUT_MS / 1000} s after the load`);

    samples.sort((a, b) => a - b);
    const rank = (q: number) => samples[Math.max(0, Math.ceil(q * samples.length) - 1)] ?? NaN;
    return {
      targetRate: STEADY_RATE, batch: STEADY_LOAD.batch, intervalMs: STEADY_LOAD.intervalMs,
      warmUpSeconds: STEADY_LOAD.warmUpMs / 1000, measuredSeconds: STEADY_LOAD.measureMs / 1000,
      accepted, samples: samples.length, backlogAtEnd: backlog,
      /** Events of the measured batches over the time it took to send them (the schedule when it is kept). */
      sentRate: ((ticks - warmUpTicks) * STEADY_LOAD.batch) / ((load.lastSentAt - load.firstMeasuredAt + STEADY_LOAD.intervalMs) / 1000),
      /** Events the server accepted in the window, per second: above the target when it caught up on a lag. */
      acceptedRate: samples.length / (STEADY_LOAD.measureMs / 1000),
      maxScheduleLagMs: Math.round(load.maxLagMs), maxRequestsInFlight: load.maxInFlight,
      p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: samples.at(-1) ?? NaN,
    };
  } finally {
    subscription?.unsubscribe();
    await projector?.stop();
    await server.stop();
  }
}
