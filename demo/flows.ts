/**
 * Realistic order-fulfilment traffic for the demo and the benchmark, as plain
 * data. Pure: a seeded PRNG and the times it is given decide everything, so
 * the same seed and the same calls give the same events (and tests can replay).
 *
 * Each flow is planned whole when it starts (an order's saga, a restock, a
 * stock count), its steps seconds apart; events come out of `takeDue` once
 * their delivery time has come. A small stock model keeps orders honest:
 * reservations fail when stock is short and low items are restocked.
 */
import type { DomainEvents, DomainEventType, PricedLine, StockLine } from '../shared/domain.ts';

/** One CloudEvent as the demo producers send it (ingest adds dataversion and partitionkey). */
export type DemoEvent = {
  [T in DomainEventType]: {
    specversion: '1.0';
    id: string;
    source: string;
    type: T;
    time: string;
    subject: string;
    correlationid?: string;
    causationid?: string;
    data: DomainEvents[T];
  };
}[DomainEventType];

export interface FlowOptions {
  seed: number;
  /** When the run starts (ms): opening stock is dated here and ids carry a tag of it. */
  startAt: number;
  /** Share of events sent a second time, unchanged, a little later (default 1%). */
  duplicateRate?: number;
  /** Share of steps delivered just after the next step of their flow (default 2%). */
  reorderRate?: number;
}

export interface Flows {
  /** Plans one new flow starting at `now`; returns how many events it will deliver. */
  startFlow(now: number): number;
  /** Removes and returns up to `max` events whose delivery time is ≤ `now`, in delivery order. */
  takeDue(now: number, max?: number): DemoEvent[];
  /** Events planned and not yet taken. */
  readonly pending: number;
}

interface Warehouse { id: string; currency: 'EUR' | 'GBP'; carriers: string[] }

export const WAREHOUSES: readonly Warehouse[] = [
  { id: 'berlin', currency: 'EUR', carriers: ['DHL', 'Hermes'] },
  { id: 'leeds', currency: 'GBP', carriers: ['Royal Mail', 'DPD'] },
  { id: 'lyon', currency: 'EUR', carriers: ['Colissimo', 'Chronopost'] },
  { id: 'porto', currency: 'EUR', carriers: ['CTT', 'DPD'] },
];

/** SKU and price in euro cents; the first ones sell more (picks are skewed to the front). */
export const SKUS: readonly (readonly [sku: string, euroCents: number])[] = [
  ['tee-classic-black', 1999], ['tee-classic-white', 1999], ['socks-merino-3pk', 1799], ['hoodie-zip-grey', 5499],
  ['jeans-slim-indigo', 7999], ['cap-logo-olive', 2499], ['sneaker-runner-42', 8999], ['sneaker-runner-44', 8999],
  ['hoodie-zip-navy', 5499], ['shirt-oxford-blue', 4999], ['beanie-wool-red', 2299], ['bottle-steel-750', 2199],
  ['jeans-relaxed-black', 7999], ['backpack-daypack', 6999], ['sweater-crew-green', 5999], ['shorts-chino-sand', 3999],
  ['belt-leather-brown', 3999], ['scarf-knit-grey', 3499], ['gloves-touch-black', 2699], ['jacket-rain-yellow', 11999],
];

const CHANNELS = [['web', 45], ['app', 30], ['marketplace', 15], ['store', 10]] as const;
const METHODS = [['card', 55], ['paypal', 25], ['apple_pay', 12], ['klarna', 8]] as const;
const PAYMENT_FAILURES = ['card declined', 'insufficient funds', 'suspected fraud', '3-D Secure timed out', 'card expired'];
const GBP_PER_EUR = 0.86;

// Rates of the saga branches (of all orders); stock shortages add a few reservation failures.
const RESERVATION_FAILURE = 0.07;
const PAYMENT_TROUBLE = 0.1;
const PAYMENT_GIVES_UP = 0.6;
const CUSTOMER_CANCELS = 0.03;
// Flow mix: the rest are orders.
const RESTOCK_SHARE = 0.04;
const ADJUSTMENT_SHARE = 0.02;
// Stock levels: below RESTOCK_BELOW a restock is ordered; the low-stock alert (default 10) can fire meanwhile.
const OPENING_STOCK: [number, number] = [40, 90];
const RESTOCK_BELOW = 12;
const RESTOCK_QTY: [number, number] = [40, 100];
const RESTOCK_DELAY_MS: [number, number] = [15_000, 45_000];
/** Only neighbours at most this far apart are swapped: out-of-order, but only a little. */
const REORDER_WINDOW_MS = 15_000;

interface Planned {
  /** Delivery time: the event's `time`, or a little later when reordered or duplicated. */
  at: number;
  event: DemoEvent;
  /** Stock that comes back when the event is delivered (never earlier: the model stays on the safe side). */
  onDeliver?: () => void;
}

export function createFlows(options: FlowOptions): Flows {
  const random = mulberry32(options.seed);
  const duplicateRate = options.duplicateRate ?? 0.01;
  const reorderRate = options.reorderRate ?? 0.02;
  // Ids must not repeat across runs (ingest deduplicates by source + id for days): tag them with the start second.
  const tag = (Math.floor(options.startAt / 1000) % 36 ** 4).toString(36).padStart(4, '0');
  /** Planned deliveries by time; equal times keep the order they were planned in. */
  const queue: Planned[] = [];
  let eventCount = 0;
  let orderCount = 0;

  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const weighted = <T>(list: readonly (readonly [T, number])[]): T => {
    let r = random() * list.reduce((sum, [, w]) => sum + w, 0);
    for (const [value, w] of list) if ((r -= w) < 0) return value;
    return list[list.length - 1]![0];
  };

  /** Available stock (on hand − reserved) per `warehouse:sku`, as the producers believe it. */
  const available = new Map<string, number>();
  const restocking = new Set<string>();
  const itemKey = (warehouseId: string, sku: string) => `${warehouseId}:${sku}`;
  const stockOf = (warehouseId: string, sku: string) => available.get(itemKey(warehouseId, sku)) ?? 0;
  const addStock = (warehouseId: string, sku: string, qty: number) =>
    available.set(itemKey(warehouseId, sku), stockOf(warehouseId, sku) + qty);

  /** Builds the events of one flow, each caused by the one before. */
  function chain(correlationid: string | undefined, subject: string) {
    const steps: Planned[] = [];
    return {
      steps,
      add<T extends DomainEventType>(at: number, type: T, source: string, data: DomainEvents[T], onDeliver?: () => void) {
        const previous = steps[steps.length - 1]?.event.id;
        const event = {
          specversion: '1.0', id: `evt-${tag}-${++eventCount}`, source, type, time: new Date(at).toISOString(), subject,
          ...(correlationid ? { correlationid } : {}),
          ...(previous ? { causationid: previous } : {}),
          data,
        } as DemoEvent;
        steps.push({ at, event, ...(onDeliver ? { onDeliver } : {}) });
      },
    };
  }

  /** Queues a flow's steps, with the odd neighbour swap and duplicate; returns how many deliveries. */
  function plan(steps: Planned[]): number {
    for (let i = 0; i + 1 < steps.length; i++) {
      const [a, b] = [steps[i]!, steps[i + 1]!];
      if (b.at - a.at <= REORDER_WINDOW_MS && random() < reorderRate) {
        a.at = b.at + 1; // delivered right after its successor; its business time stays
        i++; // a step is swapped once at most
      }
    }
    let count = 0;
    for (const step of steps) {
      enqueue(step);
      count++;
      if (random() < duplicateRate) {
        enqueue({ at: step.at + int(200, 5_000), event: step.event });
        count++;
      }
    }
    return count;
  }

  function enqueue(planned: Planned): void {
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (queue[mid]!.at <= planned.at) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, planned);
  }

  function restock(warehouseId: string, sku: string, at: number): number {
    const key = itemKey(warehouseId, sku);
    restocking.add(key);
    const qty = int(...RESTOCK_QTY);
    const flow = chain(undefined, key);
    flow.add(at, 'inventory.received', `/warehouse/${warehouseId}`, { warehouseId, sku, qty }, () => {
      addStock(warehouseId, sku, qty);
      restocking.delete(key);
    });
    return plan(flow.steps);
  }

  function adjustment(now: number): number {
    const warehouseId = pick(WAREHOUSES).id;
    const [sku] = pick(SKUS);
    let delta = pick([-2, -1, 1, 2, 3]);
    if (delta < 0 && stockOf(warehouseId, sku) < 20) delta = -delta; // never count stock away that orders need
    const reason = delta < 0 ? pick(['damaged in handling', 'cycle count']) : pick(['found in cycle count', 'customer return']);
    const flow = chain(undefined, itemKey(warehouseId, sku));
    if (delta < 0) addStock(warehouseId, sku, delta); // a loss counts at once, a gain when delivered
    flow.add(now, 'inventory.adjusted', `/warehouse/${warehouseId}`, { warehouseId, sku, delta, reason },
      delta > 0 ? () => addStock(warehouseId, sku, delta) : undefined);
    return plan(flow.steps);
  }

  function order(now: number): number {
    const number = ++orderCount;
    const orderId = `ORD-${tag}-${String(number).padStart(5, '0')}`;
    const flow = chain(`saga-${tag}-${number}`, orderId);
    const warehouse = pick(WAREHOUSES);
    const { id: warehouseId, currency } = warehouse;
    const channel = weighted(CHANNELS);
    const items = pickLines(currency);
    const stockLines: StockLine[] = items.map(({ sku, qty }) => ({ sku, qty }));
    const total = cents(items.reduce((sum, l) => sum + l.qty * Math.round(l.unitPrice * 100), 0));
    const orders = '/orders';
    const stock = `/warehouse/${warehouseId}`;
    const payments = '/payments';
    let t = now;
    const after = (min: number, max: number) => (t += int(min, max));
    let extra = 0;

    flow.add(t, 'order.placed', `/shop/${channel}`, {
      orderId, customerId: `cust-${int(1000, 1799)}`, warehouseId, channel, currency, items, total,
    });
    const short = stockLines.some((l) => stockOf(warehouseId, l.sku) < l.qty);
    if (short || random() < RESERVATION_FAILURE) {
      const reason = short ? 'insufficient stock' : 'stock count mismatch at pick';
      flow.add(after(500, 3_000), 'inventory.reservation_failed', stock, { orderId, warehouseId, items: stockLines, reason });
      flow.add(after(300, 1_500), 'order.cancelled', orders, { orderId, reason: 'out of stock' });
      return plan(flow.steps);
    }
    for (const l of stockLines) {
      addStock(warehouseId, l.sku, -l.qty);
      if (stockOf(warehouseId, l.sku) < RESTOCK_BELOW && !restocking.has(itemKey(warehouseId, l.sku))) {
        extra += restock(warehouseId, l.sku, now + int(...RESTOCK_DELAY_MS));
      }
    }
    const release = () => stockLines.forEach((l) => addStock(warehouseId, l.sku, l.qty));
    flow.add(after(500, 3_000), 'inventory.reserved', stock, { orderId, warehouseId, items: stockLines });

    let attempt = 0;
    const paymentId = () => `PAY-${tag}-${number}-${++attempt}`;
    if (random() < PAYMENT_TROUBLE) {
      const failures = 1 + (random() < 0.4 ? 1 : 0) + (random() < 0.2 ? 1 : 0);
      for (let i = 0; i < failures; i++) {
        flow.add(after(1_000, 6_000), 'payment.failed', payments, {
          orderId, paymentId: paymentId(), amount: total, currency, reason: pick(PAYMENT_FAILURES),
        });
      }
      if (random() < PAYMENT_GIVES_UP) {
        // Compensation: give the stock back, then cancel.
        flow.add(after(1_000, 4_000), 'inventory.released', stock,
          { orderId, warehouseId, items: stockLines, reason: 'payment failed' }, release);
        flow.add(after(300, 1_500), 'order.cancelled', orders, { orderId, reason: 'payment failed' });
        return plan(flow.steps) + extra;
      }
    }
    const authorized = { orderId, paymentId: paymentId(), amount: total, currency };
    flow.add(after(1_000, 5_000), 'payment.authorized', payments, { ...authorized, method: weighted(METHODS) });
    if (random() < CUSTOMER_CANCELS) {
      // The customer withdrew before shipping: refund, release, cancel.
      flow.add(after(3_000, 10_000), 'payment.refunded', payments, authorized);
      flow.add(after(500, 2_000), 'inventory.released', stock,
        { orderId, warehouseId, items: stockLines, reason: 'cancelled by customer' }, release);
      flow.add(after(300, 1_500), 'order.cancelled', orders, { orderId, reason: 'cancelled by customer' });
      return plan(flow.steps) + extra;
    }
    const shipmentId = `SHP-${tag}-${number}`;
    flow.add(after(5_000, 20_000), 'shipment.created', `/shipping/${warehouseId}`, {
      orderId, shipmentId, warehouseId, carrier: pick(warehouse.carriers), items: stockLines,
    });
    flow.add(after(10_000, 40_000), 'shipment.delivered', `/shipping/${warehouseId}`, { orderId, shipmentId });
    return plan(flow.steps) + extra;
  }

  function pickLines(currency: string): PricedLine[] {
    const lines = new Map<string, PricedLine>();
    const count = weighted([[1, 50], [2, 30], [3, 15], [4, 5]] as const);
    while (lines.size < count) {
      // Squaring skews picks to the front of SKUS: a few best sellers, a long tail.
      const [sku, euroCents] = SKUS[Math.floor(random() ** 2 * SKUS.length)]!;
      const price = currency === 'GBP' ? Math.round(euroCents * GBP_PER_EUR) : euroCents;
      lines.set(sku, { sku, qty: weighted([[1, 70], [2, 22], [3, 8]] as const), unitPrice: cents(price) });
    }
    return [...lines.values()];
  }

  // Opening stock: every warehouse receives every SKU at the start.
  for (const { id: warehouseId } of WAREHOUSES) {
    for (const [sku] of SKUS) {
      const qty = int(...OPENING_STOCK);
      addStock(warehouseId, sku, qty);
      const flow = chain(undefined, itemKey(warehouseId, sku));
      flow.add(options.startAt, 'inventory.received', `/warehouse/${warehouseId}`, { warehouseId, sku, qty });
      plan(flow.steps);
    }
  }

  return {
    startFlow(now) {
      const r = random();
      if (r < RESTOCK_SHARE) {
        const warehouseId = pick(WAREHOUSES).id;
        const [sku] = pick(SKUS);
        if (stockOf(warehouseId, sku) < 60 && !restocking.has(itemKey(warehouseId, sku))) return restock(warehouseId, sku, now);
      } else if (r < RESTOCK_SHARE + ADJUSTMENT_SHARE) {
        return adjustment(now);
      }
      return order(now);
    },
    takeDue(now, max = Infinity) {
      let n = 0;
      while (n < queue.length && n < max && queue[n]!.at <= now) n++;
      return queue.splice(0, n).map((p) => {
        p.onDeliver?.();
        return p.event;
      });
    },
    get pending() {
      return queue.length;
    },
  };
}

const cents = (amount: number) => amount / 100;

/** A small, fast, seedable PRNG (Mulberry32); plenty for demo traffic. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
