/**
 * GET /api/audit: the audit trail from ClickHouse (`audit_log`), newest first,
 * with optional filters by action, actor and outcome, a page at a time. There
 * is no way to change or remove an entry through the API.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AuditAction, type AuditEntry, type AuditOutcome, type AuditPage } from '../../shared/audit.ts';
import type { HistoryStore } from '../history/store.ts';
import { requireStore, unlessUnavailable } from '../history/store-answers.ts';
import { ProblemError } from '../http/problem.ts';
import { zodIssues } from '../http/zod-issues.ts';

const query = z.strictObject({
  action: z.enum(AUDIT_ACTIONS).optional(),
  actor: z.string().min(1).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  /** The `next` of the previous page: entries recorded before it. */
  before: z.string().regex(/^\d+-\d+$/, 'the "next" of a previous page').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

interface AuditRow {
  id: string; at_unix_ms: number; actor: string; actor_kind: string; action: string; target: string; outcome: string; detail: string;
}

export function auditRoutes(deps: { store: HistoryStore | undefined }): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const parsed = query.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ProblemError('badRequest', 400, `Invalid audit query: ${zodIssues(parsed.error, '')}`);
    }
    const store = requireStore(deps.store, 'The audit trail is read from');
    const q = parsed.data;
    // Stream ids order entries as they were recorded; compared as (ms, sequence), not as text.
    const [beforeMs, beforeSeq] = (q.before ?? '').split('-').map(Number);
    const conditions = [
      q.action ? 'action = {action:String}' : '', q.actor ? 'actor = {actor:String}' : '', q.outcome ? 'outcome = {outcome:String}' : '',
      q.before ? `(toUInt64(splitByChar('-', id)[1]) < {beforeMs:UInt64} OR (toUInt64(splitByChar('-', id)[1]) = {beforeMs:UInt64} AND toUInt64(splitByChar('-', id)[2]) < {beforeSeq:UInt64}))` : '',
    ].filter(Boolean);
    const rows = await unlessUnavailable(() => store.query<AuditRow>(
      `SELECT id, at_unix_ms, actor, actor_kind, action, target, outcome, detail FROM audit_log
       ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY toUInt64(splitByChar('-', id)[1]) DESC, toUInt64(splitByChar('-', id)[2]) DESC LIMIT {limit:UInt32}`,
      { action: q.action ?? '', actor: q.actor ?? '', outcome: q.outcome ?? '', beforeMs: beforeMs ?? 0, beforeSeq: beforeSeq ?? 0, limit: q.limit + 1 },
    ));
    const entries = rows.slice(0, q.limit).map(toEntry);
    const page: AuditPage = { entries, next: rows.length > q.limit ? entries.at(-1)!.id : null };
    return c.json(page);
  });
  return app;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id, at: new Date(Number(row.at_unix_ms)).toISOString(), actor: row.actor, actorKind: row.actor_kind,
    action: row.action as AuditAction, target: row.target, outcome: row.outcome as AuditOutcome, detail: row.detail,
  };
}
