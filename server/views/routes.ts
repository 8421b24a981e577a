/**
 * GET /api/views/:view (with filters as query parameters) and GET /api/orders/:orderId.
 * Every view answers { view, filter, version, state }: the same shape the live hub pushes.
 */
import { Hono, type Context } from 'hono';
import { ProblemError } from '../http/problem.ts';
import type { Registry } from '../../shared/registry.ts';
import type { ViewSnapshot } from '../../shared/views.ts';
import { assertAllowed, scopeRefusal, viewRefusal } from '../auth/guards.ts';
import { principalOf } from '../auth/principal-context.ts';
import { can } from '../auth/principal.ts';
import { maskOrderDetail, maskSnapshot } from './mask-views.ts';
import { readSnapshot, viewDefinitions, type ViewDefinitions, type ViewDeps } from './definitions.ts';
import type { ReadModelSource } from './read-model-source.ts';
import { readOrderDetail } from './stored-order.ts';
import { zodIssues } from '../http/zod-issues.ts';

export interface ViewRouteDeps extends ViewDeps {
  views: ViewDefinitions;
  /** For masking the data of timelines. */
  registry: Registry;
  /** The read models as of a past moment (ms), folded from the event store; absent without one. */
  asOf?: (atMs: number) => Promise<ReadModelSource>;
}

/** RFC 3339 with a zone, as CloudEvents times are written. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function viewRoutes(deps: ViewRouteDeps): Hono {
  const { views } = deps;
  const app = new Hono();
  app.get('/views/:view', async (c) => {
    const name = c.req.param('view');
    const view = views[name];
    if (!view) throw new ProblemError('notFound', 404, `No view "${name}". Views: ${Object.keys(views).join(', ')}.`);
    // Not filters: the time to read at, and an embed widget's token (read by authenticate()).
    const { asOf, token: _token, ...query } = c.req.query();
    assertAllowed(viewRefusal(principalOf(c), name, query));
    const parsed = view.filter.safeParse(query);
    if (!parsed.success) {
      throw new ProblemError('badRequest', 400, `Invalid filter for view "${name}": ${zodIssues(parsed.error, 'filter')}`);
    }
    if (asOf === undefined) return c.json(forReader(c, await readSnapshot(deps.source, name, view, parsed.data)));
    if (view.pastStates === false) throw new ProblemError('badRequest', 400, `The ${name} view is live only: it has no past states, so asOf does not apply.`);

    const atMs = RFC3339.test(asOf) ? Date.parse(asOf) : NaN;
    if (Number.isNaN(atMs)) throw new ProblemError('badRequest', 400, `asOf must be an RFC 3339 time such as 2026-11-26T10:00:00Z, not "${asOf}".`);
    if (!deps.asOf) {
      throw new ProblemError('notImplemented', 501, 'asOf needs the history store, which this process does not have (run it with the history role, or set CLICKHOUSE_URL).');
    }
    // The same views over the read models of that moment, with its clock (the 60 minutes before it, stuck as of then).
    const source = await deps.asOf(atMs);
    const past = viewDefinitions({ source, config: deps.config, now: () => atMs })[name]!;
    return c.json(forReader(c, await readSnapshot(source, name, past, parsed.data)));
  });
  app.get('/orders/:orderId', async (c) => {
    const orderId = c.req.param('orderId');
    const detail = await readOrderDetail(deps.source, orderId);
    // A caller limited to some warehouses learns nothing of others' orders, not even that they exist.
    if (!detail || scopeRefusal(principalOf(c), detail.order.warehouseId)) throw new ProblemError('notFound', 404, `No order "${orderId}" has been seen.`);
    return c.json(can(principalOf(c), 'pii:read') ? detail : maskOrderDetail(deps.registry, detail));
  });
  return app;
}

/** Personal data only for readers with the right to it. */
function forReader(c: Context, snapshot: ViewSnapshot): ViewSnapshot {
  return can(principalOf(c), 'pii:read') ? snapshot : maskSnapshot(snapshot);
}
