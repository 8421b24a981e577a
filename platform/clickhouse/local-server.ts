/**
 * A private ClickHouse server for a test file or a benchmark: Debian's
 * clickhouse-server (18.16) on free loopback ports, with its own data dir and
 * a generated minimal config. It can be stopped and started again on the same
 * ports and data (outage tests). Nothing of EventDeck starts one: in
 * production CLICKHOUSE_URL names a server someone runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../net/free-port.ts';

export interface LocalClickHouse {
  /** For CLICKHOUSE_URL: http://127.0.0.1:<port> (database "default", user "default"). */
  url: string;
  httpPort: number;
  dir: string;
  /** Stops it gracefully (SIGTERM), keeping its data: an outage until start(). */
  halt(): Promise<void>;
  /** Stops it as a crash would (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data dir; resolves once /ping answers. */
  start(): Promise<void>;
  /** Ends it and deletes its data. */
  stop(): Promise<void>;
}

/** Debian installs the server under /usr/sbin, which a non-root PATH often lacks. */
export function clickhouseServerBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'clickhouse-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory: try the next
    }
  }
  return undefined;
}

export function clickhouseServerInstalled(): boolean {
  return clickhouseServerBinary() !== undefined;
}

export interface LocalClickHouseOptions {
  /**
   * Seconds an idle keep-alive connection stays open (default 1). A graceful stop waits for idle
   * keep-alive connections to time out, so outage tests keep it short; but @clickhouse/client reuses
   * a socket idle for up to 2.5 s (its idle_socket_ttl), so below that a reused socket may have been
   * closed by the server (EPIPE, ECONNRESET). The Debian config ships 3, which a benchmark wants:
   * https://github.com/ClickHouse/clickhouse-js/blob/main/docs/howto/keep_alive_timeout.md
   */
  keepAliveTimeoutSeconds?: number;
}

export async function startLocalClickHouse(options: LocalClickHouseOptions = {}): Promise<LocalClickHouse> {
  const binary = clickhouseServerBinary();
  if (!binary) throw new Error('clickhouse-server is not installed (Debian: apt-get install clickhouse-server)');
  const [httpPort, tcpPort, interserverPort] = await distinctFreePorts(3);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-clickhouse-'));
  const configFile = path.join(dir, 'config.xml');
  writeFileSync(configFile, serverConfig(dir, httpPort!, tcpPort!, interserverPort!, options.keepAliveTimeoutSeconds ?? 1));
  writeFileSync(path.join(dir, 'users.xml'), USERS_XML);

  let child: ChildProcess | undefined;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const spawned = spawn(binary, [`--config-file=${configFile}`], { cwd: dir, stdio: 'ignore' });
    child = spawned;
    const failed = new Promise<never>((_, reject) => {
      spawned.once('error', (error) => reject(new Error(`clickhouse-server could not start: ${error.message}`)));
      spawned.once('exit', (code, signal) =>
        reject(new Error(`clickhouse-server exited at start (${code ?? signal}): ${logTail(dir)}`)));
    });
    failed.catch(() => {}); // it also exits later, on halt(); only the race below cares
    await Promise.race([waitForPing(httpPort!), failed]);
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `http://127.0.0.1:${httpPort}`,
    httpPort: httpPort!,
    dir,
    halt: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    start,
    async stop() {
      // Its data goes next, so a graceful shutdown (seconds on 18.16) would buy nothing.
      await halt('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await pings(port)) return;
    await sleep(50);
  }
  throw new Error(`clickhouse-server on port ${port} did not answer /ping within 30 s`);
}

/** One GET /ping on a fresh connection (no keep-alive socket left to delay a later stop). */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/ping', agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('error', () => resolve(false));
  });
}

function logTail(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'server.err.log'), 'utf8').split('\n').slice(-5).join('\n');
  } catch {
    return '(no error log)';
  }
}

// Small caches: a test or bench server holds little. UTC, so DateTime text means the same as in chDB.
function serverConfig(dir: string, httpPort: number, tcpPort: number, interserverPort: number, keepAliveTimeout: number): string {
  const data = path.join(dir, 'data');
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/server.log</log>
    <errorlog>${dir}/server.err.log</errorlog>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <interserver_http_port>${interserverPort}</interserver_http_port>
  <path>${data}/</path>
  <tmp_path>${data}/tmp/</tmp_path>
  <user_files_path>${data}/user_files/</user_files_path>
  <format_schema_path>${data}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  <keep_alive_timeout>${keepAliveTimeout}</keep_alive_timeout>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`;
