/**
 * Records a privileged action once it is answered: who (the principal), what,
 * on what, and the outcome read from the status (2xx ok; 403 denied; any other
 * error failed, with the problem's detail). Runs after authenticate(), before
 * the access guards, so refusals are recorded too.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AuditAction, AuditOutcome } from '../../shared/audit.ts';
import { principalOf } from '../auth/principal-context.ts';
import type { AuditTrail } from './audit-trail.ts';

export interface AuditedAction {
  action: AuditAction;
  method: 'POST' | 'DELETE';
  /** A Hono path pattern. */
  path: string;
  /** The thing acted on: from the path, or from the answer (what it created). */
  target?: (c: Context) => string | Promise<string>;
  /** What else to keep: the SQL, a reason. Read from the request after it was answered (bodies are cached). */
  detail?: (c: Context) => Promise<string | undefined>;
}

export function audited(trail: AuditTrail, actions: readonly AuditedAction[], log: (line: string) => void): Array<[string, MiddlewareHandler]> {
  return actions.map((a) => [a.path, async (c, next) => {
    if (c.req.method !== a.method) return next();
    await next();
    const status = c.res.status;
    const outcome: AuditOutcome = status < 400 ? 'ok' : status === 403 ? 'denied' : 'failed';
    const principal = principalOf(c);
    const detail = [await a.detail?.(c).catch(() => undefined), status >= 400 ? await problemDetail(c.res) : undefined].filter(Boolean).join(' — ');
    try {
      const target = (await a.target?.(c)) ?? '';
      await trail.record({ actor: { id: principal.id, kind: principal.kind }, action: a.action, target, outcome, detail });
    } catch (error) {
      // The action is done (or refused) either way; a trail that cannot be written is an operator's problem to see.
      log(`audit: recording ${a.action} by ${principal.kind}:${principal.id} (${outcome}) failed: ${(error as Error).message}`);
    }
  }]);
}

async function problemDetail(response: Response): Promise<string | undefined> {
  const body = (await response.clone().json().catch(() => undefined)) as { detail?: unknown } | undefined;
  return typeof body?.detail === 'string' ? `${response.status}: ${body.detail}` : String(response.status);
}

/** A field of the JSON body, as the route read it (Hono caches the parsed body). */
export async function bodyField(c: Context, field: string): Promise<string | undefined> {
  const body = (await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  const value = body?.[field];
  return typeof value === 'string' ? value : value === undefined ? undefined : JSON.stringify(value);
}
