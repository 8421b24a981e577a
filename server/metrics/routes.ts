/** GET /metrics: Prometheus text format (docs/metrics.md). */
import { Hono } from 'hono';
import type { DeckMetrics } from './deck-metrics.ts';

export function metricsRoutes(metrics: DeckMetrics): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    const { contentType, body } = await metrics.scrape();
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  return app;
}
