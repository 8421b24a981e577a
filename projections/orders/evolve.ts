/**
 * One order, folded from the events of its saga (DESIGN.md section 4, Order).
 *
 * Deliveries come at least once and out of order, so every field is a
 * commutative, idempotent merge over the SET of distinct events: earliest or
 * latest time, sums over distinct events, or a ranked choice. No field is
 * "whatever arrived last". The same set of events therefore gives the same
 * state, byte for byte, whatever the order and however many duplicates.
 */
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import type { DomainEvents, DomainEventType } from '../../shared/domain.ts';
import {
  ORDER_STAGES,
  fromMoneyUnits,
  orderStatus,
  toMoneyUnits,
  type Order,
  type OrderStage,
  type TimelineEntry,
} from '../../shared/read-models.ts';
import { isIsoUtc } from '../../shared/time.ts';

/** The types whose data names an order: the steps of its saga. */
export const ORDER_EVENT_TYPES = [
  'order.placed', 'inventory.reserved', 'inventory.reservation_failed', 'inventory.released',
  'payment.authorized', 'payment.failed', 'payment.refunded', 'order.cancelled',
  'shipment.created', 'shipment.delivered',
] as const satisfies readonly DomainEventType[];

const ORDER_TYPES: ReadonlySet<string> = new Set(ORDER_EVENT_TYPES);

/** The stage each event type reaches; types not listed reach none. */
export const STAGE_REACHED_BY: Readonly<Partial<Record<string, OrderStage>>> = {
  'order.placed': 'placed',
  'inventory.reserved': 'reserved',
  'payment.authorized': 'paid',
  'shipment.created': 'shipped',
  'shipment.delivered': 'delivered',
  'order.cancelled': 'cancelled',
};

/** The order an event belongs to, or undefined for events of no order. */
export function orderIdOf(event: CloudEvent): string | undefined {
  if (!ORDER_TYPES.has(event.type)) return undefined;
  const orderId = event.data.orderId;
  return typeof orderId === 'string' && orderId !== '' ? orderId : undefined;
}

/** Code-unit order: the same in every process, unlike localeCompare. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Orders RFC 3339 times by instant. One instant can be written several ways
 * ("Z" or "+00:00", with or without millis); the text breaks that tie so every
 * replica keeps the same string.
 */
export function compareTimes(a: string, b: string): number {
  // Two times both written as toISOString writes them compare as text, and that is most times:
  // this runs several times per event, and Date.parse was a tenth of folding an order.
  // (Fixed-width fields: text order is time order, and one instant has one spelling. For calendar
  // times, that is; ingest refuses others, such as 30 February.)
  if (isIsoUtc(a) && isIsoUtc(b)) return compareText(a, b);
  return Date.parse(a) - Date.parse(b) || compareText(a, b);
}

/**
 * Where an event stands in a ranked choice: lower tier first, then earlier
 * time, then eventKey. A total order over distinct events, so "the smallest
 * rank wins" gives one answer whatever the arrival order.
 */
export interface Rank { tier: number; time: string; key: string }

export function rankOf(event: CloudEvent, tier = 0): Rank {
  return { tier, time: event.time, key: eventKey(event) };
}

export function compareRanks(a: Rank, b: Rank): number {
  return a.tier - b.tier || compareTimes(a.time, b.time) || compareText(a.key, b.key);
}

/** True when `candidate` should replace the current choice. */
export function outranks(candidate: Rank, current: Rank | null): boolean {
  return current === null || compareRanks(candidate, current) < 0;
}

/** What every order-keyed read model tracks: which stage was reached when, the latest event, the warehouse. */
export interface Progress {
  stages: Partial<Record<OrderStage, string>>;
  lastEventAt: string;
  warehouseId: string | null;
  /** Why warehouseId is what it is: order.placed (tier 0) beats any other event carrying one (tier 1). */
  warehouseRank: Rank | null;
}

/** Progress after one more distinct event (pure; `progress` is not changed). */
export function advanceProgress(progress: Progress, event: CloudEvent): Progress {
  const stage = STAGE_REACHED_BY[event.type];
  const reachedFirst = stage !== undefined && (progress.stages[stage] === undefined || compareTimes(event.time, progress.stages[stage]) < 0);
  const stages = reachedFirst ? inStageOrder({ ...progress.stages, [stage]: event.time }) : progress.stages;
  const lastEventAt = compareTimes(event.time, progress.lastEventAt) > 0 ? event.time : progress.lastEventAt;

  let { warehouseId, warehouseRank } = progress;
  const carried = event.data.warehouseId;
  if (typeof carried === 'string') {
    const rank = rankOf(event, event.type === 'order.placed' ? 0 : 1);
    if (outranks(rank, warehouseRank)) [warehouseId, warehouseRank] = [carried, rank];
  }
  return { stages, lastEventAt, warehouseId, warehouseRank };
}

/** Stages with keys in ORDER_STAGES order, so the stored JSON does not depend on arrival order. */
function inStageOrder(stages: Partial<Record<OrderStage, string>>): Partial<Record<OrderStage, string>> {
  const ordered: Partial<Record<OrderStage, string>> = {};
  for (const stage of ORDER_STAGES) if (stages[stage] !== undefined) ordered[stage] = stages[stage];
  return ordered;
}

/**
 * A new list: `item` added to a sorted list, kept sorted. Events mostly come in
 * order, so the search starts from the end; this runs once per event on the hot path.
 */
export function insertSorted<T>(list: readonly T[], item: T, compare: (a: T, b: T) => number): T[] {
  let at = list.length;
  while (at > 0 && compare(list[at - 1]!, item) > 0) at--;
  const next = list.slice();
  next.splice(at, 0, item);
  return next;
}

/**
 * The stored order: the public Order, the events folded in, and the ranks behind
 * its ranked choices. The timeline itself is the timeline projection's: kept
 * apart, the document stays small however long the saga.
 */
export interface OrderState extends Order, Progress {
  /** eventKeys of the distinct events folded in, sorted: a redelivered event changes nothing. */
  seen: string[];
  /** The earliest event time seen (the order's index score until order.placed arrives). */
  firstEventAt: string;
  /** The order.placed whose fields are shown: the earliest (time, eventKey). */
  placedRank: Rank | null;
  /** The order.cancelled whose reason is shown: the earliest (time, eventKey). */
  cancelRank: Rank | null;
}

/** Data as the registry's schema (newest version) guarantees it after ingest and upcasting. */
const dataOf = <T extends DomainEventType>(event: CloudEvent, _type: T) => event.data as unknown as DomainEvents[T];

export function evolveOrder(state: OrderState | undefined, event: CloudEvent): OrderState {
  const current = state ?? emptyOrder(String(event.data.orderId), event.time);
  const key = eventKey(event);
  // An event already folded in changes nothing: this is what makes redelivery harmless.
  if (current.seen.includes(key)) return current;

  const progress = advanceProgress(current, event);
  let { customerId, channel, currency, total, itemCount, placedRank, paymentFailures, refunded, cancelReason, cancelRank } = current;
  switch (event.type) {
    case 'order.placed': {
      const rank = rankOf(event);
      if (!outranks(rank, placedRank)) break;
      const placed = dataOf(event, 'order.placed');
      [customerId, channel, currency, total, placedRank] = [placed.customerId, placed.channel, placed.currency, placed.total, rank];
      itemCount = placed.items.reduce((sum, line) => sum + line.qty, 0);
      break;
    }
    case 'payment.failed':
      paymentFailures += 1;
      break;
    case 'payment.refunded':
      // Summed in integer units: floating-point addition would depend on the order.
      refunded = fromMoneyUnits(toMoneyUnits(refunded) + toMoneyUnits(dataOf(event, 'payment.refunded').amount));
      break;
    case 'order.cancelled': {
      const rank = rankOf(event);
      if (outranks(rank, cancelRank)) [cancelReason, cancelRank] = [dataOf(event, 'order.cancelled').reason, rank];
      break;
    }
  }

  // Built as one literal so the stored JSON has the same key order on every path.
  return {
    orderId: current.orderId,
    customerId,
    warehouseId: progress.warehouseId,
    channel,
    currency,
    total,
    itemCount,
    stages: progress.stages,
    status: orderStatus(progress.stages),
    paymentFailures,
    refunded,
    cancelReason,
    lastEventAt: progress.lastEventAt,
    seen: insertSorted(current.seen, key, compareText),
    firstEventAt: compareTimes(event.time, current.firstEventAt) < 0 ? event.time : current.firstEventAt,
    warehouseRank: progress.warehouseRank,
    placedRank,
    cancelRank,
  };
}

function emptyOrder(orderId: string, time: string): OrderState {
  return {
    orderId, customerId: null, warehouseId: null, channel: null, currency: null, total: null, itemCount: 0,
    stages: {}, status: 'placed', paymentFailures: 0, refunded: 0, cancelReason: null, lastEventAt: time,
    seen: [], firstEventAt: time, warehouseRank: null, placedRank: null, cancelRank: null,
  };
}

/** An event as a step of its order's timeline. */
export function toTimelineEntry(event: CloudEvent): TimelineEntry {
  const entry: TimelineEntry = { id: event.id, source: event.source, type: event.type, time: event.time, data: event.data };
  if (event.correlationid !== undefined) entry.correlationid = event.correlationid;
  if (event.causationid !== undefined) entry.causationid = event.causationid;
  return entry;
}
