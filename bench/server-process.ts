/**
 * The real EventDeck server as a child process, so that it and the load
 * generator run on different cores, as in production.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../platform/net/free-port.ts';

export interface ServerProcess {
  url: string;
  /** SIGTERM (a graceful stop, which also writes a CPU profile), SIGKILL if it hangs. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  root: string;
  /** Settings by their external names (PORT is chosen here). */
  env: Record<string, string>;
  cpuProfDir?: string;
  signal: AbortSignal;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const port = await freePort();
  const profile = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  // The same node flags as `npm start`, so the figures are those of the server users run.
  const child = spawn(process.execPath, [...profile, '--max-semi-space-size=32', '--import', 'tsx', path.join('server', 'main.ts')], {
    cwd: options.root,
    // EVENTDECK_CONFIG is cleared so that a developer's config file cannot change what is measured.
    env: { ...process.env, EVENTDECK_CONFIG: '', ...options.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep the tail of its output to explain a failure; nothing is printed while it works.
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    output.splice(0, output.length - 20);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !options.signal.aborted && child.exitCode === null) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) return { url, stop };
    await sleep(100);
  }
  await stop();
  options.signal.throwIfAborted();
  throw new Error(`the EventDeck server did not become ready on ${url}; its last output:\n  ${output.join('\n  ')}`);
}
