/**
 * Live views under load: 500 Socket.IO clients (in the bench process), each
 * subscribed to overview and inventory, while the real server (a child
 * process with every role: ingest, projector, live hub) takes 5,000 events/s on
 * a fixed open-loop schedule. Reported: event-to-client latency (p50, p90, p99,
 * max, target p99 < 250 ms) measured with a probe row (bench/live-clients.ts),
 * pushes per client per view per second (at most 10 by the conflation contract),
 * and the CPU of the server, its Redis and the bench process.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFlows, type DemoEvent } from '../demo/flows.ts';
import { connectRedis } from '../platform/redis/client.ts';
import { LIVE_VIEWS, LiveClients, PROBE, type LiveView } from './live-clients.ts';
import { formatNumber, machine, writeFigures, type BenchContext, type BenchPart } from './part.ts';
import { childPid, cpuSeconds } from './process-cpu.ts';
import { runOpenLoop, STEADY_LOAD } from './open-loop-load.ts';
import { startServerProcess } from './server-process.ts';

const CLIENTS = 500;
/** 49 events of the demo flows and the probe per batch, on the steady schedule of bench/open-loop-load.ts. */
const { batch: BATCH, intervalMs: INTERVAL_MS, warmUpMs: WARM_UP_MS, measureMs: MEASURE_MS } = STEADY_LOAD;
/** After the load, every client has this long to see the last batch. */
const SETTLE_TIMEOUT_MS = 60_000;
const CONFLATION_MS = 100;

export const livePart: BenchPart = { name: 'live', run };

/** CPU time so far (seconds; undefined where /proc could not be read) at a moment of performance.now(). */
interface CpuSample {
  at: number;
  server?: number;
  redis?: number;
  bench: NodeJS.CpuUsage;
}

async function run(context: BenchContext): Promise<void> {
  const { log, signal } = context;
  const batches = (WARM_UP_MS + MEASURE_MS) / INTERVAL_MS;
  const warmUpBatches = WARM_UP_MS / INTERVAL_MS;
  const targetRate = (BATCH * 1000) / INTERVAL_MS;
  log(`live: ${CLIENTS} clients × (${LIVE_VIEWS.join(', ')}); ${formatNumber(targetRate)} events/s ` +
    `(${BATCH} every ${INTERVAL_MS} ms), ${WARM_UP_MS / 1000} s warm-up, then ${MEASURE_MS / 1000} s measured…`);
  // Built first: building blocks the event loop for seconds, and a keep-alive connection the server closed
  // meanwhile would go unnoticed and be reused ("other side closed").
  const bodies = batchBodies(batches);

  const redis = await connectRedis(context.redisUrl);
  let redisVersion = 'unknown';
  try {
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? redisVersion;
    await redis.flushAll();
  } finally {
    await redis.close();
  }
  const server = await startServerProcess({
    root: context.root, signal, cpuProfDir: context.cpuProfDir,
    env: {
      REDIS_URL: context.redisUrl, EVENTDECK_ROLES: 'api,projector', EVENTDECK_DATA_DIR: context.tmpDir,
      EVENTDECK_LIVE_CONFLATION_MS: String(CONFLATION_MS),
    },
  });
  // Batch k (from 1) is the k-th probe event: sentAt[k] is when it went out.
  const sentAt = new Float64Array(batches + 1);
  const measured = (batch: number) => batch > warmUpBatches;
  let clients: LiveClients | undefined;
  try {
    const pids = { server: childPid('server/main.ts'), redis: childPid('redis-server') };
    clients = await LiveClients.connect(server.url, CLIENTS, { sentAt, measured }, signal);
    log(`  ${formatNumber(clients.size)} clients connected and subscribed`);

    let cpuStart: CpuSample | undefined;
    const sampleCpu = (): CpuSample => ({ at: performance.now(), server: cpuSeconds(pids.server), redis: cpuSeconds(pids.redis), bench: process.cpuUsage() });
    const load = await runOpenLoop({
      url: server.url, bodies, warmUpBatches, signal,
      onSend: (k, _due, at) => {
        // The measured window (and its CPU) starts as the first batch after the warm-up goes out.
        if (k === warmUpBatches) cpuStart = sampleCpu();
        sentAt[k + 1] = at;
      },
      onProgress: (elapsed, accepted) => log(`    ${String(elapsed / 1000).padStart(2)} s: ${formatNumber(accepted)} accepted; ` +
        `the slowest client has seen batch ${formatNumber(clients!.slowestProbe)} of ${formatNumber(elapsed / INTERVAL_MS)}; ` +
        `${formatNumber(clients!.pushesSoFar)} pushes received${elapsed === WARM_UP_MS ? ' (end of warm-up)' : ''}`),
    });
    const cpuEnd = sampleCpu();
    const windowStart = cpuStart!.at;
    const windowEnd = cpuEnd.at;

    // Latencies of late pushes count too: wait until every client has seen the last batch.
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    while (clients.slowestProbe < batches && Date.now() < deadline) {
      signal.throwIfAborted();
      await sleep(50);
    }
    if (clients.slowestProbe < batches) {
      throw new Error(`${SETTLE_TIMEOUT_MS / 1000} s after the load, a client had seen only batch ${clients.slowestProbe} of ${batches}`);
    }

    const figures = {
      at: new Date().toISOString(),
      machine: { ...machine(), redis: redisVersion },
      clients: CLIENTS, views: LIVE_VIEWS, conflationMs: CONFLATION_MS,
      load: {
        targetRate, batch: BATCH, intervalMs: INTERVAL_MS, warmUpSeconds: WARM_UP_MS / 1000, measuredSeconds: MEASURE_MS / 1000,
        accepted: load.accepted, maxScheduleLagMs: Math.round(load.maxLagMs), maxRequestsInFlight: load.maxInFlight,
      },
      latencyMs: percentiles(clients.latencies),
      pushesPerClientPerViewPerSecond: Object.fromEntries(LIVE_VIEWS.map((view) => [view, summary(clients!.rates(view, windowStart, windowEnd))])) as Record<LiveView, { mean: number; max: number }>,
      cpuPercentOfOneCore: cpuPercent(cpuStart!, cpuEnd),
    };
    report(figures, log);
    log(`wrote ${writeFigures(context.root, 'live', figures)}`);
  } finally {
    clients?.close();
    await server.stop();
  }
}

/**
 * The demo's traffic (seed 42, no duplicates, no reordering), paced as the demo
 * simulator paces it: on a virtual clock that advances 10 ms per batch, each batch
 * takes the saga steps that have come due and starts new flows (orders, restocks,
 * counts) for the rest, so sagas unfold over their real seconds and the orders in
 * flight build up as they would at this rate. Each batch ends with the probe. The
 * events keep their planned times: their batch's place in the schedule, counted
 * from when the bodies are built (some seconds before the clock runs, so a little
 * in the past when they are sent).
 */
function batchBodies(batches: number): string[] {
  const startAt = Date.now();
  const flows = createFlows({ seed: 42, startAt, duplicateRate: 0, reorderRate: 0 });
  const tag = startAt.toString(36);
  const bodies: string[] = [];
  for (let k = 1; k <= batches; k++) {
    const now = startAt + (k - 1) * INTERVAL_MS;
    const events: DemoEvent[] = flows.takeDue(now, BATCH - 1);
    while (events.length < BATCH - 1) {
      flows.startFlow(now);
      events.push(...flows.takeDue(now, BATCH - 1 - events.length));
    }
    events.push({
      specversion: '1.0', id: `probe-${tag}-${k}`, source: '/bench/live', type: 'inventory.received', time: new Date(now).toISOString(),
      subject: `${PROBE.warehouseId}:${PROBE.sku}`, data: { ...PROBE, qty: 1 },
    });
    bodies.push(JSON.stringify(events));
  }
  return bodies;
}

function percentiles(samples: readonly number[]) {
  const sorted = Float64Array.from(samples).sort();
  const rank = (q: number) => Math.round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN);
  return { samples: sorted.length, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: Math.round(sorted.at(-1) ?? NaN) };
}

function summary(values: readonly number[]) {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return { mean: Math.round(mean * 100) / 100, max: Math.round(Math.max(...values) * 100) / 100 };
}

/** CPU time over the measured window as % of one core; undefined where /proc could not be read. */
function cpuPercent(from: CpuSample, to: CpuSample) {
  const seconds = (to.at - from.at) / 1000;
  const percent = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : Math.round(((b - a) / seconds) * 100));
  return {
    server: percent(from.server, to.server),
    redis: percent(from.redis, to.redis),
    bench: Math.round(((to.bench.user - from.bench.user + to.bench.system - from.bench.system) / 1e6 / seconds) * 100),
  };
}

function report(figures: {
  machine: ReturnType<typeof machine> & { redis: string };
  load: { targetRate: number; accepted: number; measuredSeconds: number; maxScheduleLagMs: number; maxRequestsInFlight: number };
  latencyMs: ReturnType<typeof percentiles>;
  pushesPerClientPerViewPerSecond: Record<LiveView, { mean: number; max: number }>;
  cpuPercentOfOneCore: ReturnType<typeof cpuPercent>;
}, log: (line: string) => void): void {
  const { machine: m, load, latencyMs: l, pushesPerClientPerViewPerSecond: pushes, cpuPercentOfOneCore: cpu } = figures;
  const ms = (n: number) => `${formatNumber(n)} ms`;
  const pct = (n: number | undefined) => (n === undefined ? 'n/a' : `${n} %`);
  log('');
  log(`machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}, ${m.platform}, redis ${m.redis}`);
  log(`  ${CLIENTS} clients × (${LIVE_VIEWS.join(', ')}) at ${formatNumber(load.targetRate)} events/s; ${formatNumber(load.accepted)} events accepted; ` +
    `schedule lag ≤ ${load.maxScheduleLagMs} ms, ≤ ${load.maxRequestsInFlight} requests in flight`);
  log(`  event → client latency   ${formatNumber(l.samples)} samples (client × batch) in the ${load.measuredSeconds} s window`);
  log(`    p50                    ${ms(l.p50).padStart(15)}`);
  log(`    p90                    ${ms(l.p90).padStart(15)}`);
  log(`    p99                    ${ms(l.p99).padStart(15)}   (target < 250 ms)`);
  log(`    max                    ${ms(l.max).padStart(15)}`);
  log(`  pushes per client per view per second      mean      max   (at most ${1000 / CONFLATION_MS})`);
  for (const view of LIVE_VIEWS) {
    log(`    ${view.padEnd(38)} ${pushes[view].mean.toFixed(2).padStart(6)} ${pushes[view].max.toFixed(2).padStart(8)}`);
  }
  log(`  CPU, % of one core       server ${pct(cpu.server)}, its redis ${pct(cpu.redis)}, bench process (clients and load) ${pct(cpu.bench)}`);
}
