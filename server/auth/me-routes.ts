/**
 * GET /api/me: who the caller is and what it may do, so a client (the web app)
 * can say who is signed in and offer only what the caller's rights allow. The
 * server stays the authority: every route checks again.
 */
import { Hono } from 'hono';
import type { AccessRole, Me } from '../../shared/access.ts';
import { principalOf } from './principal-context.ts';
import type { Principal, RoleName } from './principal.ts';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The roles the web app offers (shared/access.ts) are exactly ours: tsc fails here when either list changes alone. */
export const ROLES_AGREE: Same<AccessRole, RoleName> = true;

/** The caller as `GET /api/me` shows it; an embed token's view, filter and origins stay out. */
export function describeMe(p: Principal): Me {
  return {
    kind: p.kind,
    id: p.id,
    label: p.label,
    roles: [...p.roles],
    rights: [...p.rights].sort(),
    ...(p.warehouses !== undefined ? { warehouses: [...p.warehouses] } : {}),
    ...(p.expiresAt !== undefined ? { expiresAt: new Date(p.expiresAt).toISOString() } : {}),
  };
}

/** Mounted at /api/me, after authenticate(); any caller may ask, embed tokens included. */
export function meRoutes(): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(describeMe(principalOf(c)));
  });
  return app;
}
