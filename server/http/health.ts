/** GET /healthz (the process answers) and GET /readyz (Redis answers too). */
import { Hono } from 'hono';
import type { RedisClient } from '../../platform/redis/client.ts';
import { problemDocument, problemResponse } from './problem.ts';

export function healthRoutes(redis: RedisClient): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await redis.ping();
      return c.json({ status: 'ready', redis: 'ok' });
    } catch (error) {
      return problemResponse(c, problemDocument('unavailable', 503, `Redis does not answer: ${(error as Error).message}`));
    }
  });
  return app;
}
