/**
 * A private redis-server for one test file, on a free port with its own data
 * dir, so tests never share state and can restart or kill -9 it. A missing
 * redis-server fails the test: it is never skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../platform/net/free-port.ts';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops it as a crash would (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir (AOF replays what it held). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestRedis(options: { appendonly?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', options.appendonly ? 'yes' : 'no', '--appendfsync', 'always',
    ], { stdio: 'ignore' });
    const failed = new Promise<never>((_, reject) => {
      child!.once('error', (error) => reject(new Error(`redis-server could not start (is it installed?): ${error.message}`)));
    });
    await Promise.race([waitForPort(port), failed]);
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill: () => halt('SIGKILL'),
    restart: start,
    async stop() {
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not start within 5 s`);
}
