/**
 * The audit trail (`GET /api/audit`, ClickHouse table `audit_log`): every
 * privileged action, who did it, on what, when and with what outcome. Entries
 * are only ever added; no API changes or removes one.
 */

/** The privileged actions EventDeck records. */
export const AUDIT_ACTIONS = [
  'projection.rebuild', 'dlq.redrive', 'dlq.discard', 'alert.acknowledge', 'sql.query',
  'key.create', 'key.rotate', 'key.revoke', 'embed-token.mint', 'compensate',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** ok: done; denied: refused for want of a right or scope; failed: allowed, but it did not work (bad input, an error). */
export const AUDIT_OUTCOMES = ['ok', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditEntry {
  /** Unique and in order of recording. */
  id: string;
  /** RFC 3339, when it was recorded. */
  at: string;
  /** Who: an API key id, a JWT subject, "local" in local mode. */
  actor: string;
  /** key, user, embed or local. */
  actorKind: string;
  action: AuditAction;
  /** On what: a projection, a dead-letter queue and id, an alert id, a key id; for SQL, empty. */
  target: string;
  outcome: AuditOutcome;
  /** What else matters: the SQL text, a discard reason, why it was denied or failed. */
  detail: string;
}

/** `GET /api/audit`: newest first. */
export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  next: string | null;
}
