/**
 * An operator's compensation of a stuck order (DESIGN.md section 1: "release
 * stuck inventory"): the events a saga would have sent on failure, sent by
 * EventDeck on the operator's word. Reserved stock not yet released is
 * released (inventory.released), and an order not yet cancelled is cancelled
 * (order.cancelled). Pure: the route publishes what this plans.
 *
 * The events have fixed ids per order, so a compensation asked twice is
 * recognised by ingest's duplicate check and changes nothing the second time.
 */
import type { Order, TimelineEntry } from '../../shared/read-models.ts';

export const COMPENSATION_SOURCE = '/eventdeck/compensation';

/** Events as a producer would send them: ingest validates and normalises them. */
export type OutgoingEvent = Record<string, unknown>;

export type CompensationPlan = { ok: true; events: OutgoingEvent[] } | { ok: false; reason: string };

export interface CompensationRequest {
  reason: string;
  /** RFC 3339: the business time of the compensation. */
  time: string;
}

export function planCompensation(order: Order, timeline: readonly TimelineEntry[], request: CompensationRequest): CompensationPlan {
  if (order.stages.shipped || order.stages.delivered) {
    return { ok: false, reason: `Order "${order.orderId}" has shipped: its stock left the warehouse, and cancelling it is a return, not a compensation.` };
  }
  const reserved = timeline.find((e) => e.type === 'inventory.reserved');
  const released = timeline.some((e) => e.type === 'inventory.released');
  // The flow the order belongs to, so lineage shows the compensation in it; caused by the order's last step.
  const last = timeline.at(-1);
  const envelope = (type: string, data: Record<string, unknown>): OutgoingEvent => ({
    specversion: '1.0', id: `compensation:${order.orderId}:${type}`, source: COMPENSATION_SOURCE, type, time: request.time,
    subject: order.orderId, datacontenttype: 'application/json', data,
    ...(last?.correlationid ? { correlationid: last.correlationid } : {}),
    ...(last ? { causationid: last.id } : {}),
  });
  const events: OutgoingEvent[] = [];
  if (reserved && !released) {
    const { warehouseId, items } = reserved.data as { warehouseId: string; items: unknown };
    events.push(envelope('inventory.released', { orderId: order.orderId, warehouseId, items, reason: request.reason }));
  }
  if (!order.stages.cancelled) events.push(envelope('order.cancelled', { orderId: order.orderId, reason: request.reason }));
  if (events.length === 0) return { ok: false, reason: `Order "${order.orderId}" is cancelled and holds no reserved stock: there is nothing to compensate.` };
  return { ok: true, events };
}
