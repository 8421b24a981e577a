/**
 * Who is calling: a Hono middleware that turns the request's credential into a
 * Principal on `c.get('principal')`, or ends it with a 401 problem.
 *
 * Accepted: `X-Api-Key: edk_...`, `Authorization: Bearer edk_...` (API key),
 * `Authorization: Bearer <jwt>` (a person), and where `embed` is given, embed
 * tokens as `?token=` or a bearer. Keys and JWTs are never read from the URL,
 * where logs and Referer headers keep them; embed tokens are made for URLs and
 * are short-lived and narrow.
 */
import type { MiddlewareHandler } from 'hono';
import { ProblemError } from '../http/problem.ts';
import { API_KEY_PREFIX, type KeyVerifier } from './api-keys.ts';
import { unauthorized } from './auth-problems.ts';
import { looksLikeEmbedToken, type EmbedTokens } from './embed-tokens.ts';
import type { JwtVerifier } from './jwt.ts';
import { LOCAL_PRINCIPAL, type Principal } from './principal.ts';
import './principal-context.ts';

export { principalOf } from './principal-context.ts';

export interface AuthenticateOptions {
  /** Local mode: every request is LOCAL_PRINCIPAL (loopback only, see assertBindAllowed). */
  local: boolean;
  /** The API key store, usually wrapped by withBootstrapKey. */
  keys?: KeyVerifier;
  jwt?: JwtVerifier;
  /**
   * Accept embed tokens. Their principal has `views:read` for one view and filter only:
   * mount this only where views are read and checked with mayView / viewRefusal.
   */
  embed?: EmbedTokens;
}

const HOW = 'Send an API key (X-Api-Key: edk_... or Authorization: Bearer edk_...) or a bearer token (Authorization: Bearer <JWT>).';

export function authenticate(options: AuthenticateOptions): MiddlewareHandler {
  return async (c, next) => {
    if (options.local) {
      c.set('principal', LOCAL_PRINCIPAL);
    } else {
      const credential = credentialOf(c.req.header('authorization'), c.req.header('x-api-key'), c.req.query('token'));
      c.set('principal', await identify(options, credential));
    }
    await next();
  };
}

/**
 * The principal of a bare credential, such as a Socket.IO handshake's `auth.token`
 * (an API key, a JWT, or an embed token when `embed` is given); throws the same
 * 401 (or 503) problems as the middleware.
 */
export async function identifyToken(options: AuthenticateOptions, token: string | undefined): Promise<Principal> {
  if (options.local) return LOCAL_PRINCIPAL;
  if (!token) throw unauthorized(`Authentication is required. ${HOW}`, false);
  return identify(options, { kind: token.startsWith(API_KEY_PREFIX) ? 'key' : 'bearer', value: token });
}

type Credential = { kind: 'key' | 'bearer' | 'embed'; value: string };

function credentialOf(authorization: string | undefined, apiKey: string | undefined, queryToken: string | undefined): Credential {
  if (authorization !== undefined && apiKey !== undefined) {
    throw unauthorized('Send one credential: both Authorization and X-Api-Key were given.', true);
  }
  if (apiKey !== undefined) return { kind: 'key', value: apiKey.trim() };
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthorized(`Authorization must be "Bearer <credential>". ${HOW}`, true);
    const value = match[1]!;
    return { kind: value.startsWith(API_KEY_PREFIX) ? 'key' : 'bearer', value };
  }
  if (queryToken) return { kind: 'embed', value: queryToken };
  throw unauthorized(`Authentication is required. ${HOW}`, false);
}

async function identify(options: AuthenticateOptions, credential: Credential): Promise<Principal> {
  const { keys, jwt, embed } = options;
  if (credential.kind === 'key') {
    const principal = keys ? await keys.verify(credential.value) : undefined;
    if (!principal) throw unauthorized('The API key is not valid: it is unknown, revoked, or was replaced by a rotation.', true);
    return principal;
  }
  if (credential.kind === 'embed' || (embed && looksLikeEmbedToken(credential.value))) {
    if (!embed) throw unauthorized(`Embed tokens are not accepted here. ${HOW}`, true);
    const result = await embed.open(credential.value);
    if (!result.ok) throw unauthorized(result.message, true);
    return result.principal;
  }
  if (!jwt) throw unauthorized('Bearer JWTs are not accepted: this EventDeck has no identity provider configured. Use an API key.', true);
  const result = await jwt.verify(credential.value);
  if (result.ok) return result.principal;
  // The caller's token may be fine: we could not fetch the keys to check it.
  if (result.reason === 'jwks-unavailable') throw new ProblemError('unavailable', 503, 'The identity provider\'s keys cannot be read right now; try again shortly.');
  throw unauthorized(result.message, true);
}
