/**
 * How an order's events read in its timeline: the saga's steps, its failures,
 * and the compensations that undo earlier steps (DESIGN.md section 3).
 */
import type { TimelineEntry } from '../../../shared/read-models.ts';
import { formatCount, formatMoney } from './format.ts';

export type StepKind = 'step' | 'failure' | 'compensation';

const COMPENSATIONS = new Set(['inventory.released', 'payment.refunded', 'order.cancelled']);
const FAILURES = new Set(['inventory.reservation_failed', 'payment.failed']);

export function stepKind(type: string): StepKind {
  if (COMPENSATIONS.has(type)) return 'compensation';
  if (FAILURES.has(type)) return 'failure';
  return 'step';
}

/** The few data fields worth reading at a glance; the whole data stays one click away. */
export function stepDetails(entry: TimelineEntry): string[] {
  const d = entry.data;
  const text = (key: string) => (typeof d[key] === 'string' || typeof d[key] === 'number' ? String(d[key]) : null);
  const details: string[] = [];
  const amount = typeof d.amount === 'number' ? d.amount : typeof d.total === 'number' ? d.total : null;
  if (amount !== null) details.push(formatMoney(amount, text('currency')));
  if (Array.isArray(d.items)) {
    const qty = d.items.reduce((sum: number, item) => sum + (typeof item?.qty === 'number' ? item.qty : 0), 0);
    details.push(`${formatCount(d.items.length)} line${d.items.length === 1 ? '' : 's'}, ${formatCount(qty)} units`);
  }
  for (const key of ['warehouseId', 'channel', 'method', 'carrier', 'reason']) {
    const value = text(key);
    if (value !== null) details.push(key === 'reason' ? `reason: ${value}` : value);
  }
  return details;
}

/** Entries by time with the gap to the previous one (ms), for reading the saga's pace. */
export function withGaps(timeline: TimelineEntry[]): Array<{ entry: TimelineEntry; gapMs: number | null }> {
  const sorted = [...timeline].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return sorted.map((entry, i) => ({ entry, gapMs: i === 0 ? null : Date.parse(entry.time) - Date.parse(sorted[i - 1]!.time) }));
}
