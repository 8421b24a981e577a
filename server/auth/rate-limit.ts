/**
 * Requests per caller per window, counted in Redis so every EventDeck process
 * shares one count for a key.
 *
 * rate-limiter-flexible's RateLimiterRedis does the counting: one Lua script
 * (SET NX with expiry, INCRBY, PTTL) makes a fixed window atomic across processes.
 * `useRedisPackage` selects its node-redis (v4+) call shapes, which v5 keeps
 * (`eval(script, {keys, arguments})`, `multi().pTTL()`).
 */
import type { MiddlewareHandler } from 'hono';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../../platform/redis/client.ts';
import { tooManyRequests } from './auth-problems.ts';
import { describePrincipal, type Principal } from './principal.ts';
import { principalOf } from './principal-context.ts';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

export interface RateLimiter {
  readonly points: number;
  readonly windowSeconds: number;
  /** Counts one request of this caller and says whether it may go on. */
  take(callerKey: string): Promise<RateDecision>;
}

export const RATE_LIMIT_PREFIX = 'eventdeck:auth:rate';

export function createRateLimiter(
  redis: RedisClient,
  options: { points: number; windowSeconds?: number; prefix?: string },
): RateLimiter {
  const windowSeconds = options.windowSeconds ?? 60;
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    keyPrefix: options.prefix ?? RATE_LIMIT_PREFIX,
    points: options.points,
    duration: windowSeconds,
  });
  return {
    points: options.points,
    windowSeconds,
    async take(callerKey) {
      try {
        const res = await limiter.consume(callerKey);
        return { allowed: true, retryAfterSeconds: 0, remaining: res.remainingPoints };
      } catch (rejection) {
        // The library rejects with a RateLimiterRes when over the limit, with an Error when Redis fails.
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), remaining: 0 };
      }
    },
  };
}

/** One count per credential: an API key, a user, an embed token. */
export const callerKey = (p: Principal): string => `${p.kind}:${p.id}`;

/**
 * After authenticate(): 429 with Retry-After once the caller has used its
 * window. Local mode has one caller for everything (loopback only), so it is not limited.
 */
export function rateLimit(limiter: RateLimiter): MiddlewareHandler {
  return async (c, next) => {
    const principal = principalOf(c);
    if (principal.kind === 'local') return next();
    const decision = await limiter.take(callerKey(principal));
    if (!decision.allowed) {
      throw tooManyRequests(
        `${describePrincipal(principal)} made more than ${limiter.points} requests in ${limiter.windowSeconds} s; `
          + `try again in ${decision.retryAfterSeconds} s.`,
        decision.retryAfterSeconds,
      );
    }
    c.header('RateLimit-Remaining', String(decision.remaining));
    return next();
  };
}
