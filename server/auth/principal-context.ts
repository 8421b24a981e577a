/**
 * The caller on a Hono context: authenticate() sets it, every guard reads it.
 */
import type { Context } from 'hono';
import type { Principal } from './principal.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by authenticate() before any route runs. */
    principal: Principal;
  }
}

/** A guard ran where authenticate() was not mounted: a wiring mistake, never the caller's. */
export class AuthNotMountedError extends Error {
  override readonly name = 'AuthNotMountedError';
  readonly code = 'EVENTDECK_AUTH_NOT_MOUNTED';
}

/** The caller of this request; throws (a 500, so it fails closed) when authenticate() did not run. */
export function principalOf(c: Context): Principal {
  const principal = c.get('principal') as Principal | undefined;
  if (!principal) throw new AuthNotMountedError(`No caller is known for ${c.req.method} ${c.req.path}: mount authenticate() before this guard.`);
  return principal;
}

/**
 * Whom to name as having done something (an alert's `acknowledgedBy`, a dead-letter action's `by`):
 * the caller; in local mode, where one caller stands for everybody, the name the request gives, if any.
 */
export function actorName(c: Context, given: string | undefined): string | undefined {
  const principal = principalOf(c);
  return principal.kind === 'local' ? given : principal.label || `${principal.kind}:${principal.id}`;
}
