/**
 * History ingestion against its ceiling, on each backend (embedded chDB, and a
 * private clickhouse-server 18.16 started for the part).
 *
 * The ceiling: the rows the history group writes (planned by planHistoryBatch
 * from the same entries, in batches of the writer's size, one partition's
 * entries per batch: `events` rows, then the analytic tables' rows) inserted
 * with the store's batched insert as fast as it goes, measured two ways: one
 * insert at a time, and every partition's inserts at once (one in flight per
 * partition, as the writer's partition loops can have). The history figure:
 * the N events XADDed to the partition streams as ingest stores them, then
 * the real history role (store, migrations, HistoryWriter with the default
 * settings and the analytic rows server/eventdeck.ts gives it) started in
 * this process, timed until `committed$` has reported every entry stored and
 * acknowledged; `SELECT count() FROM events FINAL` must then be N. Both write the same rows,
 * so events/s compare as rows/s do. Runs interleave the three; the ratio is
 * the median over runs of history / the faster raw way of the same run
 * (target ≥ 50 %). CPU time per event of each process is reported beside it:
 * on a small machine they all share the cores, and CPU per event moves much
 * less than wall time when something else runs.
 *
 * N is a whole number of batches for every partition: a partition that runs
 * dry mid-batch waits the batch wait (1 s) for more, a latency setting that
 * would add a fixed second to every run and hide the throughput. Every
 * partition loop reads and plans its batch while others insert theirs.
 */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Observable } from 'rxjs';
import { clickhouseServerInstalled, startLocalClickHouse, type LocalClickHouse } from '../platform/clickhouse/local-server.ts';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { toAnalyticRows } from '../projections/analytics/to-rows.ts';
import { loadConfig, type Config } from '../server/config.ts';
import { consumerEngine } from '../server/eventdeck.ts';
import { ANALYTIC_TABLES, type ToAnalyticRows } from '../server/history/analytic-rows.ts';
import { HistoryUnavailableError } from '../server/history/errors.ts';
import { startHistoryRole } from '../server/history/history-role.ts';
import type { HistoryBatchCommitted } from '../server/history/history-writer.ts';
import { applyMigrations } from '../server/history/migrations.ts';
import { openHistoryStore } from '../server/history/open-store.ts';
import type { HistoryBackend, HistoryStore } from '../server/history/store.ts';
import { buildRegistry } from '../server/registry/build.ts';
import { upcast } from '../shared/registry.ts';
import { CONSUMER_GROUPS, ENTRY_FIELDS, streamKey } from '../shared/streams.ts';
import { prepareWorkload, type Entry, type PartitionInserts, type Workload } from './history-workload.ts';
import { formatNumber, machine, median, writeFigures, type BenchContext, type BenchPart } from './part.ts';
import { childPid, cpuMeter } from './process-cpu.ts';

const BACKENDS: readonly HistoryBackend[] = ['chdb', 'server'];
/** Full batches per partition: 80,000 events, written as about 275,000 rows into five tables. */
const BATCHES_PER_PARTITION = 1;
/** Runs per figure: fewer than the other parts' five, so that the part stays near two minutes. */
const RUNS = 3;
/** Entries of every partition the JIT, connections and stores warm up on. */
const WARM_UP_PER_PARTITION = 1000;
const XADD_CHUNK = 1000;
/** A run that has not finished after this (plus 1 ms per event) has failed. */
const RUN_TIMEOUT_MS = 60_000;
/** ClickHouse's shipped keep-alive (the Debian config's), above the client's 2.5 s idle socket TTL. */
const SERVER_KEEP_ALIVE_S = 3;
/** At most this many failed inserts per raw run are sent again. */
const RAW_RETRIES = 50;
const TABLES = ['events', ...ANALYTIC_TABLES] as const;

export const historyPart: BenchPart = { name: 'history', run };

/** CPU seconds spent meanwhile: this process (the writer, and chDB's threads), its redis-server, the clickhouse-server. */
interface Cpu {
  process: number;
  redis: number;
  server: number;
}

/** One measured run. */
interface Sample {
  seconds: number;
  cpu: Cpu;
}

interface BackendFigures {
  backend: HistoryBackend;
  version: string;
  rawOneAtATime: Sample[];
  rawPerPartition: Sample[];
  /** Raw inserts the server did not take and that were sent again, over all runs. */
  rawRetried: number;
  history: Sample[];
  /** Share of a history run's wall time this process's event loop (the writer's) was busy, per run. */
  eventLoopBusy: number[];
  /** Inserts the writer sent again (after a backoff), and dead letters, over all runs. */
  failedInserts: number;
  deadLettered: number;
}

async function run(context: BenchContext): Promise<void> {
  const { log } = context;
  const defaults = loadConfig({});
  const { partitions } = defaults;
  const { batchSize, batchWaitMs } = defaults.history;
  const perPartition = batchSize * BATCHES_PER_PARTITION;
  const count = perPartition * partitions;
  log(`history: ${RUNS} runs × ${formatNumber(count)} events in ${partitions} partitions (${BATCHES_PER_PARTITION} × ` +
    `${formatNumber(batchSize)} each, the writer's batch size), batch wait ${batchWaitMs} ms; backends ${BACKENDS.join(', ')}`);
  const registry = buildRegistry();
  // As server/eventdeck.ts composes it: the analytic tables read events upcast to the newest version.
  const analyticRows: ToAnalyticRows = (event) => toAnalyticRows(upcast(registry, event));
  const workload = prepareWorkload({ perPartition, warmUpPerPartition: WARM_UP_PER_PARTITION, partitions, batchSize, analyticRows });
  log(`  ${formatNumber(workload.rows)} rows per run, ${(workload.rows / count).toFixed(2)} per event (events and the analytic tables)`);

  const redis = await connectRedis(context.redisUrl);
  // The role's own connection, as server/eventdeck.ts gives it one.
  const roleRedis = await connectRedis(context.redisUrl);
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
    const results: BackendFigures[] = [];
    for (const backend of BACKENDS) {
      context.signal.throwIfAborted();
      if (backend === 'server' && !clickhouseServerInstalled()) {
        log('  clickhouse-server is not installed (Debian: apt-get install clickhouse-server): the server backend is left out');
        continue;
      }
      results.push(await measureBackend({ context, backend, workload, redis, roleRedis, analyticRows }));
    }
    report(context, results, { count, rows: workload.rows, partitions, settings: defaults.history, redisVersion });
  } finally {
    await roleRedis.close();
    await redis.close();
  }
}

/** The table of figures, and .bench/history.json. */
function report(
  context: BenchContext, results: readonly BackendFigures[],
  about: { count: number; rows: number; partitions: number; settings: Config['history']; redisVersion: string },
): void {
  const { count, rows, partitions } = about;
  const summary = (samples: readonly Sample[]) => {
    const eventsPerSecond = median(samples.map((s) => count / s.seconds));
    // CPU ms per 1,000 events, per process, median over the runs.
    const cpuMs = (of: keyof Cpu) => median(samples.map((s) => (s.cpu[of] * 1e6) / count));
    return {
      eventsPerSecond, rowsPerSecond: (eventsPerSecond * rows) / count,
      cpuMsPer1000Events: { process: cpuMs('process'), redis: cpuMs('redis'), server: cpuMs('server') },
      runs: samples,
    };
  };
  const backends = results.map((r) => {
    const rawOneAtATime = summary(r.rawOneAtATime);
    const rawPerPartition = summary(r.rawPerPartition);
    const history = summary(r.history);
    // Per run against the faster raw way of the same run (they ran minutes apart at most), then the median:
    // a machine that slows down during the part moves both sides of a run alike.
    const ratio = median(r.history.map((h, i) => Math.min(r.rawOneAtATime[i]!.seconds, r.rawPerPartition[i]!.seconds) / h.seconds));
    return {
      backend: r.backend, clickhouse: r.version, rawOneAtATime, rawPerPartition, rawRetried: r.rawRetried,
      history: { ...history, eventLoopBusy: r.eventLoopBusy, failedInserts: r.failedInserts, deadLettered: r.deadLettered },
      ratio, targetMet: ratio >= 0.5,
    };
  });
  const figures = {
    at: new Date().toISOString(),
    machine: { ...machine(), redis: about.redisVersion },
    eventsPerRun: count, rowsPerRun: rows, runs: RUNS, partitions, settings: about.settings, backends,
  };

  const { log } = context;
  const m = figures.machine;
  const line = (label: string, cells: string[], note = '') => log(`  ${label.padEnd(40)}${cells.map((c) => c.padStart(22)).join('')}${note}`);
  const rate = (s: { eventsPerSecond: number; rowsPerSecond: number }) => `${formatNumber(s.eventsPerSecond)} (${formatNumber(s.rowsPerSecond)})`;
  const cpu = (s: { cpuMsPer1000Events: Cpu }, backend: HistoryBackend) => [
    formatNumber(s.cpuMsPer1000Events.process), formatNumber(s.cpuMsPer1000Events.redis),
    backend === 'server' ? formatNumber(s.cpuMsPer1000Events.server) : '–',
  ].join(' / ');
  const measured = [
    ['raw insert, one at a time', (b: (typeof backends)[number]) => b.rawOneAtATime],
    [`raw insert, ${partitions} partitions at once`, (b: (typeof backends)[number]) => b.rawPerPartition],
    ['history group', (b: (typeof backends)[number]) => b.history],
  ] as const;
  log('');
  log(`machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, ${m.platform}, redis ${m.redis}`);
  log(`${formatNumber(count)} events (${formatNumber(rows)} rows) per run, medians of ${RUNS} runs`);
  line('', backends.map((b) => (b.backend === 'chdb' ? 'chDB' : 'clickhouse-server')));
  line('ClickHouse', backends.map((b) => b.clickhouse));
  log('  events/s (rows/s)');
  for (const [label, of] of measured) line(`  ${label}`, backends.map((b) => rate(of(b))));
  line('history / faster raw (median of runs)', backends.map((b) => `${(b.ratio * 100).toFixed(0)} %`), '   (target ≥ 50 %)');
  line('target met', backends.map((b) => (b.targetMet ? 'yes' : 'NO')));
  log('  CPU ms per 1,000 events: this process (writer; chDB) / redis-server / clickhouse-server');
  for (const [label, of] of measured) line(`  ${label}`, backends.map((b) => cpu(of(b), b.backend)));
  line('history: writer event loop busy', backends.map((b) => `${(median(b.history.eventLoopBusy) * 100).toFixed(0)} %`));
  line('inserts sent again: raw / history', backends.map((b) => `${b.rawRetried} / ${b.history.failedInserts}`));
  if (backends.some((b) => b.history.deadLettered > 0)) line('dead letters', backends.map((b) => String(b.history.deadLettered)));
  log(`wrote ${writeFigures(context.root, 'history', figures)}`);
}

interface MeasureOptions {
  context: BenchContext;
  backend: HistoryBackend;
  workload: Workload;
  redis: RedisClient;
  roleRedis: RedisClient;
  analyticRows: ToAnalyticRows;
}

async function measureBackend(options: MeasureOptions): Promise<BackendFigures> {
  const { context, backend, workload } = options;
  const { log, signal } = context;
  const dataDir = mkdtempSync(path.join(context.tmpDir, `history-${backend}-`));
  let server: LocalClickHouse | undefined;
  if (backend === 'server') {
    log('  starting a clickhouse-server on free ports…');
    server = await startLocalClickHouse({ keepAliveTimeoutSeconds: SERVER_KEEP_ALIVE_S });
  }
  try {
    // As EventDeck runs with nothing configured but where history goes.
    const config = loadConfig({ EVENTDECK_DATA_DIR: dataDir, CLICKHOUSE_URL: server?.url });
    const meter = historyCpuMeter(server ? childPid('clickhouse-server') : undefined);
    const version = await withStore(config, async (store) => {
      await applyMigrations(store);
      const [about] = await store.query<{ version: string }>('SELECT version() AS version');
      return about?.version ?? 'unknown';
    });
    log(`  ${backend} (ClickHouse ${version}): warming up on ${formatNumber(workload.warmUp.length)} events…`);
    await rawRun(config, meter, workload.warmUpInserts, 'one');
    await rawRun(config, meter, workload.warmUpInserts, 'per-partition');
    await historyRun({ ...options, config, meter, entries: workload.warmUp });

    const n = workload.entries.length;
    const figures: BackendFigures = {
      backend, version, rawOneAtATime: [], rawPerPartition: [], rawRetried: 0, history: [], eventLoopBusy: [], failedInserts: 0, deadLettered: 0,
    };
    const rate = (seconds: number) => `${formatNumber(n)} events in ${seconds.toFixed(2)} s → ${formatNumber(n / seconds)} events/s`;
    const again = (count: number) => (count > 0 ? `; ${count} failed inserts sent again` : '');
    // Interleaved, so that a drift of the machine during the part touches both figures alike.
    for (let i = 1; i <= RUNS; i++) {
      signal.throwIfAborted();
      const one = await rawRun(config, meter, workload.inserts, 'one');
      figures.rawOneAtATime.push(one);
      figures.rawRetried += one.retried;
      log(`  ${backend} run ${i}/${RUNS}: raw, one at a time       ${rate(one.seconds)}${again(one.retried)}`);
      const perPartition = await rawRun(config, meter, workload.inserts, 'per-partition');
      figures.rawPerPartition.push(perPartition);
      figures.rawRetried += perPartition.retried;
      log(`  ${backend} run ${i}/${RUNS}: raw, partitions at once  ${rate(perPartition.seconds)}${again(perPartition.retried)}`);
      const history = await historyRun({ ...options, config, meter, entries: workload.entries });
      figures.history.push(history);
      figures.eventLoopBusy.push(history.eventLoopBusy);
      figures.failedInserts += history.failedInserts;
      figures.deadLettered += history.deadLettered;
      log(`  ${backend} run ${i}/${RUNS}: history group            ${rate(history.seconds)}; ` +
        `writer's event loop busy ${(history.eventLoopBusy * 100).toFixed(0)} %${again(history.failedInserts)}`);
    }
    return figures;
  } finally {
    await server?.stop();
  }
}

/** The CPU seconds of this process, the bench's redis-server (a child of it) and a clickhouse-server (none: NaN, not reported). */
function historyCpuMeter(serverPid: number | undefined) {
  return cpuMeter({ redis: childPid('redis-server'), server: serverPid });
}
type CpuMeter = ReturnType<typeof historyCpuMeter>;

/** A store of its own for each step, as the role opens one: no connection idles through another step. */
async function withStore<T>(config: Readonly<Config>, use: (store: HistoryStore) => Promise<T>): Promise<T> {
  const store = await openHistoryStore(config);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Empties every table the history group writes. */
async function truncate(store: HistoryStore): Promise<void> {
  for (const table of TABLES) await store.exec(`TRUNCATE TABLE ${table}`);
}

/**
 * The ceiling: every planned insert through store.insert, one at a time, or
 * each partition's in order with all partitions at once; the tables are
 * emptied first. An insert the server did not take (HistoryUnavailableError:
 * a keep-alive socket it had closed meanwhile) is sent again at once and
 * counted; the writer does the same after a backoff.
 */
function rawRun(config: Readonly<Config>, meter: CpuMeter, inserts: readonly PartitionInserts[], mode: 'one' | 'per-partition') {
  return withStore(config, async (store) => {
    await truncate(store);
    let retried = 0;
    const insert = async (table: string, rows: object[]): Promise<void> => {
      for (;;) {
        try {
          return await store.insert(table, rows);
        } catch (error) {
          if (!(error instanceof HistoryUnavailableError) || ++retried > RAW_RETRIES) throw error;
        }
      }
    };
    const cpu = meter.start();
    const started = performance.now();
    if (mode === 'one') {
      for (const partition of inserts) for (const { table, rows } of partition) await insert(table, rows);
    } else {
      await Promise.all(inserts.map(async (partition) => {
        for (const { table, rows } of partition) await insert(table, rows);
      }));
    }
    const seconds = (performance.now() - started) / 1000;
    const sample = { seconds, cpu: cpu(), retried };
    await expectEvents(store, inserts.flat().reduce((sum, { table, rows }) => sum + (table === 'events' ? rows.length : 0), 0));
    return sample;
  });
}

interface HistoryRunOptions extends MeasureOptions {
  config: Readonly<Config>;
  meter: CpuMeter;
  entries: readonly Entry[];
}

/**
 * The history role from its start until every entry is stored and
 * acknowledged, over streams filled beforehand and empty tables; then
 * `events` must hold each event once and nothing may be pending.
 */
async function historyRun(options: HistoryRunOptions) {
  const { config, meter, redis, roleRedis, entries, analyticRows, context: { signal, log } } = options;
  await withStore(config, truncate);
  await load(redis, entries);
  const loop = performance.eventLoopUtilization();
  const cpu = meter.start();
  const started = performance.now();
  const role = await startHistoryRole({
    config, redis: roleRedis, engine: consumerEngine, now: Date.now, log: (line) => log(`    ${line}`), toAnalyticRows: analyticRows,
  });
  // Subscribed as soon as the role is back: its partition loops are still connecting, nothing is stored yet
  // (a batch reported before this would leave the run short, and it would fail on its timeout).
  const watch = untilAcknowledged(role.writer.committed$, entries.length, signal);
  try {
    const finished = await watch.done;
    return {
      seconds: (finished - started) / 1000, cpu: cpu(),
      eventLoopBusy: performance.eventLoopUtilization(loop).utilization,
      failedInserts: watch.failedInserts(), deadLettered: watch.deadLettered(),
    };
  } finally {
    watch.cancel();
    await role.stop();
    if (!signal.aborted) {
      await withStore(config, (store) => expectEvents(store, entries.length));
      await expectAcknowledged(redis, config.partitions);
    }
  }
}

/** Resolves with performance.now() once `count` entries are reported stored and acknowledged. */
function untilAcknowledged(committed$: Observable<HistoryBatchCommitted>, count: number, signal: AbortSignal) {
  let acknowledged = 0;
  let failedInserts = 0;
  let deadLettered = 0;
  let cancel = () => {};
  const done = new Promise<number>((resolve, reject) => {
    const subscription = committed$.subscribe((batch) => {
      acknowledged += batch.entries;
      failedInserts += batch.failedInserts;
      deadLettered += batch.deadLettered;
      if (acknowledged >= count) resolve(performance.now());
    });
    const timeoutMs = RUN_TIMEOUT_MS + count;
    const timer = setTimeout(() => reject(new Error(`the history group acknowledged only ${acknowledged} of ${count} entries in ${timeoutMs / 1000} s`)), timeoutMs);
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    cancel = () => {
      subscription.unsubscribe();
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    };
  });
  return { done, cancel, failedInserts: () => failedInserts, deadLettered: () => deadLettered };
}

/** Empties Redis and XADDs the entries to their streams, as ingest stores them, a chunk of concurrent commands at a time. */
async function load(redis: RedisClient, entries: readonly Entry[]): Promise<void> {
  await redis.flushAll();
  for (let i = 0; i < entries.length; i += XADD_CHUNK) {
    const acceptedAt = String(Date.now());
    await Promise.all(entries.slice(i, i + XADD_CHUNK).map(({ partition, json }) =>
      redis.xAdd(streamKey(partition), '*', { [ENTRY_FIELDS.event]: json, [ENTRY_FIELDS.acceptedAt]: acceptedAt })));
  }
}

async function expectEvents(store: HistoryStore, count: number): Promise<void> {
  const [row] = await store.query<{ events: number }>('SELECT count() AS events FROM events FINAL');
  if (row?.events !== count) throw new Error(`events holds ${row?.events} distinct events, not ${count}`);
}

async function expectAcknowledged(redis: RedisClient, partitions: number): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    const { pending } = await redis.xPending(streamKey(p), CONSUMER_GROUPS.history);
    if (pending !== 0) throw new Error(`partition ${p}: ${pending} entries of the history group are still pending`);
  }
}
