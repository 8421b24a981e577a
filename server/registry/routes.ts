/** GET /api/registry and GET /api/registry/:type: the types, their versions and schemas. */
import { Hono } from 'hono';
import { latestVersion, type EventTypeDefinition, type Registry } from '../../shared/registry.ts';
import { ProblemError } from '../http/problem.ts';

export function registryRoutes(registry: Registry): Hono {
  const app = new Hono();
  app.get('/', (c) => c.json({ types: [...registry.values()].map(summary) }));
  app.get('/:type', (c) => {
    const definition = registry.get(c.req.param('type'));
    if (!definition) throw new ProblemError('notFound', 404, `No event type "${c.req.param('type')}" is registered.`);
    return c.json({ ...summary(definition), versions: definition.versions });
  });
  return app;
}

function summary(definition: EventTypeDefinition) {
  return {
    type: definition.type,
    description: definition.description ?? '',
    partitionKey: definition.partitionKey,
    latestVersion: latestVersion(definition),
    versions: definition.versions.map(({ version, status, deprecatedAt }) => ({
      version, status, ...(deprecatedAt ? { deprecatedAt } : {}),
    })),
  };
}
