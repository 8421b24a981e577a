/**
 * The composition root of a process's roles: resolves Redis, makes what the
 * roles share (access, metrics, activity), starts each role this process runs
 * (history, api, projector, alerts, the live hub), and stops them in reverse
 * order. It is the one server/ module that knows projections/: it hands their
 * engine and read models to the others as ports. main.ts calls it.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Config } from './config.ts';
import { apiRoutes, type ProjectionPorts } from './api-routes.ts';
import { createHttpApp } from './http/app.ts';
import { healthRoutes } from './http/health.ts';
import { closeServer, listen } from './http/listen.ts';
import { closeWithin, connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { resolveRedis } from './redis/local-redis.ts';
import { buildRegistry } from './registry/build.ts';
import { createValidator } from './registry/validator.ts';
import { viewDefinitions } from './views/definitions.ts';
import { maskState } from './views/mask-views.ts';
import { startLiveHub, type LiveHub } from './live/hub.ts';
import { DeckMetrics } from './metrics/deck-metrics.ts';
import { metricsRoutes } from './metrics/routes.ts';
import { ActivityRecorder } from './pipeline/activity.ts';
import { readPipeline } from './pipeline/pipeline-view.ts';
import { builtInProjections, consumedTypes } from '../projections/index.ts';
import { Projector } from '../projections/engine/projector.ts';
import { OwnedPartitions } from '../projections/engine/owned-partitions.ts';
import { backoffMs } from '../platform/retry/backoff.ts';
import type { ConsumerEngine } from './history/consumer-engine.ts';
import { startHistoryRole, type HistoryRole } from './history/history-role.ts';
import { openHistoryStore } from './history/open-store.ts';
import { AlertEvaluator } from './alerts/alerts-role.ts';
import { memorySource } from './views/memory-source.ts';
import { foldInMemory } from '../projections/fold-in-memory.ts';
import { ProjectionRebuilds } from '../projections/rebuild/rebuilds.ts';
import { toAnalyticRows } from '../projections/analytics/to-rows.ts';
import { upcast, type Registry } from '../shared/registry.ts';
import { redriveDeadLetter } from '../projections/engine/redrive.ts';
import { createAccess } from './auth/access.ts';
import { localModeNotice } from './auth/auth-settings.ts';
import { AuditTrail } from './audit/audit-trail.ts';

export interface EventDeckOptions {
  log?: (line: string) => void;
  now?: () => number;
  /** Port of the local Redis default (6379), changeable for tests. */
  localRedisPort?: number;
  /** Where the built web app is (default dist/web of the repository). */
  webDir?: string;
}

/** How long stopping waits for a hub connection to close gracefully. */
const CLOSE_WAIT_MS = 2_000;

const DEFAULT_WEB_DIR = path.resolve(import.meta.dirname, '../dist/web');

export interface RunningEventDeck {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080 */
  url: string;
  redisUrl: string;
  /** The live hub, with the api role. */
  hub?: LiveHub;
  /** The history store and writer, with the history role. */
  history?: HistoryRole;
  stop(): Promise<void>;
}

export async function startEventDeck(config: Readonly<Config>, options: EventDeckOptions = {}): Promise<RunningEventDeck> {
  const log = options.log ?? ((line: string) => console.log(line));
  const now = options.now ?? Date.now;
  const registry = buildRegistry(config.registryTypes);
  const validator = createValidator(registry);
  const resolved = await resolveRedis({
    redisUrl: config.redisUrl, dataDir: config.dataDir, localPort: options.localRedisPort, log,
  });
  const stops: Array<() => Promise<void>> = [];
  if (resolved.local) stops.push(resolved.local.stop);
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const redis = await connectRedis(resolved.url, { failFast: true });
    stops.push(async () => void (await redis.close()));
    const access = createAccess(config, redis, now);
    const trail = new AuditTrail(redis, now);
    const projectionPorts = projectionsAsPorts(registry, config.partitions, now, log);
    const metrics = new DeckMetrics({ roles: config.roles, redis, registry, partitions: config.partitions, projections: projectionPorts.names, now, log });
    stops.push(async () => metrics.close());
    // What this process does, per second, for the pipeline view of every api process.
    const activity = new ActivityRecorder(redis, { now, log });
    activity.start();
    stops.push(() => activity.stop());

    // First: the api role reads the history store (?asOf=, analyst SQL) of this process.
    let history: HistoryRole | undefined;
    if (config.roles.has('history')) {
      // Its own connection, which waits through Redis outages like the projector's.
      const historyRedis = await connectRedis(resolved.url);
      stops.push(async () => void (await historyRedis.close()));
      history = await startHistoryRole({
        config, redis: historyRedis, engine: consumerEngine, now, log,
        // The analytic tables read events as the live projections do: upcast to the newest version.
        toAnalyticRows: (event) => toAnalyticRows(upcast(registry, event)),
      });
      stops.push(() => history!.stop());
      metrics.consumers?.watchHistory(history.writer.committed$);
      history.writer.committed$.subscribe((batch) => activity.stored(batch));
    }
    // Where past states are folded from: this process's history store, or a ClickHouse server any process may read.
    const pastStore = history?.store ?? (config.roles.has('api') && config.clickhouseUrl ? await openHistoryStore(config) : undefined);
    if (pastStore && !history) stops.push(() => pastStore.close());

    const routes: Array<[string, ReturnType<typeof healthRoutes>]> = [['/', healthRoutes(redis)], ['/', metricsRoutes(metrics)]];
    const views = viewDefinitions({
      source: redis, config, now,
      pipeline: (at) => readPipeline(redis, { partitions: config.partitions, projections: projectionPorts.names, now: at }),
    });
    let hub: LiveHub | undefined;
    if (config.roles.has('api')) {
      routes.push(...await apiRoutes({
        config, redis, redisUrl: resolved.url, registry, validator, views, projections: projectionPorts, access, pastStore,
        ingestObservers: [...(metrics.ingest ? [metrics.ingest] : []), activity],
        // The hub starts after the routes: it is looked up when a key is retired.
        keyRetired: (id) => hub?.disconnectPrincipal('key', id),
        webDir: options.webDir ?? DEFAULT_WEB_DIR, now, log, onStop: (stop) => stops.push(stop),
      }));
    }
    if (config.roles.has('projector')) {
      // The projector waits through Redis outages instead of failing fast like ingest.
      const projectorRedis = await connectRedis(resolved.url);
      const projector = new Projector({
        redis: projectorRedis, registry, projections: builtInProjections, partitions: config.partitions,
        ...config.projector, now, log,
      });
      metrics.consumers?.watchProjector(projector.committed$);
      projector.committed$.subscribe((batch) => activity.applied(batch));
      await projector.start();
      stops.push(async () => {
        await projector.stop();
        await projectorRedis.close();
      });
    }
    if (config.roles.has('alerts')) {
      const alerts = new AlertEvaluator({
        redis, ...config.alerts, levels: config.inventory, stageLimitsMs: config.stageLimitsMs, partitions: config.partitions, now, log,
      });
      await alerts.start();
      stops.push(() => alerts.stop());
    }
    const app = createHttpApp({ routes, middleware: access.middleware(trail, log), log });
    const server = await listen(app.fetch, config.host, config.port, config.tls);
    stops.push(() => closeServer(server));
    if (config.roles.has('api')) {
      // Connections of the hub's own: change notices, and the Socket.IO Redis adapter (what crosses nodes).
      const [subscriber, adapterPub, adapterSub] = await Promise.all([0, 1, 2].map(async () => {
        const connection = redis.duplicate({ disableOfflineQueue: false });
        connection.on('error', () => {});
        await connection.connect();
        return connection;
      }));
      hub = await startLiveHub({
        httpServer: server as import('node:http').Server, views, redis, subscriber: subscriber!, adapterPub, adapterSub, log, now, ...config.live,
        onPush: metrics.live?.pushed, authenticate: (token) => access.identify(token), maskState,
      });
      metrics.live?.watch(hub, Object.keys(views));
      stops.push(async () => {
        await hub!.close();
        for (const connection of [subscriber, adapterPub, adapterSub]) await closeWithin(connection!, CLOSE_WAIT_MS);
      });
    }
    const { port } = server.address() as AddressInfo;
    const url = `${config.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log(`EventDeck listening on ${url} (roles: ${[...config.roles].join(', ')}; Redis ${resolved.url})`);
    if (access.local) log(localModeNotice(config.host, port));
    return { url, redisUrl: resolved.url, hub, history, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export type { RedisClient };

/** The consumer-group engine of projections/engine, handed to the history writer (server/ may not import it). */
export const consumerEngine: ConsumerEngine = {
  ownedPartitions: (redis, options, work) => new OwnedPartitions(redis, options, work),
  backoffMs,
};

/** What the api routes need of projections/, which only this module may import. */
function projectionsAsPorts(registry: Registry, partitions: number, now: () => number, log: (line: string) => void): ProjectionPorts {
  const byName = new Map(builtInProjections.map((p) => [p.name, p]));
  return {
    names: [...byName.keys()],
    consumers: builtInProjections.map((p) => ({ name: p.name, views: p.views, consumes: consumedTypes[p.name] ?? [] })),
    foldPast: (events) => memorySource(foldInMemory(builtInProjections, events)),
    rebuilds: (redis, events) => new ProjectionRebuilds({ redis, registry, projections: builtInProjections, partitions, events, now, log }),
    redrive: (redis) => ({
      projections: [...byName.keys()],
      redrive: async (name, letter) => {
        const projection = byName.get(name);
        if (!projection) throw new RangeError(`no projection "${name}" to re-drive into`);
        return redriveDeadLetter({ redis, registry, projection, letter, now });
      },
    }),
  };
}
