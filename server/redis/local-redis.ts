/**
 * The edge default (DESIGN.md section 6): when no REDIS_URL is given and
 * nothing answers on 127.0.0.1:6379, start a local redis-server with its data
 * and AOF under the data dir. It listens on the same port, so the next start
 * (or a second EventDeck process) finds and shares it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ResolvedRedis {
  url: string;
  /** Set when EventDeck started the server itself. */
  local?: { process: ChildProcess; stop(): Promise<void> };
}

export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  readonly code = 'EVENTDECK_NO_REDIS';
}

export interface ResolveOptions {
  redisUrl?: string;
  dataDir: string;
  /** Where the local default lives; 6379 but for tests. */
  localPort?: number;
  log?: (line: string) => void;
}

export async function resolveRedis(options: ResolveOptions): Promise<ResolvedRedis> {
  if (options.redisUrl) return { url: options.redisUrl };
  const port = options.localPort ?? 6379;
  const url = `redis://127.0.0.1:${port}`;
  if (await answersPing(port)) return { url };
  if (spawnSync('redis-server', ['--version']).error) {
    throw new RedisUnavailableError(
      `No Redis: REDIS_URL is not set, nothing answers on 127.0.0.1:${port}, and redis-server is not installed.\n` +
      '  Either set REDIS_URL=redis://host:6379, or install Redis (Debian: apt-get install redis-server) and start again.',
    );
  }
  const dir = path.join(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
    // Redis compacts its AOF (a forked child re-writes the whole dataset) from 64 MB on by default: at
    // 5,000 events/s an event bus writes ~15 MB/s, so a young data dir was rewritten every few seconds,
    // and on a small machine those children took the CPU the projector needed (p99 latency 112 → 600+
    // ms, bench/projection.ts). From 1 GB on, and then each time it doubles, as Redis does by default.
    '--auto-aof-rewrite-min-size', '1gb',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) break;
    if (await answersPing(port)) {
      options.log?.(`started a local redis-server on 127.0.0.1:${port} (AOF on, data in ${dir})`);
      return { url, local: { process: child, stop: () => stopChild(child) } };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new RedisUnavailableError(`a local redis-server on 127.0.0.1:${port} did not start (data dir ${dir})`);
}

/** True when a Redis answers +PONG on 127.0.0.1:port within a short time. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM'); // redis-server flushes the AOF on SIGTERM
  await exited;
}
