/**
 * The api role's HTTP routes: ingest, the read API, analyst SQL, the
 * operations console, security administration and the web app. What they need
 * of projections/ (which server/ may not import) comes in as ProjectionPorts
 * from the composition root, server/eventdeck.ts.
 */
import type { Hono } from 'hono';
import type { CloudEvent } from '../shared/cloudevent.ts';
import type { Registry } from '../shared/registry.ts';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { alertRoutes } from './alerts/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import type { Access } from './auth/access.ts';
import { assertAllowed, batchPublishRefusal } from './auth/guards.ts';
import { embedTokenRoutes, keyRoutes } from './auth/key-routes.ts';
import { meRoutes } from './auth/me-routes.ts';
import { principalOf } from './auth/principal-context.ts';
import { catalogRoutes, type CatalogRouteDeps } from './catalog/routes.ts';
import type { Config } from './config.ts';
import type { DeadLetterRedrivePort } from './dlq/redrive-port.ts';
import { deadLetterRoutes } from './dlq/routes.ts';
import { DeadLetterWorkbench } from './dlq/workbench.ts';
import { eventsUpTo } from './history/events-up-to.ts';
import type { HistoryStore } from './history/store.ts';
import { webAppRoutes } from './http/web-app.ts';
import { ingestRoutes, type IngestObserver } from './ingest/routes.ts';
import { lineageRoutes } from './lineage/routes.ts';
import { compensationRoutes } from './orders/routes.ts';
import { openAnalystSql } from './query/open-analyst.ts';
import { queryRoutes } from './query/routes.ts';
import { rebuildRoutes, type ProjectionRebuildsPort } from './rebuild/routes.ts';
import { storedEvents, type StoredEvents } from './rebuild/stored-events.ts';
import { registryRoutes } from './registry/routes.ts';
import type { EventValidator } from './registry/validator.ts';
import type { ViewDefinitions } from './views/definitions.ts';
import type { ReadModelSource } from './views/read-model-source.ts';
import { viewRoutes } from './views/routes.ts';

/** What the api routes need of the projections. */
export interface ProjectionPorts {
  names: readonly string[];
  /** Which projection reads which types (the catalog). */
  consumers: CatalogRouteDeps['consumers'];
  /** The read models of these events folded in memory (views as of a past time). */
  foldPast(events: readonly CloudEvent[]): ReadModelSource;
  /** Rebuilds that read the event store through `events` and write with `redis`. */
  rebuilds(redis: RedisClient, events: StoredEvents): ProjectionRebuildsPort & { stop(): Promise<void> };
  /** The exactly-once re-drive of dead letters. */
  redrive(redis: RedisClient): DeadLetterRedrivePort;
}

export interface ApiRouteDeps {
  config: Readonly<Config>;
  redis: RedisClient;
  redisUrl: string;
  registry: Registry;
  validator: EventValidator;
  views: ViewDefinitions;
  projections: ProjectionPorts;
  access: Access;
  /** The history store of this process, or of the ClickHouse server; absent: no past states, SQL, lineage or audit here. */
  pastStore: HistoryStore | undefined;
  ingestObservers: readonly IngestObserver[];
  /** Told of an API key whose secret stopped working (its live connections end). */
  keyRetired: (id: string) => void;
  webDir: string;
  now: () => number;
  log: (line: string) => void;
  /** Registers what to stop when the process stops (in reverse order). */
  onStop: (stop: () => Promise<void>) => void;
}

export async function apiRoutes(deps: ApiRouteDeps): Promise<Array<[string, Hono]>> {
  const { config, redis, registry, validator, views, projections, access, pastStore, now, log } = deps;
  const asOf = pastStore ? async (atMs: number) => projections.foldPast(await eventsUpTo(pastStore, registry, atMs)) : undefined;
  const routes: Array<[string, Hono]> = [
    ['/api/events', ingestRoutes({
      redis, registry, validator, config, now, log, observers: deps.ingestObservers,
      authorize: (c, events) => assertAllowed(batchPublishRefusal(principalOf(c), events)),
    })],
    ['/api/registry', registryRoutes(registry)],
    ['/api/catalog', catalogRoutes({ registry, consumers: projections.consumers, store: pastStore, now })],
    ['/api/lineage', lineageRoutes({ store: pastStore, registry })],
    ['/api', viewRoutes({ source: redis, config, now, views, registry, asOf })],
    ['/api/alerts', alertRoutes({ redis, now })],
    ['/api/orders', compensationRoutes({ redis, registry, validator, config, now })],
    ['/api/dlq', deadLetterRoutes(new DeadLetterWorkbench({ redis, registry, redrive: projections.redrive(redis), now }))],
  ];
  let rebuilds: ProjectionRebuildsPort | undefined;
  if (pastStore) {
    // Analyst SQL on a connection of its own (chDB: a session on the same data dir, which only this process holds).
    const analyst = await openAnalystSql(config);
    deps.onStop(() => analyst.close());
    routes.push(['/api/query', queryRoutes({ analyst, config, log })]);
    // Rebuilds stream the event store on the analysts' kind of connection; their Redis work on one of their own.
    const rebuildRedis = await connectRedis(deps.redisUrl);
    const running = projections.rebuilds(rebuildRedis, storedEvents(pastStore, analyst, { maxMemoryBytes: config.query.maxMemoryBytes }));
    rebuilds = running;
    deps.onStop(async () => {
      await running.stop();
      await rebuildRedis.close();
    });
  }
  routes.push(
    ['/api/projections', rebuildRoutes({ names: [...projections.names], rebuilds })],
    ['/api/keys', keyRoutes({ keys: access.keys, retired: deps.keyRetired })],
    ['/api/me', meRoutes()],
    ['/api/embed-tokens', embedTokenRoutes({ ...(access.embed ? { embed: access.embed } : {}), views: Object.keys(views) })],
    ['/api/audit', auditRoutes({ store: pastStore })],
    ['/', webAppRoutes(deps.webDir, { embedPolicy: (token) => access.embedPolicy(token) })],
  );
  return routes;
}
