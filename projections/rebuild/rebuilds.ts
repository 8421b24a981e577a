/**
 * Rebuilds of the live projections (POST /api/projections/:name/rebuild): one
 * at a time per projection across every process (a lock in Redis, with a TTL
 * renewed while it runs), with its status in Redis so any api process can
 * answer `GET /api/projections/:name/rebuild`. A status that says running
 * while nobody holds the lock belonged to a process that stopped: it reads as failed.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import { readModelKeyPatterns, rebuildKeys, type ReadModelKeyPattern, type RebuildStatus } from '../../shared/read-models.ts';
import type { Registry } from '../../shared/registry.ts';
import type { Projection } from '../projection.ts';
import { RebuildError, RebuildLockLostError, RebuildStoppedError } from './errors.ts';
import type { RebuildEventStore } from './event-store.ts';
import { KeyPatterns } from './key-patterns.ts';
import { DEFAULT_REBUILD_SETTINGS, runRebuild, type RebuildOutcome, type RebuildSettings } from './rebuild-run.ts';
import { clearStaging } from './staging.ts';

export interface ProjectionRebuildsOptions {
  redis: RedisClient;
  registry: Registry;
  projections: readonly Projection[];
  partitions: number;
  events: RebuildEventStore;
  /** Where each projection keeps its keys (default: the built-ins', shared/read-models.ts). */
  keyPatterns?: Readonly<Record<string, readonly ReadModelKeyPattern[]>>;
  settings?: Partial<RebuildSettings>;
  /** The lock's TTL; it is renewed at a third of it. */
  lockTtlMs?: number;
  /** Least time between two progress writes to Redis. */
  progressEveryMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export type StartOutcome =
  | { outcome: 'started'; status: RebuildStatus }
  | { outcome: 'running'; status: RebuildStatus | undefined }
  | { outcome: 'unknown' }
  | { outcome: 'undeclared' };

const ABANDONED = { code: 'EVENTDECK_REBUILD_ABANDONED', message: 'the process running the rebuild stopped before it finished' };

// KEYS[1] the lock, ARGV[1] its owner, ARGV[2] the TTL (ms, '' to release).
const renewOrRelease = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`);

export class ProjectionRebuilds {
  /** Every projection by name; those without key patterns cannot be rebuilt. */
  readonly names: readonly string[];
  readonly #options: Required<Omit<ProjectionRebuildsOptions, 'settings'>> & { settings: RebuildSettings };
  readonly #running = new Map<string, { controller: AbortController; done: Promise<RebuildStatus> }>();

  constructor(options: ProjectionRebuildsOptions) {
    this.#options = {
      keyPatterns: readModelKeyPatterns, lockTtlMs: 30_000, progressEveryMs: 200, now: Date.now, log: () => {},
      ...options,
      settings: { ...DEFAULT_REBUILD_SETTINGS, ...options.settings },
    };
    this.names = options.projections.map((p) => p.name);
  }

  async start(name: string): Promise<StartOutcome> {
    const { redis, projections, keyPatterns, lockTtlMs, now } = this.#options;
    const projection = projections.find((p) => p.name === name);
    if (!projection) return { outcome: 'unknown' };
    const patterns = keyPatterns[name];
    if (!patterns || patterns.length === 0) return { outcome: 'undeclared' };
    const owner = randomUUID();
    if ((await redis.set(rebuildKeys.lock(name), owner, { condition: 'NX', expiration: { type: 'PX', value: lockTtlMs } })) === null) {
      return { outcome: 'running', status: await this.status(name) };
    }
    const status: RebuildStatus = {
      projection: name, state: 'running', phase: 'history', done: 0, total: 0, skipped: 0, startedAt: new Date(now()).toISOString(),
    };
    try {
      await this.#write(status);
    } catch (error) {
      await renewOrRelease.run(redis, [rebuildKeys.lock(name)], [owner, '']).catch(() => undefined);
      throw error;
    }
    const controller = new AbortController();
    const done = this.#run(projection, new KeyPatterns(name, patterns), owner, status, controller);
    this.#running.set(name, { controller, done });
    void done.finally(() => this.#running.delete(name));
    return { outcome: 'started', status };
  }

  /** The last rebuild of a projection, or undefined when none has run. */
  async status(name: string): Promise<RebuildStatus | undefined> {
    const { redis } = this.#options;
    const [json, lock] = await Promise.all([redis.get(rebuildKeys.status(name)), redis.exists(rebuildKeys.lock(name))]);
    if (!json) return undefined;
    const status = JSON.parse(json) as RebuildStatus;
    if (status.state !== 'running' || lock === 1) return status;
    // Read again: the run may have finished between the two reads.
    const again = await redis.get(rebuildKeys.status(name));
    const latest = again ? (JSON.parse(again) as RebuildStatus) : status;
    return latest.state === 'running' ? { ...latest, phase: undefined, state: 'failed', error: ABANDONED } : latest;
  }

  /** Stops the running rebuilds (their live read models stay as they were) and waits for them. */
  async stop(): Promise<void> {
    const running = [...this.#running.values()];
    for (const { controller } of running) controller.abort(new RebuildStoppedError('EventDeck is stopping'));
    await Promise.allSettled(running.map((r) => r.done));
  }

  async #run(projection: Projection, patterns: KeyPatterns, owner: string, status: RebuildStatus, controller: AbortController): Promise<RebuildStatus> {
    const { redis, registry, partitions, events, settings, lockTtlMs, progressEveryMs, now, log } = this.#options;
    const name = projection.name;
    const lock = rebuildKeys.lock(name);
    const renewal = setInterval(() => {
      renewOrRelease.run(redis, [lock], [owner, String(lockTtlMs)]).then((held) => {
        if (Number(held) !== 1) controller.abort(new RebuildLockLostError(`the rebuild of ${name} lost its lock`));
      }, (error: Error) => log(`rebuild ${name}: renewing the lock failed: ${error.message}`));
    }, lockTtlMs / 3);
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    let current = status;
    let final: RebuildStatus;
    try {
      log(`rebuild ${name}: started`);
      const outcome: RebuildOutcome = await runRebuild({
        redis, registry, partitions, events, projection, patterns, owner, settings, signal: controller.signal, log,
        progress: (progress) => {
          const phaseChanged = progress.phase !== current.phase;
          current = { ...current, ...progress };
          if (!phaseChanged && now() - lastWrite < progressEveryMs) return;
          lastWrite = now();
          const snapshot = current;
          writing = writing.then(() => this.#write(snapshot)).catch((error: Error) => log(`rebuild ${name}: progress not written: ${error.message}`));
        },
      });
      final = {
        ...current, state: 'done', phase: undefined, done: outcome.done, total: outcome.total, skipped: outcome.skipped,
        finishedAt: new Date(now()).toISOString(),
      };
      const phases = Object.entries(outcome.phasesMs).map(([phase, ms]) => `${phase} ${Math.round(ms)} ms`).join(', ');
      log(`rebuild ${name}: done, ${outcome.done} events, ${outcome.skipped} left out, ${outcome.keys} keys replacing ${outcome.replaced}, ` +
        `switched on attempt ${outcome.attempts} (${phases})`);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const code = failure instanceof RebuildError ? failure.code : ((failure as { code?: unknown }).code as string | undefined) ?? 'EVENTDECK_REBUILD_FAILED';
      final = { ...current, state: 'failed', phase: undefined, finishedAt: new Date(now()).toISOString(), error: { code: String(code), message: failure.message } };
      log(`rebuild ${name}: failed: ${failure.stack ?? failure.message}`);
      await clearStaging(redis, name).catch((e: Error) => log(`rebuild ${name}: staged keys not removed: ${e.message}`));
    } finally {
      clearInterval(renewal);
      await writing;
    }
    await this.#write(final).catch((error: Error) => log(`rebuild ${name}: final status not written: ${error.message}`));
    await renewOrRelease.run(redis, [lock], [owner, '']).catch(() => undefined);
    return final;
  }

  async #write(status: RebuildStatus): Promise<void> {
    await this.#options.redis.set(rebuildKeys.status(status.projection), JSON.stringify(status));
  }
}
