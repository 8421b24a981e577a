/**
 * The security of one process, made from the auth settings: how callers are
 * identified (API keys, JWTs, embed tokens, or local mode), the rate limit,
 * and the HTTP middleware in its order: security headers on everything; then,
 * on /api/*, authentication, the rate limit, the audit of privileged actions,
 * and the access rules.
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { RedisClient } from '../../platform/redis/client.ts';
import { audited } from '../audit/audited.ts';
import { AUDITED_ACTIONS } from '../audit/audited-actions.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import type { Config } from '../config.ts';
import { accessGuards } from './access-rules.ts';
import { ApiKeyStore, withBootstrapKey } from './api-keys.ts';
import { authenticate, identifyToken, type AuthenticateOptions } from './authenticate.ts';
import { createEmbedTokens, frameAncestors, type EmbedTokens } from './embed-tokens.ts';
import { createJwtVerifier } from './jwt.ts';
import type { Principal } from './principal.ts';
import { createRateLimiter, rateLimit } from './rate-limit.ts';

/**
 * Content-Security-Policy for the web app: its own scripts and styles (Svelte and uPlot set
 * style attributes from script), live updates from the same origin; framed by nobody, except
 * embed pages, whose token names who may frame them.
 */
const APP_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
  + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'";
const NEVER_FRAMED = "frame-ancestors 'none'";

/** Sets the app's policy on every answer that has none of its own. */
const contentSecurityPolicy: MiddlewareHandler = async (c, next) => {
  await next();
  if (!c.res.headers.has('content-security-policy')) c.res.headers.set('content-security-policy', `${APP_POLICY}; ${NEVER_FRAMED}`);
};

export interface Access {
  readonly local: boolean;
  readonly keys: ApiKeyStore;
  /** Without EVENTDECK_EMBED_SECRET, no embed tokens. */
  readonly embed?: EmbedTokens;
  /** The principal of a bare credential (the live hub's handshake token). */
  identify(token: string | undefined): Promise<Principal>;
  /** The policy of an embed page: framed where its token allows (anywhere in local mode, nowhere without a valid token). */
  embedPolicy(token: string | undefined): Promise<string>;
  /** The HTTP middleware, in order, by path. */
  middleware(trail: AuditTrail, log: (line: string) => void): Array<[string, MiddlewareHandler]>;
}

export function createAccess(config: Pick<Config, 'auth'>, redis: RedisClient, now: () => number): Access {
  const { auth } = config;
  const keys = new ApiKeyStore(redis, now);
  const embed = auth.embedSecret ? createEmbedTokens(auth.embedSecret, now) : undefined;
  const options: AuthenticateOptions = {
    local: auth.mode === 'local',
    keys: withBootstrapKey(keys, auth.bootstrapAdminKey),
    ...(auth.jwt ? { jwt: createJwtVerifier(auth.jwt, now) } : {}),
    ...(embed ? { embed } : {}),
  };
  const limiter = createRateLimiter(redis, { points: auth.rateLimitPerMinute, windowSeconds: 60 });
  return {
    local: options.local,
    keys,
    ...(embed ? { embed } : {}),
    identify: (token) => identifyToken(options, token),
    async embedPolicy(token) {
      if (options.local) return `${APP_POLICY}; frame-ancestors *`;
      const opened = token && embed ? await embed.open(token) : undefined;
      return `${APP_POLICY}; ${opened?.ok ? frameAncestors(opened.principal.embed?.origins ?? []) : NEVER_FRAMED}`;
    },
    middleware: (trail, log) => [
      // frame-ancestors does what X-Frame-Options did, and lets embed pages name their framers.
      ['*', secureHeaders({ xFrameOptions: false })],
      ['*', contentSecurityPolicy],
      ['/api/*', authenticate(options)],
      ['/api/*', rateLimit(limiter)],
      ...audited(trail, AUDITED_ACTIONS, log),
      ...accessGuards(),
    ],
  };
}
