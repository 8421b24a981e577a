/**
 * Ingest throughput against its ceiling. The ceiling: the same events XADDed
 * straight into the partition streams from one Node process, pipelined. The
 * ingest figure: those events POSTed as batches to the real server (a child
 * process), counted from the `accepted` of each 202. Each run measures both,
 * back to back; the median over the runs of their ratio says how much of what
 * Redis can take the HTTP path delivers (target ≥ 40 %, goal 60 %).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { DemoEvent } from '../demo/flows.ts';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import { formatNumber, machine, median, writeFigures, type BenchContext, type BenchPart } from './part.ts';
import { childPid, cpuMeter, medianPerProcess, microsPerEvent } from './process-cpu.ts';
import { postEvents } from './post-events.ts';
import { prepareDemoEvents } from './demo-events.ts';
import { startServerProcess } from './server-process.ts';

const PARTITIONS = 16;
const XADD_CHUNK = 1000;
const BATCH_SIZE = 500;
const IN_FLIGHT = 4;
const WARM_UP_EVENTS = 20_000; // JIT and connections warm before the clock runs

export const ingestPart: BenchPart = { name: 'ingest', run };

async function run(context: BenchContext): Promise<void> {
  const { events: count, runs, log, signal } = context;
  log(`ingest: ${runs} runs × ${formatNumber(count)} events; raw XADD in chunks of ${XADD_CHUNK}, ` +
    `HTTP batches of ${BATCH_SIZE} with ${IN_FLIGHT} in flight`);
  const { sent: events, stored } = prepareDemoEvents(count);
  const redis = await connectRedis(context.redisUrl);
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';

    const server = await startServerProcess({
      root: context.root, signal, cpuProfDir: context.cpuProfDir,
      env: {
        REDIS_URL: context.redisUrl, EVENTDECK_ROLES: 'api', EVENTDECK_DATA_DIR: context.tmpDir,
        EVENTDECK_PARTITIONS: String(PARTITIONS),
      },
    });
    const raw: number[] = [];
    const ingest: number[] = [];
    const ratios: number[] = [];
    const meter = cpuMeter({ server: childPid('server/main.ts'), redis: childPid('redis-server') });
    const cpu = { raw: [] as CpuPerEvent[], http: [] as CpuPerEvent[] };
    try {
      await rawXadd(redis, stored.slice(0, WARM_UP_EVENTS));
      await postBatches(server.url, batchBodies(events.slice(0, WARM_UP_EVENTS), 'warm'), signal);
      // Each run measures both ways back to back, so a machine that slows down moves both alike.
      for (let i = 1; i <= runs; i++) {
        signal.throwIfAborted();
        await redis.flushAll();
        let stopMeter = meter.start();
        const rawSeconds = await rawXadd(redis, stored);
        cpu.raw.push(microsPerEvent(stopMeter(), stored.length));
        raw.push(stored.length / rawSeconds);
        await redis.flushAll();
        const bodies = batchBodies(events, `r${i}`); // new ids each run: nothing is a duplicate
        stopMeter = meter.start();
        const { seconds, accepted, duplicates } = await postBatches(server.url, bodies, signal);
        cpu.http.push(microsPerEvent(stopMeter(), events.length));
        if (accepted !== events.length || duplicates !== 0) {
          throw new Error(`run ${i}: ${accepted} accepted and ${duplicates} duplicates of ${events.length} sent`);
        }
        ingest.push(accepted / seconds);
        ratios.push(ingest.at(-1)! / raw.at(-1)!);
        log(`  run ${i}/${runs}: raw XADD ${formatNumber(raw.at(-1)!)} events/s (${rawSeconds.toFixed(2)} s), ` +
          `HTTP ingest ${formatNumber(ingest.at(-1)!)} events/s (${seconds.toFixed(2)} s) → ${(ratios.at(-1)! * 100).toFixed(0)} %`);
      }
    } finally {
      await server.stop();
    }

    const figures = {
      at: new Date().toISOString(),
      machine: { ...machine(), redis: redisVersion },
      eventsPerRun: events.length, runs, partitions: PARTITIONS,
      rawXadd: { chunk: XADD_CHUNK, eventsPerSecond: raw, median: median(raw) },
      httpIngest: { batchSize: BATCH_SIZE, inFlight: IN_FLIGHT, eventsPerSecond: ingest, median: median(ingest) },
      /** Median over the runs of HTTP ingest / raw XADD of the same run. */
      ratio: median(ratios),
      ratios,
      /** Median CPU µs per event: this process (the raw XADDs, or the HTTP load), the server process and the bench's redis-server. */
      cpuMicrosPerEvent: { raw: medianPerProcess(cpu.raw), http: medianPerProcess(cpu.http) },
    };
    const m = figures.machine;
    log('');
    log(`machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, ${m.platform}, redis ${m.redis}`);
    log(`                           median events/s`);
    log(`  raw XADD (pipelined)     ${formatNumber(figures.rawXadd.median).padStart(15)}`);
    log(`  HTTP ingest              ${formatNumber(figures.httpIngest.median).padStart(15)}`);
    log(`  ingest / raw (median of runs) ${`${(figures.ratio * 100).toFixed(0)} %`.padStart(10)}   (target ≥ 40 %, goal 60 %)`);
    const cpuLine = (c: CpuPerEvent) => `${c.process.toFixed(0)} / ${c.server.toFixed(0)} / ${c.redis.toFixed(0)}`.padStart(15);
    log(`  CPU µs per event: this process / server / redis-server (medians)`);
    log(`    raw XADD               ${cpuLine(figures.cpuMicrosPerEvent.raw)}`);
    log(`    HTTP ingest            ${cpuLine(figures.cpuMicrosPerEvent.http)}`);
    log(`wrote ${writeFigures(context.root, 'ingest', figures)}`);
  } finally {
    await redis.close();
  }
}

/** CPU µs per event of this process, the server and the bench's redis-server. */
type CpuPerEvent = Record<'process' | 'server' | 'redis', number>;

/** XADDs every event to its partition stream, a chunk of concurrent commands at a time; returns seconds. */
async function rawXadd(redis: RedisClient, events: readonly CloudEvent[]): Promise<number> {
  // Serialised before the clock starts: the ceiling is Redis and the client, not JSON.stringify.
  const entries = events.map((e) => ({ key: streamKey(partitionOf(e.partitionkey, PARTITIONS)), json: JSON.stringify(e) }));
  const started = performance.now();
  for (let i = 0; i < entries.length; i += XADD_CHUNK) {
    const acceptedAt = String(Date.now());
    await Promise.all(entries.slice(i, i + XADD_CHUNK).map(({ key, json }) =>
      redis.xAdd(key, '*', { [ENTRY_FIELDS.event]: json, [ENTRY_FIELDS.acceptedAt]: acceptedAt })));
  }
  return (performance.now() - started) / 1000;
}

/**
 * Request bodies of BATCH_SIZE events, ids prefixed with `run` so that no run repeats another's, as
 * UTF-8 bytes: encoding a string body on every request would cost the load generator CPU on the clock,
 * on a core the server needs.
 */
function batchBodies(events: readonly DemoEvent[], run: string): Buffer[] {
  const bodies: Buffer[] = [];
  for (let i = 0; i < events.length; i += BATCH_SIZE) {
    bodies.push(Buffer.from(JSON.stringify(events.slice(i, i + BATCH_SIZE).map((e) => ({ ...e, id: `${run}-${e.id}` })))));
  }
  return bodies;
}

/** POSTs the bodies with IN_FLIGHT requests at a time, on as many kept-alive connections. */
async function postBatches(url: string, bodies: readonly Buffer[], signal: AbortSignal) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const target = new URL('/api/events', url);
  let next = 0;
  let accepted = 0;
  let duplicates = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const result = await postEvents(target, bodies[next++]!, agent, signal).catch((error: unknown) => {
        next = bodies.length; // the other workers stop too
        throw error;
      });
      accepted += result.accepted;
      duplicates += result.duplicates;
    }
  };
  try {
    const started = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    return { seconds: (performance.now() - started) / 1000, accepted, duplicates };
  } finally {
    agent.destroy();
  }
}
