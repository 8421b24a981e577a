/**
 * The audit trail in ClickHouse (`audit_log`): the entries of the audit
 * stream (server/audit/audit-trail.ts), copied by the consumer group
 * "audit-history" (stream-copy.ts). The stream entry id is the row's identity.
 */
import { KEY_PREFIX } from '../../shared/streams.ts';
import type { GroupEntry } from '../pipeline/group-reader.ts';
import { dateTimeText, StreamCopy, type StreamCopyOptions } from './stream-copy.ts';

/** The audit trail's stream (server/audit/audit-trail.ts): the history reads it by name. */
const AUDIT = `${KEY_PREFIX}:audit`;

export class AuditHistory extends StreamCopy {
  constructor(options: StreamCopyOptions) {
    super(options, { stream: AUDIT, group: 'audit-history', table: 'audit_log_raw', what: 'the audit trail', toRow });
  }
}

function toRow({ id, message: m }: GroupEntry) {
  return {
    id, at: dateTimeText(m.at), at_unix_ms: Date.parse(m.at ?? '') || 0, actor: m.actor ?? '', actor_kind: m.actorKind ?? '',
    action: m.action ?? '', target: m.target ?? '', outcome: m.outcome ?? '', detail: m.detail ?? '',
  };
}
