/**
 * Who may call what, in one table: the right each API path needs, whether a
 * caller limited to some warehouses may use it at all, and whether embed tokens
 * (made for one view) may. Routes check what only they can see (a view's
 * filter, an order's warehouse, each event's type) themselves; docs/security.md
 * has the same table for people.
 */
import type { MiddlewareHandler } from 'hono';
import { assertAllowed, rightRefusal } from './guards.ts';
import { principalOf } from './principal-context.ts';
import { describePrincipal, type Principal, type Right } from './principal.ts';

export interface AccessRule {
  /** A Hono path pattern under which the rule applies. */
  path: string;
  /** Only for this method; any when absent. */
  method?: 'GET' | 'POST' | 'DELETE';
  /** The right needed; absent: any authenticated caller but an embed token. */
  right?: Right;
  /** True where the route shows data of every warehouse and cannot narrow it: callers with a scope are refused. */
  unscopedOnly?: boolean;
  /** Embed tokens may call it (the route then checks the token's view and filter). */
  embed?: boolean;
}

/** Every rule whose path and method match applies: a request passes all of them. */
export const ACCESS_RULES: readonly AccessRule[] = [
  { path: '/api/events', method: 'POST', right: 'events:publish' },
  { path: '/api/registry/*' },
  { path: '/api/catalog/*' },
  { path: '/api/views/:view', right: 'views:read', embed: true },
  { path: '/api/orders/:orderId', right: 'views:read' },
  { path: '/api/orders/:orderId/compensate', method: 'POST', right: 'compensate' },
  { path: '/api/alerts/:id/ack', method: 'POST', right: 'alerts:ack', unscopedOnly: true },
  { path: '/api/alerts/*', right: 'views:read', unscopedOnly: true },
  { path: '/api/lineage/*', right: 'views:read', unscopedOnly: true },
  { path: '/api/dlq/*', right: 'dlq:write', unscopedOnly: true },
  { path: '/api/query/*', right: 'sql:query', unscopedOnly: true },
  { path: '/api/projections/*', right: 'rebuild', unscopedOnly: true },
  { path: '/api/keys/*', right: 'keys:manage' },
  { path: '/api/embed-tokens/*', right: 'keys:manage' },
  { path: '/api/audit/*', right: 'audit:read', unscopedOnly: true },
  { path: '/api/me', embed: true },
];

/** Each rule as a middleware on its path (after authenticate()); a rule for another method passes on. */
export function accessGuards(rules: readonly AccessRule[] = ACCESS_RULES): Array<[string, MiddlewareHandler]> {
  return rules.map((rule) => [rule.path, async (c, next) => {
    if (rule.method && c.req.method !== rule.method) return next();
    assertAllowed(refusal(principalOf(c), rule), rule.right ? { right: rule.right } : {});
    return next();
  }]);
}

function refusal(p: Principal, rule: AccessRule): string | undefined {
  if (p.kind === 'embed' && !rule.embed) return `An embed token opens only its own view (${p.embed?.view ?? '?'}), nothing else.`;
  const missing = rule.right && rightRefusal(p, rule.right);
  if (missing) return missing;
  if (rule.unscopedOnly && p.warehouses !== undefined) {
    return `${describePrincipal(p)} is limited to warehouses ${p.warehouses.join(', ')}, and this shows data of every warehouse.`;
  }
  return undefined;
}
