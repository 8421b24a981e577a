/**
 * `npm run bench [-- part…]`: runs the benchmark parts (all by default) against
 * a private redis-server on a free port with a temporary data dir, never a
 * Redis of the developer's. Everything it starts is stopped at the end, also on
 * error or Ctrl+C. BENCH_EVENTS (default 50000) and BENCH_RUNS (default 5) size
 * the runs; BENCH_CPU_PROF=<dir> makes child servers write CPU profiles there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveRedis } from '../server/redis/local-redis.ts';
import { historyPart } from './history.ts';
import { ingestPart } from './ingest.ts';
import { livePart } from './live.ts';
import { freePort } from '../platform/net/free-port.ts';
import type { BenchPart } from './part.ts';
import { projectionPart } from './projection.ts';
import { rebuildPart } from './rebuild.ts';

/** Each part in its own module; later issues add theirs here. */
const PARTS: readonly BenchPart[] = [ingestPart, projectionPart, livePart, historyPart, rebuildPart];

function positiveInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got "${text}"`);
  return value;
}

const controller = new AbortController();

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !PARTS.some((p) => p.name === n));
  if (unknown.length > 0) throw new Error(`unknown bench part ${unknown.join(', ')}; the parts are ${PARTS.map((p) => p.name).join(', ')}`);
  const parts = names.length > 0 ? PARTS.filter((p) => names.includes(p.name)) : PARTS;
  const events = positiveInt('BENCH_EVENTS', 50_000);
  const runs = positiveInt('BENCH_RUNS', 5);
  const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`${signal}: stopping after the current batch, then cleaning up…`);
      controller.abort();
    });
  }
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-bench-'));
  const log = (line: string) => console.log(line);
  try {
    // A free port has no Redis on it, so resolveRedis starts one there (AOF everysec, as EventDeck runs it).
    const redis = await resolveRedis({ dataDir: tmpDir, localPort: await freePort(), log });
    if (!redis.local) throw new Error(`a Redis took ${redis.url} meanwhile; the bench leaves it alone (it would FLUSHALL it)`);
    try {
      for (const part of parts) {
        await part.run({ root, redisUrl: redis.url, tmpDir, events, runs, cpuProfDir, signal: controller.signal, log });
      }
    } finally {
      await redis.local?.stop();
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  if (controller.signal.aborted) console.error('bench interrupted; what it started is stopped');
  else console.error('bench failed:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
