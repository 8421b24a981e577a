/**
 * The security settings, by their environment names, and the rule that keeps
 * an unauthenticated EventDeck off the network.
 *
 * With no JWT verifier, no bootstrap key and no EVENTDECK_AUTH_MODE=enforced,
 * EventDeck runs in local mode: every request has every right, so it may bind
 * only a loopback address, and says so at start.
 */
import net from 'node:net';
import { z } from 'zod';
import type { JwtConfig } from './jwt.ts';

export type AuthMode = 'local' | 'enforced';

export interface AuthSettings {
  /** Unset: local mode, unless `mode` says enforced. */
  jwt?: JwtConfig;
  /** Signs embed tokens; unset: no embed tokens can be minted. Every process must share it. */
  embedSecret?: string;
  /** One admin API key accepted besides the stored ones, to make the first keys. */
  bootstrapAdminKey?: string;
  /** Requests per minute per caller (API key, user, embed token); local mode is not limited. */
  rateLimitPerMinute: number;
  /** As asked with EVENTDECK_AUTH_MODE; see authMode() for the mode in force. */
  mode?: AuthMode;
}

/** The environment names, with what each holds. */
export const authSettingsShape = {
  /** HS256 shared secret for people's JWTs (at least 32 characters). */
  EVENTDECK_AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (256 bits for HS256)').optional(),
  /** A JSON Web Key Set file (RS256/ES256 public keys). */
  EVENTDECK_AUTH_JWKS_FILE: z.string().min(1).optional(),
  /** The identity provider's JWKS URL (fetched and cached by jose). */
  EVENTDECK_AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  EVENTDECK_AUTH_JWT_ISSUER: z.string().min(1).optional(),
  EVENTDECK_AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  EVENTDECK_EMBED_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: z.string()
    .regex(/^edk_\S{32,}$/, 'must start with "edk_" and have at least 32 more characters (e.g. edk_ + `openssl rand -hex 32`)')
    .optional(),
  EVENTDECK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6000),
  /** "enforced" keeps authentication on with only stored API keys (no JWT, no bootstrap key). */
  EVENTDECK_AUTH_MODE: z.enum(['local', 'enforced']).optional(),
};

const authSettingsSchema = z.object(authSettingsShape).superRefine((s, ctx) => {
  const sources = (['EVENTDECK_AUTH_JWT_SECRET', 'EVENTDECK_AUTH_JWKS_FILE', 'EVENTDECK_AUTH_JWKS_URL'] as const).filter((n) => s[n] !== undefined);
  if (sources.length > 1) ctx.addIssue({ code: 'custom', path: [sources[1]!], message: `set only one of ${sources.join(', ')}` });
  if (sources.length === 0) {
    for (const name of ['EVENTDECK_AUTH_JWT_ISSUER', 'EVENTDECK_AUTH_JWT_AUDIENCE'] as const) {
      if (s[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'needs a JWT secret, JWKS file or JWKS URL' });
    }
  }
  if (s.EVENTDECK_EMBED_SECRET !== undefined && s.EVENTDECK_EMBED_SECRET === s.EVENTDECK_AUTH_JWT_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['EVENTDECK_EMBED_SECRET'], message: 'must differ from EVENTDECK_AUTH_JWT_SECRET' });
  }
  if (s.EVENTDECK_AUTH_MODE === 'local' && (sources.length > 0 || s.EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY)) {
    ctx.addIssue({ code: 'custom', path: ['EVENTDECK_AUTH_MODE'], message: 'is "local" but authentication is configured; unset one of them' });
  }
});

/** Settings that cannot start EventDeck; the message lists every problem. */
export class AuthSettingsError extends Error {
  override readonly name = 'AuthSettingsError';
  readonly code = 'EVENTDECK_CONFIG_INVALID';
}

/** Reads the auth settings; empty values count as unset, as in server/config.ts. */
export function parseAuthSettings(env: Record<string, unknown>): Readonly<AuthSettings> {
  const given = Object.fromEntries(
    Object.keys(authSettingsShape).filter((n) => env[n] !== undefined && env[n] !== '').map((n) => [n, env[n]]),
  );
  const parsed = authSettingsSchema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new AuthSettingsError(`EventDeck cannot start, the authentication settings are invalid:\n${lines.join('\n')}`);
  }
  const s = parsed.data;
  const claims = {
    ...(s.EVENTDECK_AUTH_JWT_ISSUER ? { issuer: s.EVENTDECK_AUTH_JWT_ISSUER } : {}),
    ...(s.EVENTDECK_AUTH_JWT_AUDIENCE ? { audience: s.EVENTDECK_AUTH_JWT_AUDIENCE } : {}),
  };
  const jwt: JwtConfig | undefined = s.EVENTDECK_AUTH_JWT_SECRET ? { secret: s.EVENTDECK_AUTH_JWT_SECRET, ...claims }
    : s.EVENTDECK_AUTH_JWKS_FILE ? { jwksFile: s.EVENTDECK_AUTH_JWKS_FILE, ...claims }
    : s.EVENTDECK_AUTH_JWKS_URL ? { jwksUrl: s.EVENTDECK_AUTH_JWKS_URL, ...claims }
    : undefined;
  return Object.freeze({
    ...(jwt ? { jwt: Object.freeze(jwt) } : {}),
    ...(s.EVENTDECK_EMBED_SECRET ? { embedSecret: s.EVENTDECK_EMBED_SECRET } : {}),
    ...(s.EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY ? { bootstrapAdminKey: s.EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY } : {}),
    rateLimitPerMinute: s.EVENTDECK_RATE_LIMIT_PER_MINUTE,
    ...(s.EVENTDECK_AUTH_MODE ? { mode: s.EVENTDECK_AUTH_MODE } : {}),
  });
}

/** Local when nothing authenticates callers; enforced otherwise (or when asked). */
export function authMode(settings: AuthSettings): AuthMode {
  if (settings.mode) return settings.mode;
  return settings.jwt || settings.bootstrapAdminKey ? 'enforced' : 'local';
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. 0.0.0.0 and :: mean every interface: not loopback. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  if (net.isIPv4(v4)) return LOOPBACK.check(v4, 'ipv4');
  return net.isIPv6(h) && LOOPBACK.check(h, 'ipv6');
}

/** Local mode may not listen where others can reach it. */
export class LocalModeBindError extends Error {
  override readonly name = 'LocalModeBindError';
  readonly code = 'EVENTDECK_LOCAL_MODE_BIND';
}

export function assertBindAllowed(mode: AuthMode, host: string): void {
  if (mode === 'enforced' || isLoopback(host)) return;
  throw new LocalModeBindError(
    `EventDeck will not listen on HOST=${host}: no authentication is configured (local mode), so anyone who can reach it `
      + 'would have every right. Bind a loopback address (HOST=127.0.0.1), or configure authentication: '
      + 'EVENTDECK_AUTH_JWT_SECRET, EVENTDECK_AUTH_JWKS_FILE or EVENTDECK_AUTH_JWKS_URL for people, '
      + 'EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY to create API keys.',
  );
}

/** The line to log at start in local mode, so nobody runs it unaware. */
export function localModeNotice(host: string, port: number): string {
  return `EventDeck runs in LOCAL MODE: no authentication, every request has every right; listening on loopback only (${host}:${port}). `
    + 'Configure EVENTDECK_AUTH_* to require keys or tokens.';
}
