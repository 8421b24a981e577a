import { describe, expect, it } from 'vitest';
import { buildRegistry } from '../server/registry/build.ts';
import { createValidator } from '../server/registry/validator.ts';
import { validateEvents } from '../server/ingest/validate-events.ts';
import { createFlows, type DemoEvent, type FlowOptions } from './flows.ts';

const START = Date.parse('2026-11-26T12:00:00Z');
const TICK_MS = 100;

interface Delivery { at: number; event: DemoEvent }

/** Drives the flows as the simulator does, on a simulated clock, then lets every started flow finish. */
function simulate(options: Partial<FlowOptions> & { minutes?: number; rate?: number } = {}): Delivery[] {
  const { minutes = 10, rate = 20, ...flowOptions } = options;
  const flows = createFlows({ seed: 7, startAt: START, ...flowOptions });
  const deliveries: Delivery[] = [];
  let budget = 0;
  for (let t = START; t <= START + (minutes + 5) * 60_000; t += TICK_MS) {
    if (t < START + minutes * 60_000) {
      budget += (rate * TICK_MS) / 1000;
      while (budget > 0) budget -= flows.startFlow(t);
    }
    for (const event of flows.takeDue(t)) deliveries.push({ at: t, event });
  }
  expect(flows.pending).toBe(0);
  return deliveries;
}

const deliveries = simulate();
const events = deliveries.map((d) => d.event);
const distinct = [...new Map(events.map((e) => [e.id, e])).values()];
const sagas = new Map<string, DemoEvent[]>();
for (const e of distinct) if (e.correlationid) sagas.set(e.correlationid, [...(sagas.get(e.correlationid) ?? []), e]);
/** The types of each saga in causation order, joined by spaces. */
const shapes = [...sagas.values()].map((saga) => causationOrder(saga).map((e) => e.type).join(' '));

function causationOrder(saga: DemoEvent[]): DemoEvent[] {
  const byCause = new Map(saga.map((e) => [e.causationid, e]));
  const ordered: DemoEvent[] = [];
  for (let e = byCause.get(undefined); e; e = byCause.get(e.id)) ordered.push(e);
  return ordered;
}

/** Events whose first delivery came before that of the event that caused them. */
function deliveredBeforeCause(sent: DemoEvent[]): DemoEvent[] {
  const first = new Map<string, number>();
  sent.forEach((e, i) => first.has(e.id) || first.set(e.id, i));
  return sent.filter((e, i) => first.get(e.id) === i && e.causationid && i < first.get(e.causationid)!);
}

const share = (pattern: RegExp) => shapes.filter((s) => pattern.test(s)).length / shapes.length;

describe('demo flows', () => {
  it('produce only events that the registry accepts, of all 12 built-in types', () => {
    const registry = buildRegistry();
    const validation = validateEvents(events, { registry, validator: createValidator(registry), maxFutureMs: 5 * 60_000, now: deliveries.at(-1)!.at });
    expect(validation.ok ? [] : validation.problems.slice(0, 5)).toEqual([]);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(registry.keys()));
  });

  it('deliver no event before its time, at about the asked rate', () => {
    expect(deliveries.every((d) => Date.parse(d.event.time) <= d.at)).toBe(true);
    const firstTenMinutes = deliveries.filter((d) => d.at < START + 10 * 60_000).length;
    expect(firstTenMinutes / 600).toBeGreaterThan(15); // asked 20/s; flows started late still run on
    expect(firstTenMinutes / 600).toBeLessThan(25);
  });

  it('give every order a saga of the documented shapes, each event caused by the one before', () => {
    expect(sagas.size).toBeGreaterThan(1000);
    const allowed = new RegExp('^order\\.placed (' + [
      'inventory\\.reservation_failed order\\.cancelled',
      'inventory\\.reserved (payment\\.failed )*payment\\.authorized shipment\\.created shipment\\.delivered',
      'inventory\\.reserved (payment\\.failed )+inventory\\.released order\\.cancelled',
      'inventory\\.reserved (payment\\.failed )*payment\\.authorized payment\\.refunded inventory\\.released order\\.cancelled',
    ].join('|') + ')$');
    for (const [correlationid, saga] of sagas) {
      const chain = causationOrder(saga);
      expect(chain).toHaveLength(saga.length); // one unbroken causation chain, first event uncaused
      expect(chain.map((e) => e.type).join(' ')).toMatch(allowed);
      const orderId = (chain[0]!.data as { orderId: string }).orderId;
      expect(chain.every((e) => e.subject === orderId && (e.data as { orderId: string }).orderId === orderId)).toBe(true);
      expect(chain.every((e) => e.correlationid === correlationid)).toBe(true);
      expect(chain.map((e) => e.time)).toEqual(chain.map((e) => e.time).sort()); // steps move forward in time
    }
  });

  it('compensate a payment that keeps failing: payment.failed → inventory.released → order.cancelled', () => {
    const compensated = [...sagas.values()].map(causationOrder).filter((c) => /payment\.failed inventory\.released/.test(c.map((e) => e.type).join(' ')));
    expect(compensated.length).toBeGreaterThan(50);
    for (const chain of compensated) {
      const [failed, released, cancelled] = chain.slice(-3);
      expect([failed!.type, released!.type, cancelled!.type]).toEqual(['payment.failed', 'inventory.released', 'order.cancelled']);
      expect(released!.causationid).toBe(failed!.id);
      expect(cancelled!.causationid).toBe(released!.id);
      expect(released!.data).toMatchObject({ reason: 'payment failed', items: (chain[1]!.data as { items: unknown }).items });
      expect(cancelled!.data).toMatchObject({ reason: 'payment failed' });
    }
  });

  it('fail about 8% of reservations and about 10% of orders see a failed payment', () => {
    expect(share(/reservation_failed/)).toBeGreaterThan(0.05);
    expect(share(/reservation_failed/)).toBeLessThan(0.11);
    expect(share(/payment\.failed/)).toBeGreaterThan(0.07);
    expect(share(/payment\.failed/)).toBeLessThan(0.13);
    expect(share(/payment\.failed payment\.authorized/)).toBeGreaterThan(0.02); // some recover
  });

  it('restock and adjust so that stock does not run dry', () => {
    const stock = new Map<string, number>();
    const add = (warehouseId: string, sku: string, n: number) => stock.set(`${warehouseId}:${sku}`, (stock.get(`${warehouseId}:${sku}`) ?? 0) + n);
    for (const e of distinct) {
      // available = on hand − reserved, as the inventory read model counts it
      if (e.type === 'inventory.received') add(e.data.warehouseId, e.data.sku, e.data.qty);
      if (e.type === 'inventory.adjusted') add(e.data.warehouseId, e.data.sku, e.data.delta);
      if (e.type === 'inventory.reserved') e.data.items.forEach((l) => add(e.data.warehouseId, l.sku, -l.qty));
      if (e.type === 'inventory.released') e.data.items.forEach((l) => add(e.data.warehouseId, l.sku, l.qty));
    }
    expect(stock.size).toBe(80);
    expect([...stock.values()].every((available) => available >= 0)).toBe(true);
    const restocks = distinct.filter((e) => e.type === 'inventory.received').length - 80; // after the opening stock
    expect(restocks).toBeGreaterThan(20);
    expect(distinct.some((e) => e.type === 'inventory.adjusted' && e.data.delta < 0)).toBe(true);
    const short = distinct.filter((e) => e.type === 'inventory.reservation_failed' && e.data.reason === 'insufficient stock');
    expect(short.length / sagas.size).toBeLessThan(0.02);
  });

  it('send some events twice, unchanged, and some just after their successor', () => {
    const seen = new Map<string, DemoEvent>();
    let repeats = 0;
    for (const e of events) {
      if (seen.has(e.id)) {
        repeats++;
        expect(e).toEqual(seen.get(e.id));
      }
      seen.set(e.id, e);
    }
    expect(repeats / distinct.length).toBeGreaterThan(0.005);
    expect(repeats / distinct.length).toBeLessThan(0.02);
    expect(deliveredBeforeCause(events).length).toBeGreaterThan(10);
    const inOrder = simulate({ minutes: 2, duplicateRate: 0, reorderRate: 0 }).map((d) => d.event);
    expect(deliveredBeforeCause(inOrder)).toEqual([]);
    expect(new Set(inOrder.map((e) => e.id)).size).toBe(inOrder.length);
  });

  it('give the same events for the same seed, and other events for another', () => {
    const again = simulate({ minutes: 2 });
    expect(again).toEqual(simulate({ minutes: 2 }));
    expect(simulate({ minutes: 2, seed: 8 })).not.toEqual(again);
  });
});
