/**
 * Alerts as clients see them (DESIGN.md section 4, Alerts): over REST
 * (`GET /api/alerts`) and as the live `alerts` view.
 */

export const ALERT_STATES = ['firing', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** One occurrence of a rule's condition on one key: a re-firing after resolve is a new alert. */
export interface Alert {
  id: string;
  /** The rule's name, e.g. "low-stock". */
  rule: string;
  /** What the alert is about, within its rule: "w1/sku-7", an order id, a projection, a group; "all" for global rules. */
  key: string;
  severity: AlertSeverity;
  state: AlertState;
  firstFiredAt: string;
  lastChangedAt: string;
  /** The measured value when it was last evaluated (available stock, a failure rate, seconds waiting…). */
  value: number;
  message: string;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  /** The note given with the acknowledgement. */
  note: string | null;
  resolvedAt: string | null;
}

export interface AlertsState {
  /** Firing first, then acknowledged, then resolved; within a state the latest change first. */
  alerts: Alert[];
  counts: Record<AlertState, number>;
}

/** Firing first, then acknowledged, then resolved; newest change first within each. */
export function compareAlerts(a: Alert, b: Alert): number {
  const rank = (s: AlertState) => ALERT_STATES.indexOf(s);
  return rank(a.state) - rank(b.state) || (a.lastChangedAt < b.lastChangedAt ? 1 : a.lastChangedAt > b.lastChangedAt ? -1 : 0);
}
