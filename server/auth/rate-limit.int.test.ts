/**
 * Rate limits over a real Redis: the count is per caller and shared by every
 * process (here: two separate clients, as two EventDeck processes would be).
 */
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { createHttpApp } from '../http/app.ts';
import { createRateLimiter, rateLimit } from './rate-limit.ts';
import { LOCAL_PRINCIPAL, rightsOf, type Principal } from './principal.ts';

let redis: TestRedis;
let first: RedisClient;
let second: RedisClient;

beforeAll(async () => {
  redis = await startTestRedis();
  [first, second] = await Promise.all([connectRedis(redis.url), connectRedis(redis.url)]);
});

afterEach(async () => {
  await first.flushAll();
});

afterAll(async () => {
  await Promise.all([first?.close(), second?.close()]);
  await redis?.stop();
});

const caller = (id: string): Principal => ({ kind: 'key', id, label: id, roles: ['viewer'], rights: rightsOf(['viewer']), eventTypes: [] });

/** An app as one process would run it: a fixed caller, the limit, one route. */
function appWith(client: RedisClient, principal: Principal, points: number): Hono {
  const limited = new Hono();
  limited.use('*', async (c, next) => {
    c.set('principal', principal);
    await next();
  });
  limited.use('*', rateLimit(createRateLimiter(client, { points, windowSeconds: 60 })));
  limited.get('/ping', (c) => c.text('pong'));
  return createHttpApp({ routes: [['/api', limited]], log: () => {} });
}

describe('rate limits', () => {
  it('answer 429 with Retry-After once a caller has used its requests, and a problem saying so', async () => {
    const app = appWith(first, caller('k1'), 3);
    for (let i = 0; i < 3; i++) expect((await app.request('/api/ping')).status).toBe(200);
    const refused = await app.request('/api/ping');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    const problem = await refused.json() as { title: string; detail: string; status: number };
    expect(problem).toMatchObject({ status: 429, title: 'Too many requests' });
    expect(problem.detail).toBe(`API key "k1" made more than 3 requests in 60 s; try again in ${retryAfter} s.`);
  });

  it('share one count across processes', async () => {
    const one = appWith(first, caller('k1'), 4);
    const other = appWith(second, caller('k1'), 4);
    expect((await one.request('/api/ping')).status).toBe(200);
    expect((await other.request('/api/ping')).status).toBe(200);
    expect((await one.request('/api/ping')).status).toBe(200);
    expect((await other.request('/api/ping')).status).toBe(200);
    expect((await one.request('/api/ping')).status).toBe(429);
    expect((await other.request('/api/ping')).status).toBe(429);
  });

  it('count each caller on its own', async () => {
    const busy = appWith(first, caller('busy'), 1);
    const quiet = appWith(first, caller('quiet'), 1);
    expect((await busy.request('/api/ping')).status).toBe(200);
    expect((await busy.request('/api/ping')).status).toBe(429);
    expect((await quiet.request('/api/ping')).status).toBe(200);
  });

  it('leave local mode unlimited', async () => {
    const app = appWith(first, LOCAL_PRINCIPAL, 1);
    for (let i = 0; i < 3; i++) expect((await app.request('/api/ping')).status).toBe(200);
  });

  it('tell the remaining requests and when to retry from the limiter itself', async () => {
    const limiter = createRateLimiter(first, { points: 2, windowSeconds: 30, prefix: 'test:rate' });
    expect(await limiter.take('x')).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 1 });
    expect(await limiter.take('x')).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
    const refused = await limiter.take('x');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(await first.keys('test:rate*')).toEqual(['test:rate:x']);
  });
});
