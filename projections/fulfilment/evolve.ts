/**
 * Where each order's saga stands (DESIGN.md section 4, Fulfilment): a slim
 * per-order state that reuses the orders' commutative stage logic, and the
 * rule that says when an in-flight order is stuck.
 */
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import { IN_FLIGHT_STAGES, orderStatus, type InFlightStage, type OrderStatus } from '../../shared/read-models.ts';
import { advanceProgress, compareText, insertSorted, type Progress } from '../orders/evolve.ts';

export interface FulfilmentState extends Progress {
  orderId: string;
  status: OrderStatus;
  /** eventKeys already folded in, sorted: a redelivered event changes nothing. */
  seen: string[];
}

export function evolveFulfilment(state: FulfilmentState | undefined, event: CloudEvent): FulfilmentState {
  const current = state ?? {
    orderId: String(event.data.orderId), warehouseId: null, warehouseRank: null,
    stages: {}, status: 'placed', lastEventAt: event.time, seen: [],
  };
  const key = eventKey(event);
  if (current.seen.includes(key)) return current;
  const progress = advanceProgress(current, event);
  // One literal, so the stored JSON has the same key order on every path.
  return {
    orderId: current.orderId,
    warehouseId: progress.warehouseId,
    stages: progress.stages,
    status: orderStatus(progress.stages),
    lastEventAt: progress.lastEventAt,
    seen: insertSorted(current.seen, key, compareText),
    warehouseRank: progress.warehouseRank,
  };
}

export const isInFlight = (status: OrderStatus): status is InFlightStage =>
  (IN_FLIGHT_STAGES as readonly string[]).includes(status);

/** Stuck: in flight, and no event for it within its stage's limit. Strictly over the limit, not at it. */
export function isStuck(
  entry: { status: OrderStatus; lastEventAt: string },
  nowMs: number,
  limitsMs: Readonly<Record<InFlightStage, number>>,
): boolean {
  return isInFlight(entry.status) && nowMs - Date.parse(entry.lastEventAt) > limitsMs[entry.status];
}
