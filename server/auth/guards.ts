/**
 * Authorization checks that say why not. Each `...Refusal` returns undefined
 * when allowed, else the sentence the caller will read: the HTTP routes throw it
 * as a 403 (assertAllowed), the live hub answers it in an ack `{ok: false, error}`.
 */
import type { MiddlewareHandler } from 'hono';
import { forbidden } from './auth-problems.ts';
import { principalOf } from './principal-context.ts';
import {
  can, canonicalFilter, describePrincipal, inScope, mayPublish, mayView, type Principal, type Right,
} from './principal.ts';

const who = (p: Principal) => `${describePrincipal(p)}${p.roles.length ? ` (roles: ${p.roles.join(', ')})` : ''}`;
const scopeText = (p: Principal) => `limited to warehouse${p.warehouses!.length === 1 ? '' : 's'} ${p.warehouses!.join(', ') || '(none)'}`;

export function rightRefusal(p: Principal, right: Right): string | undefined {
  return can(p, right) ? undefined : `This needs the right "${right}", which ${who(p)} does not have.`;
}

export function publishRefusal(p: Principal, type: string): string | undefined {
  if (mayPublish(p, type)) return undefined;
  if (!can(p, 'events:publish')) return rightRefusal(p, 'events:publish');
  const allowed = p.eventTypes.length ? p.eventTypes.join(', ') : 'no types';
  return `${describePrincipal(p)} may not publish events of type "${type}" (it may publish: ${allowed}).`;
}

export function scopeRefusal(p: Principal, warehouseId: string | null | undefined): string | undefined {
  if (inScope(p, warehouseId)) return undefined;
  return warehouseId == null
    ? `${describePrincipal(p)} is ${scopeText(p)}: name one of them.`
    : `${describePrincipal(p)} is ${scopeText(p)}; warehouse "${warehouseId}" is outside it.`;
}

export function viewRefusal(p: Principal, view: string, filter: Readonly<Record<string, string>>): string | undefined {
  if (mayView(p, view, filter)) return undefined;
  if (!can(p, 'views:read')) return rightRefusal(p, 'views:read');
  if (p.embed) {
    const shown = (f: Readonly<Record<string, string>>) => (Object.keys(f).length ? canonicalFilter(f) : 'no filter');
    return p.embed.view !== view
      ? `This embed token is for the view "${p.embed.view}", not "${view}".`
      : `This embed token is for ${shown(p.embed.filter)}, not ${shown(filter)}.`;
  }
  return scopeRefusal(p, filter.warehouseId);
}

/** The first event of a batch this caller may not publish, said as a refusal (with its index); undefined when all may go. */
export function batchPublishRefusal(p: Principal, events: readonly { type: string }[]): string | undefined {
  for (const [index, event] of events.entries()) {
    const refused = publishRefusal(p, event.type);
    if (refused) return `Event ${index}: ${refused} Nothing of this request was accepted.`;
  }
  return undefined;
}

/** Throws a 403 problem naming the refusal; does nothing when allowed. */
export function assertAllowed(refusal: string | undefined, extensions: Record<string, unknown> = {}): void {
  if (refusal !== undefined) throw forbidden(refusal, extensions);
}

/** A middleware for routes that need one right (after authenticate()). */
export function requireRight(right: Right): MiddlewareHandler {
  return async (c, next) => {
    assertAllowed(rightRefusal(principalOf(c), right), { right });
    await next();
  };
}
