/**
 * The alerts' history in ClickHouse (`alerts`): every change of an alert, as
 * the alert store announced it on its changes stream, copied by the consumer
 * group "alerts-history" (stream-copy.ts).
 */
import { KEY_PREFIX } from '../../shared/streams.ts';
import type { GroupEntry } from '../pipeline/group-reader.ts';
import { dateTimeText, StreamCopy, type StreamCopyOptions } from './stream-copy.ts';

/** The alert store's changes stream (server/alerts/alert-keys.ts): the history reads it by name. */
const CHANGES = `${KEY_PREFIX}:alerts:changes`;

export class AlertHistory extends StreamCopy {
  constructor(options: StreamCopyOptions) {
    super(options, { stream: CHANGES, group: 'alerts-history', table: 'alerts_raw', what: 'alert changes', toRow });
  }
}

/** A change entry (the alert's fields and `change`) as an `alerts_raw` row. */
function toRow({ message: m }: GroupEntry) {
  return {
    alert_id: m.id, change: m.change, changed_at: dateTimeText(m.lastChangedAt), changed_at_unix_ms: Date.parse(m.lastChangedAt ?? '') || 0,
    rule: m.rule, key: m.key, severity: m.severity, state: m.state, value: Number(m.value), message: m.message ?? '',
    first_fired_at: dateTimeText(m.firstFiredAt), acknowledged_by: m.acknowledgedBy ?? '', note: m.note ?? '',
  };
}
