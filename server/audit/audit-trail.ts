/**
 * Records privileged actions on a Redis stream, `eventdeck:audit`, from any
 * process with the api role; the history role copies the stream into
 * ClickHouse (`audit_log`, server/history/audit-history.ts), where it is read
 * and queried. The stream, durable with AOF, holds an entry until the copy is
 * acknowledged, so a ClickHouse outage loses nothing.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import type { AuditAction, AuditOutcome } from '../../shared/audit.ts';
import { KEY_PREFIX } from '../../shared/streams.ts';

export const AUDIT_STREAM = `${KEY_PREFIX}:audit`;

/** Longer details (an analyst's SQL) are cut here: the trail says what was done, it is not an archive. */
const MAX_DETAIL_CHARS = 4_000;

export interface AuditRecord {
  actor: { id: string; kind: string };
  action: AuditAction;
  target?: string;
  outcome: AuditOutcome;
  detail?: string;
}

export class AuditTrail {
  constructor(private readonly redis: RedisClient, private readonly now: () => number) {}

  /** Adds one entry; resolves once Redis holds it. */
  async record(record: AuditRecord): Promise<void> {
    const detail = record.detail ?? '';
    await this.redis.xAdd(AUDIT_STREAM, '*', {
      at: new Date(this.now()).toISOString(),
      actor: record.actor.id,
      actorKind: record.actor.kind,
      action: record.action,
      target: record.target ?? '',
      outcome: record.outcome,
      detail: detail.length > MAX_DETAIL_CHARS ? `${detail.slice(0, MAX_DETAIL_CHARS)}…` : detail,
    });
  }
}
