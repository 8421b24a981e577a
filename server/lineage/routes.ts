/**
 * GET /api/lineage/:correlationId: one business flow from the event store as
 * a graph by causation; GET /api/lineage?traceId=: the flows a trace touched.
 */
import { Hono } from 'hono';
import type { Registry } from '../../shared/registry.ts';
import type { HistoryStore } from '../history/store.ts';
import { requireStore, unlessUnavailable } from '../history/store-answers.ts';
import { ProblemError } from '../http/problem.ts';
import { readLineage, readTrace } from './read-lineage.ts';

export interface LineageRouteDeps {
  /** The event store; absent in a process without one (every lineage answer is then 501). */
  store: HistoryStore | undefined;
  registry: Registry;
}

/** W3C trace context: 32 hex digits, not all zero (https://www.w3.org/TR/trace-context/#trace-id). */
const TRACE_ID = /^[0-9a-f]{32}$/;

export function lineageRoutes({ store, registry }: LineageRouteDeps): Hono {
  const app = new Hono();
  const storeOrProblem = (): HistoryStore => requireStore(store, 'Lineage reads');

  app.get('/', async (c) => {
    const traceId = c.req.query('traceId');
    if (traceId === undefined) {
      throw new ProblemError('badRequest', 400, 'Ask for one flow at /api/lineage/<correlation id>, or for the flows of a trace with ?traceId=<32 hex digits>.');
    }
    const normalized = traceId.toLowerCase();
    if (!TRACE_ID.test(normalized) || /^0+$/.test(normalized)) {
      throw new ProblemError('badRequest', 400, `traceId must be a W3C trace id (32 hex digits, not all zero), not "${traceId}".`);
    }
    const found = storeOrProblem();
    return c.json(await unlessUnavailable(() => readTrace(found, normalized)));
  });

  app.get('/:correlationId', async (c) => {
    const correlationId = c.req.param('correlationId');
    const found = storeOrProblem();
    const lineage = await unlessUnavailable(() => readLineage(found, registry, correlationId));
    if (!lineage) throw new ProblemError('notFound', 404, `No stored event has the correlation id "${correlationId}".`);
    return c.json(lineage);
  });
  return app;
}
