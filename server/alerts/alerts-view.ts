/** The alerts view and `GET /api/alerts`: the latest alerts, firing first, with counts by state. */
import { z } from 'zod';
import { ALERT_STATES, compareAlerts, type Alert, type AlertsState, type AlertSeverity, type AlertState } from '../../shared/alerts.ts';
import type { ReadModelSource } from '../views/read-model-source.ts';
import { alertKeys } from './alert-keys.ts';

export const alertsFilter = z.strictObject({
  state: z.enum(ALERT_STATES).optional(),
  rule: z.string().min(1).optional(),
});
export type AlertsFilter = z.infer<typeof alertsFilter>;

/** How many alerts a listing reads at most, by latest change. */
const LIST_LIMIT = 500;

export async function readAlerts(source: ReadModelSource, filter: AlertsFilter): Promise<AlertsState> {
  const ids = await source.zRange(alertKeys.byChange, 0, LIST_LIMIT - 1, { REV: true });
  const all = (await Promise.all(ids.map((id) => readAlert(source, id)))).filter((a): a is Alert => a !== undefined);
  const counts: Record<AlertState, number> = { firing: 0, acknowledged: 0, resolved: 0 };
  for (const a of all) counts[a.state]++;
  const alerts = all
    .filter((a) => (filter.state === undefined || a.state === filter.state) && (filter.rule === undefined || a.rule === filter.rule))
    .sort(compareAlerts);
  return { alerts, counts };
}

/** Firing alerts (not yet acknowledged): the overview tile. */
export const countFiring = (source: ReadModelSource): Promise<number> => source.zCard(alertKeys.firing);

export async function readAlert(source: Pick<ReadModelSource, 'hGetAll'>, id: string): Promise<Alert | undefined> {
  return alertFromFields(await source.hGetAll(alertKeys.alert(id)));
}

/** An alert from its Redis hash (or a change entry, which carries the same fields); undefined when empty. */
export function alertFromFields(hash: Record<string, string>): Alert | undefined {
  if (!hash.state) return undefined;
  return {
    id: hash.id!, rule: hash.rule!, key: hash.key!, severity: hash.severity as AlertSeverity, state: hash.state as AlertState,
    firstFiredAt: hash.firstFiredAt!, lastChangedAt: hash.lastChangedAt!, value: Number(hash.value), message: hash.message ?? '',
    acknowledgedBy: hash.acknowledgedBy ?? null, acknowledgedAt: hash.acknowledgedAt ?? null, note: hash.note ?? null,
    resolvedAt: hash.resolvedAt ?? null,
  };
}
