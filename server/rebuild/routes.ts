/**
 * POST /api/projections/:name/rebuild starts rebuilding a live projection from
 * the event store (202, with its status and a Location to follow it);
 * GET /api/projections/:name/rebuild answers the status of its last rebuild.
 * The rebuild itself is projections/rebuild, handed over by the composition
 * root (server/eventdeck.ts) through this port: server/ may not import projections/.
 */
import { Hono } from 'hono';
import type { RebuildStatus } from '../../shared/read-models.ts';
import { ProblemError } from '../http/problem.ts';

/** What the routes need of projections/rebuild/rebuilds.ts (ProjectionRebuilds; the shapes match). */
export interface ProjectionRebuildsPort {
  start(name: string): Promise<
    | { outcome: 'started'; status: RebuildStatus }
    | { outcome: 'running'; status: RebuildStatus | undefined }
    | { outcome: 'unknown' }
    | { outcome: 'undeclared' }
  >;
  status(name: string): Promise<RebuildStatus | undefined>;
}

export interface RebuildRouteDeps {
  /** Every live projection by name. */
  names: readonly string[];
  /** Absent in a process without a history store. */
  rebuilds?: ProjectionRebuildsPort;
}

export function rebuildRoutes({ names, rebuilds }: RebuildRouteDeps): Hono {
  const app = new Hono();
  const available = (name: string): ProjectionRebuildsPort => {
    if (!names.includes(name)) throw new ProblemError('notFound', 404, `No projection "${name}". Projections: ${names.join(', ')}.`);
    if (!rebuilds) {
      throw new ProblemError('notImplemented', 501,
        'Rebuilds read the event store, which this process does not have (run it with the history role, or set CLICKHOUSE_URL).');
    }
    return rebuilds;
  };

  app.post('/:name/rebuild', async (c) => {
    const name = c.req.param('name');
    const started = await available(name).start(name);
    switch (started.outcome) {
      case 'started':
        return c.json(started.status, 202, { Location: c.req.path });
      case 'running':
        throw new ProblemError('conflict', 409, `A rebuild of "${name}" is running; follow it at ${c.req.path}.`,
          started.status ? { rebuild: started.status } : {});
      case 'undeclared':
        throw new ProblemError('notImplemented', 501,
          `Projection "${name}" does not declare its Redis key patterns (readModelKeyPatterns in shared/read-models.ts), so its keys cannot be replaced.`);
      case 'unknown':
        throw new ProblemError('notFound', 404, `No projection "${name}".`);
    }
  });

  app.get('/:name/rebuild', async (c) => {
    const name = c.req.param('name');
    const status = await available(name).status(name);
    if (!status) throw new ProblemError('notFound', 404, `No rebuild of "${name}" has run; start one with POST ${c.req.path}.`);
    return c.json(status);
  });
  return app;
}
