/**
 * Who is asking, and what they may do: the one answer every route, the live hub
 * and the embed page consult. A principal is plain data made by an authenticator
 * (API key, JWT, embed token, local mode); the checks here are pure.
 */

/** The roles of the security model; a key or a token carries one or more. */
export const ROLE_NAMES = ['producer', 'viewer', 'operator', 'analyst', 'admin'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** Every right a route can ask for. */
export const RIGHTS = [
  'events:publish',
  'views:read',
  'alerts:ack',
  'dlq:write',
  'compensate',
  'sql:query',
  'registry:write',
  'rebuild',
  'keys:manage',
  'audit:read',
  'pii:read',
] as const;
export type Right = (typeof RIGHTS)[number];

const viewer: readonly Right[] = ['views:read'];

/**
 * Rights of each role. Sensitive fields need `pii:read`, which only admin has by
 * role; anyone else gets it as an extra right (a JWT `rights` claim).
 */
export const ROLE_RIGHTS: Readonly<Record<RoleName, readonly Right[]>> = {
  producer: ['events:publish'],
  viewer,
  operator: [...viewer, 'alerts:ack', 'dlq:write', 'compensate'],
  analyst: [...viewer, 'sql:query'],
  admin: RIGHTS,
};

export interface Principal {
  /** How the caller proved who it is. */
  kind: 'key' | 'user' | 'embed' | 'local';
  /** Key id, JWT subject, embed token id, or "local". */
  id: string;
  /** For people to read (key label, user name or e-mail). */
  label: string;
  roles: readonly RoleName[];
  rights: ReadonlySet<string>;
  /** Event type patterns this caller may publish (`order.*`, `*`); only read with `events:publish`. */
  eventTypes: readonly string[];
  /** Warehouses whose data this caller may see; undefined: all of them. */
  warehouses?: readonly string[];
  /** For kind "embed": the one view and filter the token opens, and where it may be framed. */
  embed?: { view: string; filter: Readonly<Record<string, string>>; origins: readonly string[] };
  /**
   * When the credential stops being valid (ms since the epoch): a JWT's or an embed token's `exp`.
   * Undefined: it lasts until revoked (API keys, local mode). Long-lived connections check it.
   */
  expiresAt?: number;
}

export const isRoleName = (name: unknown): name is RoleName => (ROLE_NAMES as readonly unknown[]).includes(name);
export const isRight = (name: unknown): name is Right => (RIGHTS as readonly unknown[]).includes(name);

/** The rights of some roles, plus extra known rights (unknown names are dropped, never trusted). */
export function rightsOf(roles: readonly RoleName[], extra: readonly string[] = []): Set<Right> {
  return new Set([...roles.flatMap((r) => ROLE_RIGHTS[r]), ...extra.filter(isRight)]);
}

/**
 * The publishable types when none were given: everything for an admin, nothing for
 * anyone else, so a producer credential without a list fails closed.
 */
export function defaultEventTypes(roles: readonly RoleName[]): string[] {
  return roles.includes('admin') ? ['*'] : [];
}

export function can(principal: Principal, right: Right): boolean {
  return principal.rights.has(right);
}

/** `*` matches any run of characters, so `order.*` covers `order.placed` and `*` covers all. */
export function matchesTypePattern(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === type;
  let regex = compiled.get(pattern);
  if (!regex) {
    const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(pattern, (regex = new RegExp(`^${source}$`)));
  }
  return regex.test(type);
}

/** Patterns as regular expressions, made once: ingest checks every event of a batch (patterns come from keys and tokens, few). */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 1_000;

export function mayPublish(principal: Principal, type: string): boolean {
  return can(principal, 'events:publish') && principal.eventTypes.some((p) => matchesTypePattern(p, type));
}

/** Whether data of this warehouse may be shown; data with no warehouse needs an unscoped caller. */
export function inScope(principal: Principal, warehouseId: string | null | undefined): boolean {
  if (principal.warehouses === undefined) return true;
  return warehouseId != null && principal.warehouses.includes(warehouseId);
}

/** A filter in one canonical form (keys sorted), so `{b, a}` and `{a, b}` are the same filter. */
export function canonicalFilter(filter: Readonly<Record<string, string>>): string {
  return new URLSearchParams(Object.entries(filter).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))).toString();
}

/**
 * Whether this caller may read this view with this filter: `views:read`, the
 * filter's warehouse within scope, and for an embed token exactly its view and filter.
 */
export function mayView(principal: Principal, view: string, filter: Readonly<Record<string, string>>): boolean {
  if (!can(principal, 'views:read')) return false;
  if (principal.embed) {
    return principal.embed.view === view && canonicalFilter(principal.embed.filter) === canonicalFilter(filter);
  }
  if (principal.warehouses === undefined) return true;
  // A scoped caller must name a warehouse of its scope: an unfiltered view would show the others.
  return filter.warehouseId !== undefined && inScope(principal, filter.warehouseId);
}

/** Local mode (no authentication configured, loopback only): one caller with every right. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({
  kind: 'local' as const,
  id: 'local',
  label: 'local mode (no authentication)',
  roles: Object.freeze(['admin' as const]),
  rights: new Set<string>(RIGHTS),
  eventTypes: Object.freeze(['*']),
});

/** "key k1 (billing producer)": how errors and audit lines name a caller. */
export function describePrincipal(principal: Principal): string {
  const what = { key: 'API key', user: 'user', embed: 'embed token', local: 'local mode' }[principal.kind];
  return principal.kind === 'local' ? what : `${what} "${principal.label}"`;
}
