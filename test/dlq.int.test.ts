/**
 * The dead-letter workbench against a real Redis and a real EventDeck: a legacy
 * writer put events on the bus that name their lines `lines` instead of `items`,
 * so the orders and inventory projections dead-letter them (the others apply
 * them). The fix is a registry change, order.placed and shipment.created v2 with
 * an upcaster that renames `lines` to `items`, deployed by restarting; then the
 * dead letters are re-driven into the projections that failed, once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { DeadLetterAction, DeadLetterActionPage, DeadLetterDetail, DeadLetterOverview, DeadLetterPage } from '../shared/dead-letters.ts';
import { orderFulfilmentTypes } from '../shared/event-types/order-fulfilment.ts';
import { minuteOf, readModelKeys } from '../shared/read-models.ts';
import { deadLetterKey, ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const PARTITIONS = 4;
const SECRET = 'cust-secret-42';
const ORDER = 'o-legacy';
const TIME = '2026-06-01T09:30:00.000Z';
const TYPE_ERROR = "TypeError: Cannot read properties of undefined (reading 'reduce')";

let redis: TestRedis;
let client: RedisClient;
let deck: RunningEventDeck;

const env = {
  EVENTDECK_ROLES: 'api,projector', EVENTDECK_PARTITIONS: String(PARTITIONS), EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_LEASE_TTL_MS: '1000',
  EVENTDECK_RETRY_ATTEMPTS: '2', EVENTDECK_RETRY_BASE_MS: '5', EVENTDECK_RETRY_CAP_MS: '20',
};

/** The fix: v2 of both types, whose upcaster fills `items` from the legacy `lines`. */
function fixedRegistryConfig(): string {
  const v2 = (type: string) => ({
    type,
    versions: [{ version: 2, schema: orderFulfilmentTypes.find((t) => t.type === type)!.versions[0]!.schema, upcast: { rename: { lines: 'items' } } }],
  });
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'eventdeck-dlq-')), 'config.json');
  writeFileSync(file, JSON.stringify({ registry: { types: [v2('order.placed'), v2('shipment.created')] } }));
  return file;
}

const legacy = (id: string, type: string, data: Record<string, unknown>) => JSON.stringify({
  specversion: '1.0', id, source: '/legacy-writer', type, time: TIME, dataversion: 1, partitionkey: ORDER, subject: ORDER, data,
});
const placedRaw = legacy('legacy-1', 'order.placed', {
  orderId: ORDER, customerId: SECRET, warehouseId: 'w-dlq', channel: 'web', currency: 'EUR', lines: [{ sku: 'sku-dlq', qty: 2, unitPrice: 5 }], total: 10,
});
const shippedRaw = legacy('legacy-2', 'shipment.created', {
  orderId: ORDER, shipmentId: 's-1', warehouseId: 'w-dlq', carrier: 'dhl', lines: [{ sku: 'sku-dlq', qty: 2 }],
});

const api = (url: string, init?: RequestInit) => fetch(`${deck.url}/api/dlq${url}`, init);
const post = (url: string, body: unknown) => api(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
/** Every answer of the workbench is kept, to check none of them shows the sensitive value. */
const answers: string[] = [];
async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  answers.push(text);
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

const onHand = async () => Number(await client.hGet(readModelKeys.inventory('w-dlq'), 'sku-dlq|onHand'));
const ordersPlaced = async () => Number(await client.hGet(readModelKeys.kpiMinute(minuteOf(TIME)), 'ordersPlaced'));

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  deck = await startTestDeck({ redisUrl: redis.url, env });
});

afterAll(async () => {
  await deck?.stop();
  await client?.close();
  await redis?.stop();
});

describe('the dead-letter workbench', () => {
  let placedLetter: string;
  let shippedLetter: string;

  it('lists poison events per projection, grouped by error, with the customer masked', async () => {
    const received = await postEvents(deck.url, [{
      specversion: '1.0', id: 'stock-1', source: '/warehouse', type: 'inventory.received', time: new Date().toISOString(),
      data: { warehouseId: 'w-dlq', sku: 'sku-dlq', qty: 10 },
    }]);
    expect(received.status).toBe(202);
    // Written straight to the bus, as the legacy writer did: ingest would have refused them.
    const partition = partitionOf(ORDER, PARTITIONS);
    for (const raw of [placedRaw, shippedRaw, '{not json']) {
      await client.xAdd(streamKey(partition), '*', { [ENTRY_FIELDS.event]: raw, [ENTRY_FIELDS.acceptedAt]: String(Date.now()) });
    }
    await expect.poll(async () => (await client.xLen(deadLetterKey('orders'))) + (await client.xLen(deadLetterKey('inventory'))), { timeout: 15_000 }).toBe(4);

    const overview = await json<DeadLetterOverview>(await api(''));
    const queue = (name: string) => overview.queues.find((q) => q.name === name)!;
    expect(overview.queues.map((q) => q.name)).toEqual(['orders', 'timeline', 'inventory', 'kpi', 'fulfilment', 'history', 'webhooks']);
    expect(queue('orders')).toMatchObject({ kind: 'projection', count: 2, redrive: { supported: true } });
    expect(queue('orders').groups).toEqual(expect.arrayContaining([
      expect.objectContaining({ error: TYPE_ERROR, count: 1, types: ['order.placed'] }),
      expect.objectContaining({ error: expect.stringContaining('cannot decode'), count: 1, types: [] }),
    ]));
    expect(queue('inventory').groups.map((g) => g.types)).toEqual(expect.arrayContaining([['shipment.created']]));
    expect(queue('kpi').count).toBe(1); // only the entry that is not JSON: kpi took both legacy events
    expect(queue('history')).toMatchObject({ kind: 'history', count: 0, redrive: { supported: false } });

    const page = await json<DeadLetterPage>(await api(`/orders?error=${encodeURIComponent(TYPE_ERROR)}`));
    expect(page.entries).toEqual([expect.objectContaining({
      type: 'order.placed', source: '/legacy-writer', eventId: 'legacy-1', subject: ORDER, attempts: 2, partition, error: TYPE_ERROR,
    })]);
    placedLetter = page.entries[0]!.id;
    const detail = await json<DeadLetterDetail>(await api(`/orders/${placedLetter}`));
    expect(detail).toMatchObject({ masked: true, event: { id: 'legacy-1', data: { orderId: ORDER, customerId: '•••' } } });
    expect(new Date(detail.failedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    shippedLetter = (await json<DeadLetterPage>(await api('/inventory'))).entries.find((e) => e.type === 'shipment.created')!.id;

    // Paged: one at a time, oldest first.
    const first = await json<DeadLetterPage>(await api('/orders?limit=1'));
    expect(first.entries.map((e) => e.id)).toEqual([placedLetter]);
    const second = await json<DeadLetterPage>(await api(`/orders?limit=1&after=${first.next}`));
    expect(second.entries[0]!.error).toContain('cannot decode');
    expect(second.next).toBeNull();
  });

  it('keeps a dead letter whose cause is still there, and says why it failed', async () => {
    const action = await json<DeadLetterAction>(await post('/orders/redrive', { ids: [placedLetter] }));
    expect(action.entries).toEqual([{ id: placedLetter, source: '/legacy-writer', eventId: 'legacy-1', outcome: 'failed', error: TYPE_ERROR }]);
    expect(action.counts).toEqual({ failed: 1 });
    await json(await api(`/orders/${placedLetter}`));
  });

  it('after the fix, re-drives each into the projection that failed, once, without counting it again elsewhere', async () => {
    await deck.stop();
    deck = await startTestDeck({ redisUrl: redis.url, env: { ...env, EVENTDECK_CONFIG: fixedRegistryConfig() } });
    expect(await ordersPlaced()).toBe(1);
    expect(await onHand()).toBe(10);

    const byError = await json<DeadLetterAction>(await post('/orders/redrive', { error: TYPE_ERROR, reason: 'upcaster for lines', by: 'ops-anna' }));
    expect(byError).toMatchObject({ action: 'redrive', queue: 'orders', selector: { error: TYPE_ERROR }, reason: 'upcaster for lines', by: 'ops-anna', counts: { applied: 1 } });
    const order = await jsonOf(await fetch(`${deck.url}/api/orders/${ORDER}`));
    expect(order.order).toMatchObject({ orderId: ORDER, itemCount: 2, total: 10 });
    expect(await ordersPlaced()).toBe(1); // kpi had it already: re-driving into orders did not count it again

    const byId = await json<DeadLetterAction>(await post('/inventory/redrive', { ids: [shippedLetter] }));
    expect(byId.counts).toEqual({ applied: 1 });
    expect(await onHand()).toBe(8);

    // The same event dead-lettered a second time (say, by a projector that crashed before its acknowledgement).
    const again = await client.xAdd(deadLetterKey('inventory'), '*', {
      event: shippedRaw, error: 'TypeError: items is not iterable', attempts: '2', streamId: '1-1', partition: '0', failedAt: String(Date.now()),
    });
    const repeat = await json<DeadLetterAction>(await post('/inventory/redrive', { ids: [again] }));
    expect(repeat.entries).toEqual([{ id: again, source: '/legacy-writer', eventId: 'legacy-2', outcome: 'already-applied' }]);
    expect(await onHand()).toBe(8);
    await json(await api(`/inventory/${again}`), 404);
    await json(await post('/inventory/redrive', { ids: [again] }), 404);
  });

  it('discards with a reason, which the action log keeps, and refuses a discard without one', async () => {
    const problem = await json<{ type: string; detail: string }>(await post('/orders/discard', { all: true }), 400);
    expect(problem).toMatchObject({ type: 'https://eventdeck.dev/problems/bad-request', detail: expect.stringContaining('reason') });
    expect(await client.xLen(deadLetterKey('orders'))).toBe(1);

    const discarded = await json<DeadLetterAction>(await post('/orders/discard', { all: true, reason: 'garbage from a test writer', by: 'ops-anna' }));
    expect(discarded).toMatchObject({ action: 'discard', counts: { discarded: 1 }, reason: 'garbage from a test writer' });
    expect(await client.xLen(deadLetterKey('orders'))).toBe(0);

    const log = await json<DeadLetterActionPage>(await api('/actions'));
    expect(log.actions.map((a) => [a.action, a.queue, Object.keys(a.counts)[0]])).toEqual([
      ['discard', 'orders', 'discarded'], ['redrive', 'inventory', 'already-applied'], ['redrive', 'inventory', 'applied'],
      ['redrive', 'orders', 'applied'], ['redrive', 'orders', 'failed'],
    ]);
    expect(log.actions[0]).toMatchObject({ reason: 'garbage from a test writer', by: 'ops-anna', selector: { all: true }, entries: [{ outcome: 'discarded' }] });
    expect(Date.parse(log.actions[0]!.at)).toBeGreaterThan(Date.now() - 60_000);
    const older = await json<DeadLetterActionPage>(await api(`/actions?limit=2&before=${log.actions[1]!.id}`));
    expect(older.actions.map((a) => a.id)).toEqual([log.actions[2]!.id, log.actions[3]!.id]);
  });

  it('answers problems for an unknown queue or entry, and for re-driving history or webhook dead letters', async () => {
    const unknown = await api('/nope');
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    await json(unknown, 404);
    await json(await api('/orders/123-0'), 404);
    await json(await post('/nope/discard', { all: true, reason: 'x' }), 404);
    await json(await post('/orders/redrive', { all: true, ids: ['1-0'] }), 400);
    const history = await json<{ detail: string }>(await post('/history/redrive', { all: true }), 501);
    expect(history.detail).toContain('History dead letters');
    await json(await post('/webhooks/redrive', { all: true }), 501);
  });

  it('never shows the masked customer in any answer', () => {
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) expect(answer).not.toContain(SECRET);
  });
});
