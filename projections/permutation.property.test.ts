/**
 * DESIGN.md section 4: every read model ends in the same state whatever the
 * order and however often an event is delivered, the same as one in-order
 * fold of each distinct event (by source + id).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventKey, type CloudEvent } from '../shared/cloudevent.ts';
import { readModelKeys } from '../shared/read-models.ts';
import * as make from '../test/support/events.ts';
import { applyChanges, emptyReadModels, readHash, readZset, type InMemoryReadModels } from './apply-changes.ts';
import { fulfilmentProjection } from './fulfilment/index.ts';
import { compareRows, foldInventory } from './inventory/evolve.ts';
import { inventoryProjection, parseInventoryHash } from './inventory/index.ts';
import { foldKpi } from './kpi/evolve.ts';
import { kpiProjection, parseKpiHash } from './kpi/index.ts';
import { timelineProjection } from './timeline/index.ts';
import { compareTimes } from './orders/evolve.ts';
import { ordersProjection } from './orders/index.ts';
import type { Change, CounterProjection, KeyedProjection } from './projection.ts';

// ---- realistic event sets ------------------------------------------------

const WAREHOUSES = ['w1', 'w2'];
const SKUS = ['s1', 's2', 's3'];
const SAGA_STEPS = [
  'placed', 'reserved', 'reservation_failed', 'released', 'authorized', 'failed', 'refunded', 'cancelled', 'shipped', 'delivered',
] as const;

/**
 * Times within ~20 s across a minute boundary, so stages tie and KPI minutes
 * split; one instant is written three ways, so ties between texts happen too.
 */
const timeArb = fc.record({ second: fc.integer({ min: 0, max: 20 }), style: fc.constantFrom('millis', 'seconds', 'offset') }).map(({ second, style }) => {
  const iso = new Date(Date.parse('2026-11-26T10:00:50.000Z') + second * 1000).toISOString();
  if (style === 'millis') return iso;
  if (style === 'seconds') return iso.replace('.000Z', 'Z');
  const hour = Number(iso.slice(11, 13)) + 1;
  return `${iso.slice(0, 11)}${String(hour).padStart(2, '0')}${iso.slice(13, 19)}+01:00`;
});

const common = { time: timeArb, source: fc.constantFrom('/orders', '/payments', '/warehouse') };
const itemsArb = fc.array(fc.record({ sku: fc.constantFrom(...SKUS), qty: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 });
const moneyArb = fc.constantFrom(0, 0.1, 0.2, 19.99, 1234.5678);

const sagaStepArb = fc.record({
  ...common,
  step: fc.constantFrom(...SAGA_STEPS),
  warehouseId: fc.constantFrom(...WAREHOUSES),
  items: itemsArb,
  amount: moneyArb,
  reason: fc.constantFrom('declined', 'customer asked', 'no stock'),
});
const orderArb = fc.record({
  currency: fc.constantFrom('EUR', 'USD'),
  // A random subset of the saga, with repeats (retries, second cancellations, a resent order.placed).
  steps: fc.array(sagaStepArb, { minLength: 1, maxLength: 8 }),
});
const stockArb = fc.record({
  ...common,
  kind: fc.constantFrom('received', 'adjusted'),
  warehouseId: fc.constantFrom(...WAREHOUSES),
  sku: fc.constantFrom(...SKUS, 'lonely-sku'),
  qty: fc.integer({ min: 1, max: 20 }),
  delta: fc.integer({ min: -5, max: 5 }),
});

type SagaStep = typeof sagaStepArb extends fc.Arbitrary<infer T> ? T : never;

function sagaEvent(orderId: string, currency: string, s: SagaStep, envelope: make.Envelope): CloudEvent {
  const order = { orderId, warehouseId: s.warehouseId, items: s.items };
  switch (s.step) {
    case 'placed': {
      const items = s.items.map((line) => ({ ...line, unitPrice: s.amount }));
      return make.orderPlaced({ ...order, items, currency, total: s.amount * s.items.length }, envelope);
    }
    case 'reserved': return make.inventoryReserved(order, envelope);
    case 'reservation_failed': return make.reservationFailed({ ...order, reason: s.reason }, envelope);
    case 'released': return make.inventoryReleased({ ...order, reason: s.reason }, envelope);
    case 'authorized': return make.paymentAuthorized({ orderId, amount: s.amount, currency }, envelope);
    case 'failed': return make.paymentFailed({ orderId, amount: s.amount, currency, reason: s.reason }, envelope);
    case 'refunded': return make.paymentRefunded({ orderId, amount: s.amount, currency }, envelope);
    case 'cancelled': return make.orderCancelled({ orderId, reason: s.reason }, envelope);
    case 'shipped': return make.shipmentCreated(order, envelope);
    case 'delivered': return make.shipmentDelivered({ orderId }, envelope);
  }
}

/** Distinct events (unique source + id), listed in the order they happened. */
const eventSetArb = fc
  .record({ orders: fc.array(orderArb, { maxLength: 5 }), stock: fc.array(stockArb, { maxLength: 8 }) })
  .map(({ orders, stock }) => {
    let n = 0;
    const envelope = (e: { time: string; source: string }) => ({ id: `e${n++}`, source: e.source, time: e.time });
    const events = [
      ...orders.flatMap((o, i) => o.steps.map((s) => sagaEvent(`o${i}`, o.currency, s, envelope(s)))),
      ...stock.map((s) => s.kind === 'received'
        ? make.inventoryReceived({ warehouseId: s.warehouseId, sku: s.sku, qty: s.qty }, envelope(s))
        : make.inventoryAdjusted({ warehouseId: s.warehouseId, sku: s.sku, delta: s.delta }, envelope(s))),
    ];
    return events.sort((a, b) => compareTimes(a.time, b.time));
  });

/** The distinct events, and what the bus delivers: each at least once, in any order, in batches. */
const scenarioArb = eventSetArb.chain((events) =>
  fc.record({
    events: fc.constant(events),
    redelivered: events.length === 0 ? fc.constant<number[]>([]) : fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 10 }),
    batchSizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
  }).chain(({ events, redelivered, batchSizes }) => {
    const all = [...events, ...redelivered.map((i) => structuredClone(events[i]!))];
    return fc.record({
      events: fc.constant(events),
      deliveries: fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
      batchSizes: fc.constant(batchSizes),
    });
  }),
);

// ---- the engine, in miniature --------------------------------------------

function* batches<T>(items: T[], sizes: number[]): Generator<T[]> {
  for (let at = 0, i = 0; at < items.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield items.slice(at, at + size);
    at += size;
  }
}

/** Folds each batch per key, then applies indexChanges(before batch → after batch), as the engine does. */
function runKeyed<S>(projection: KeyedProjection<S>, deliveries: CloudEvent[], batchSizes = [1]) {
  const states = new Map<string, S>();
  const changes: Change[] = [];
  for (const batch of batches(deliveries, batchSizes)) {
    const before = new Map<string, S | undefined>();
    for (const event of batch) {
      const key = projection.keyOf(event);
      if (key === undefined) continue;
      if (!before.has(key)) before.set(key, states.get(key));
      states.set(key, projection.evolve(states.get(key), event));
    }
    for (const [key, was] of before) changes.push(...projection.indexChanges(key, was, states.get(key)!));
  }
  return { states: sortedObject(states), indexes: snapshot(applyChanges(emptyReadModels(), changes)) };
}

/**
 * Counter projections are applied to DISTINCT deliveries only: in the system,
 * ingest drops a repeated source + id, and each partition's checkpoint is
 * committed with its Changes in one MULTI/EXEC, so a redelivered batch is skipped.
 */
function runCounter(projection: CounterProjection, deliveries: CloudEvent[]): InMemoryReadModels {
  return applyChanges(emptyReadModels(), distinct(deliveries).flatMap((e) => projection.changes(e)));
}

function distinct(events: CloudEvent[]): CloudEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => !seen.has(eventKey(e)) && Boolean(seen.add(eventKey(e))));
}

const sortedObject = <V>(map: Map<string, V>): Record<string, V> => Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * Index contents as plain data. A count that went to 0 by HINCRBY leaves a "0"
 * field that another order of arrival never creates; readers take missing as 0,
 * so zero counts are left out here.
 */
function snapshot(model: InMemoryReadModels, dropZeroCounts = true) {
  const hashes = new Map([...model.hashes].map(([k, h]) => [k, sortedObject(new Map([...h].filter(([, v]) => !dropZeroCounts || v !== 0)))]));
  return {
    hashes: sortedObject(hashes),
    zsets: sortedObject(new Map([...model.zsets].map(([k]) => [k, readZset(model, k)]))),
    sets: sortedObject(new Map([...model.sets].map(([k, s]) => [k, [...s].sort()]))),
  };
}

// ---- the properties ------------------------------------------------------

describe.each([
  ['orders', ordersProjection],
  ['fulfilment', fulfilmentProjection],
] as const)('the %s projection, under any order and duplication of deliveries', (_name, projection) => {
  const keyed = projection as KeyedProjection<unknown>;

  it('ends in the same states and the same indexes as the in-order fold of the distinct events', () => {
    fc.assert(fc.property(scenarioArb, ({ events, deliveries, batchSizes }) => {
      const inOrder = runKeyed(keyed, events);
      const shuffled = runKeyed(keyed, deliveries, batchSizes);
      expect(shuffled.states).toEqual(inOrder.states);
      // Stored as JSON: the documents are the same bytes, not only deep-equal.
      expect(JSON.stringify(shuffled.states)).toBe(JSON.stringify(inOrder.states));
      expect(shuffled.indexes).toEqual(inOrder.indexes);
    }));
  });

  it('leaves indexes that describe the final states and nothing else', () => {
    fc.assert(fc.property(scenarioArb, ({ deliveries, batchSizes }) => {
      const { states, indexes } = runKeyed(keyed, deliveries, batchSizes);
      const fromScratch = Object.entries(states).flatMap(([key, state]) => keyed.indexChanges(key, undefined, state));
      expect(indexes).toEqual(snapshot(applyChanges(emptyReadModels(), fromScratch)));
    }));
  });
});

describe('the counter projections, under any order of the distinct deliveries', () => {
  it('inventory sums to the in-order fold, read back row by row', () => {
    fc.assert(fc.property(scenarioArb, ({ events, deliveries }) => {
      const model = runCounter(inventoryProjection, deliveries);
      expect(snapshot(model, false)).toEqual(snapshot(runCounter(inventoryProjection, events), false));
      const warehouses = [...(model.sets.get(readModelKeys.inventoryWarehouses) ?? [])].sort();
      const rows = warehouses.flatMap((w) => parseInventoryHash(w, readHash(model, readModelKeys.inventory(w)))).sort(compareRows);
      expect(rows).toEqual(foldInventory(events));
      expect(foldInventory(deliveries)).toEqual(foldInventory(events));
    }));
  });

  it('KPIs sum to the in-order fold, read back minute by minute', () => {
    fc.assert(fc.property(scenarioArb, ({ events, deliveries }) => {
      const model = runCounter(kpiProjection, deliveries);
      expect(snapshot(model, false)).toEqual(snapshot(runCounter(kpiProjection, events), false));
      const minutes = readZset(model, readModelKeys.kpiMinutes).map(({ member }) => parseKpiHash(member, readHash(model, readModelKeys.kpiMinute(member))));
      expect(minutes).toEqual(foldKpi(events));
      expect(foldKpi(deliveries)).toEqual(foldKpi(events));
    }));
  });

  it('timelines hold the same steps in the same order as the in-order fold, even with redeliveries', () => {
    fc.assert(fc.property(scenarioArb, ({ events, deliveries }) => {
      // ZADD of the same step twice is a no-op: unlike the counters, no dedupe is needed before it.
      const all = [...deliveries, ...deliveries.slice(0, 3)];
      expect(snapshot(applyChanges(emptyReadModels(), all.flatMap((e) => timelineProjection.changes(e))), false))
        .toEqual(snapshot(runCounter(timelineProjection, events), false));
    }));
  });
});
