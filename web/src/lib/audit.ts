/** The audit trail's REST call (`GET /api/audit`, docs/security.md): newest first, a page at a time. */
import type { AuditPage } from '../../../shared/audit.ts';
import { getJson } from './api.ts';

export interface AuditQuery {
  action?: string;
  actor?: string;
  outcome?: string;
  /** The `next` of the page before: older entries. */
  before?: string;
  limit?: number;
}

export function fetchAudit(query: AuditQuery, signal?: AbortSignal) {
  const params = new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)]),
  );
  const search = params.toString();
  return getJson<AuditPage>(`/api/audit${search ? `?${search}` : ''}`, signal);
}
