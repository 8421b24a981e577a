/**
 * GET /api/catalog: every registered event type and version with its fields,
 * the projections that consume it, and who produced it over the last hour.
 * GET /api/registry stays as it is; this is the page's richer read.
 */
import { Hono } from 'hono';
import type { Catalog, CatalogType } from '../../shared/catalog.ts';
import { latestVersion, type Registry } from '../../shared/registry.ts';
import { HistoryUnavailableError } from '../history/errors.ts';
import type { HistoryStore } from '../history/store.ts';
import { ProblemError } from '../http/problem.ts';
import { productionWindow, readProduction } from './read-production.ts';
import { schemaFields } from './schema-fields.ts';

/** A projection as the catalog names it: server/ may not import projections/, so the composition root hands this over. */
export interface ProjectionConsumer {
  name: string;
  views: readonly string[];
  /** The event types it reads. */
  consumes: readonly string[];
}

export interface CatalogRouteDeps {
  registry: Registry;
  consumers: readonly ProjectionConsumer[];
  /** The event store the production counts come from; without one they are null. */
  store: HistoryStore | undefined;
  now: () => number;
}

/** How far back "recently" reaches, in whole minutes. */
export const CATALOG_WINDOW_MINUTES = 60;

export function catalogRoutes(deps: CatalogRouteDeps): Hono {
  const app = new Hono();
  app.get('/', async (c) => c.json(await readCatalog(deps)));
  return app;
}

export async function readCatalog({ registry, consumers, store, now }: CatalogRouteDeps): Promise<Catalog> {
  const window = productionWindow(now(), CATALOG_WINDOW_MINUTES);
  let production: Awaited<ReturnType<typeof readProduction>> | undefined;
  if (store) {
    try {
      production = await readProduction(store, window);
    } catch (error) {
      if (!(error instanceof HistoryUnavailableError)) throw error;
      throw new ProblemError('unavailable', 503, 'The history store does not answer; try again later.', { retryable: true });
    }
  }
  const types: CatalogType[] = [...registry.values()]
    .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
    .map((definition) => ({
      type: definition.type,
      description: definition.description ?? '',
      partitionKey: definition.partitionKey,
      latestVersion: latestVersion(definition),
      versions: definition.versions.map((v) => ({
        version: v.version,
        status: v.status,
        deprecatedAt: v.deprecatedAt ?? null,
        fields: schemaFields(v.schema),
        schema: v.schema,
        upcast: v.upcast ?? null,
      })),
      consumers: consumers
        .filter((p) => p.consumes.includes(definition.type))
        .map((p) => ({ projection: p.name, views: [...p.views] })),
      producers: production ? production.get(definition.type) ?? [] : null,
    }));
  return {
    window: {
      from: new Date(window.fromMs).toISOString(),
      to: new Date(window.fromMs + window.minutes * 60_000).toISOString(),
      minutes: window.minutes,
    },
    history: production !== undefined,
    types,
  };
}
