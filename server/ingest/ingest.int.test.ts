import { CloudEvent as SdkEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { partitionOf, streamKey, streamKeys } from '../../shared/streams.ts';
import { decode } from '../../projections/engine/decode.ts';
import { loadConfig } from '../config.ts';
import type { RunningEventDeck } from '../eventdeck.ts';
import { buildRegistry } from '../registry/build.ts';
import { jsonOf, postEvents, startTestDeck } from '../../test/support/eventdeck.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
let redis: TestRedis;
let deck: RunningEventDeck;
let client: ReturnType<typeof createClient>;
let seq = 0;
const configFile = path.join(os.tmpdir(), `eventdeck-registry-${process.pid}.json`);

function received(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  seq += 1;
  return {
    specversion: '1.0', id: `evt-${seq}`, source: '/warehouse/scanner', type: 'inventory.received',
    time: '2026-11-26T11:59:00Z', data: { warehouseId: 'w1', sku: `sku-${seq % 7}`, qty: 3, ...data }, ...overrides,
  };
}

async function streamLengths(): Promise<number[]> {
  return Promise.all(streamKeys(16).map((key) => client.xLen(key)));
}
const total = (lengths: number[]) => lengths.reduce((a, b) => a + b, 0);

async function entriesOf(partition: number) {
  const entries = await client.xRange(streamKey(partition), '-', '+');
  return entries.map((e) => JSON.parse(e.message.event!) as Record<string, unknown>);
}

beforeAll(async () => {
  redis = await startTestRedis();
  writeFileSync(configFile, JSON.stringify({
    registry: {
      types: [
        {
          type: 'loyalty.points_earned', partitionKey: '{customerId}',
          versions: [
            { version: 1, status: 'deprecated', deprecatedAt: '2026-10-01T00:00:00Z',
              schema: { type: 'object', required: ['customerId', 'points'], properties: { customerId: { type: 'string' }, points: { type: 'integer' } } } },
            { version: 2, schema: { type: 'object', required: ['customerId', 'amount', 'programme'], properties: { customerId: { type: 'string' }, amount: { type: 'integer' }, programme: { type: 'string' } } },
              upcast: { rename: { points: 'amount' }, defaults: { programme: 'standard' } } },
          ],
        },
        {
          type: 'legacy.ping', partitionKey: '{n}',
          versions: [
            { version: 1, status: 'retired', schema: { type: 'object' } },
            { version: 2, schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } },
          ],
        },
      ],
    },
  }));
  deck = await startTestDeck({ redisUrl: redis.url, now: () => NOW, env: {
    EVENTDECK_CONFIG: configFile, EVENTDECK_ROLES: 'api', EVENTDECK_MAX_BODY_BYTES: String(256 * 1024), EVENTDECK_MAX_BATCH_EVENTS: '600',
  } });
  client = createClient({ url: redis.url });
  client.on('error', () => {}); // the Redis-down test kills the server under it
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await deck?.stop();
  await redis?.stop();
});

beforeEach(async () => {
  await client.flushAll();
});

describe('content modes', () => {
  it('accepts an event sent with the CloudEvents SDK in structured mode, once however often it is sent', async () => {
    const emit = emitterFor(httpTransport(`${deck.url}/api/events`), { mode: Mode.STRUCTURED });
    const event = new SdkEvent({
      id: 'sdk-structured-1', source: '/shop/web', type: 'order.placed', time: '2026-11-26T11:00:00Z',
      data: { orderId: 'o-17', customerId: 'c-9', warehouseId: 'w1', channel: 'web', currency: 'EUR',
        items: [{ sku: 'a', qty: 2, unitPrice: 5 }], total: 10 },
    });
    for (let i = 0; i < 3; i++) await emit(event);
    const partition = partitionOf('o-17', 16);
    const landed = await entriesOf(partition);
    expect(landed.map((e) => e.id)).toEqual(['sdk-structured-1']);
    expect(landed[0]).toMatchObject({ type: 'order.placed', partitionkey: 'o-17', dataversion: 1 });
    expect(total(await streamLengths())).toBe(1);
  });

  it('accepts an event sent with the CloudEvents SDK in binary mode, once however often it is sent', async () => {
    const emit = emitterFor(httpTransport(`${deck.url}/api/events`), { mode: Mode.BINARY });
    const event = new SdkEvent({
      id: 'sdk-binary-1', source: '/shop/payments', type: 'payment.authorized', time: '2026-11-26T11:01:00Z',
      correlationid: 'saga-o-18', datacontenttype: 'application/json',
      data: { orderId: 'o-18', paymentId: 'p-1', amount: 10, currency: 'EUR', method: 'card' },
    });
    const responses = [];
    for (let i = 0; i < 3; i++) responses.push(await emit(event));
    const landed = await entriesOf(partitionOf('o-18', 16));
    expect(landed).toHaveLength(1);
    expect(landed[0]).toMatchObject({ id: 'sdk-binary-1', correlationid: 'saga-o-18', data: { paymentId: 'p-1' } });
    expect(total(await streamLengths())).toBe(1);
  });

  it('reports the counts of accepted and duplicate events of a batch', async () => {
    const first = received();
    const response = await postEvents(deck.url, [first, received(), first]);
    expect(response.status).toBe(202);
    expect(await jsonOf(response)).toEqual({ received: 3, accepted: 2, duplicates: 1 });
    const again = await postEvents(deck.url, [first]);
    expect(await jsonOf(again)).toEqual({ received: 1, accepted: 0, duplicates: 1 });
    expect(total(await streamLengths())).toBe(2);
  });

  it('accepts NDJSON, one event per line, blank lines ignored', async () => {
    const body = `${JSON.stringify(received())}\n\n${JSON.stringify(received())}\n`;
    const response = await postEvents(deck.url, body, 'application/x-ndjson');
    expect(response.status).toBe(202);
    expect(await jsonOf(response)).toMatchObject({ accepted: 2 });
  });

  it('takes binary attributes from percent-encoded ce-* headers and an integer dataversion', async () => {
    const response = await postEvents(deck.url, { customerId: 'c-1', amount: 5, programme: 'gold' }, 'application/json; charset=utf-8', {
      'ce-specversion': '1.0', 'ce-id': 'bin-2', 'ce-source': '/loyalty/caf%C3%A9', 'ce-type': 'loyalty.points_earned',
      'ce-time': '2026-11-26T10:00:00Z', 'ce-dataversion': '2',
    });
    expect(response.status).toBe(202);
    const [stored] = await entriesOf(partitionOf('c-1', 16));
    expect(stored).toMatchObject({ source: '/loyalty/café', dataversion: 2, datacontenttype: 'application/json; charset=utf-8' });
  });
});

describe('rejections', () => {
  it('rejects a batch of 500 valid events and 1 invalid one whole, pointing at the invalid one', async () => {
    const batch = Array.from({ length: 500 }, () => received());
    batch.splice(250, 0, received({}, { qty: -4 }));
    const before = await streamLengths();
    const response = await postEvents(deck.url, batch);
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = await jsonOf(response);
    expect(problem).toMatchObject({ status: 422, title: expect.any(String), type: expect.stringContaining('invalid-events') });
    expect(problem.errors).toEqual([{ index: 250, pointer: '/data/qty', detail: 'must be >= 1' }]);
    expect(await streamLengths()).toEqual(before);
  });

  it('lists every problem of every invalid event with a JSON pointer', async () => {
    const response = await postEvents(deck.url, [
      { specversion: '1.0', id: 'x', source: '/s', type: 'inventory.received', data: { warehouseId: 'w1', sku: 's', qty: 1 } },
      received({ specversion: '0.3' }),
      received({ type: 'no.such.type' }),
      received({}, { sku: undefined, qty: 'many' }),
      received({ time: 'yesterday' }),
      'not an event',
    ]);
    expect(response.status).toBe(422);
    const { errors } = await jsonOf(response);
    expect(errors).toEqual(expect.arrayContaining([
      { index: 0, pointer: '/time', detail: 'is required' },
      { index: 1, pointer: '/specversion', detail: 'must be "1.0"' },
      { index: 2, pointer: '/type', detail: expect.stringContaining('unknown event type "no.such.type"') },
      { index: 3, pointer: '/data/sku', detail: 'is required' },
      { index: 3, pointer: '/data/qty', detail: 'must be integer' },
      { index: 4, pointer: '/time', detail: expect.stringContaining('RFC 3339') },
      { index: 5, pointer: '', detail: 'an event must be a JSON object' },
    ]));
    expect(total(await streamLengths())).toBe(0);
  });

  it('rejects an event more than 5 minutes in the future, and takes old ones (backfills)', async () => {
    const future = await postEvents(deck.url, [received({ time: new Date(NOW + 6 * 60_000).toISOString() })]);
    expect(future.status).toBe(422);
    expect((await jsonOf(future)).errors[0]).toMatchObject({ pointer: '/time', detail: expect.stringContaining('in the future') });
    const soon = await postEvents(deck.url, [received({ time: new Date(NOW + 4 * 60_000).toISOString() })]);
    expect(soon.status).toBe(202);
    const old = await postEvents(deck.url, [received({ time: '2019-01-01T00:00:00Z' })]);
    expect(old.status).toBe(202);
  });

  it('answers 400 for a body that is not JSON, and for binary mode without ce-* headers', async () => {
    const broken = await postEvents(deck.url, '[{"specversion":', 'application/cloudevents-batch+json');
    expect(broken.status).toBe(400);
    expect(await jsonOf(broken)).toMatchObject({ detail: expect.stringContaining('not valid JSON') });
    const ndjson = await postEvents(deck.url, `${JSON.stringify(received())}\n{oops\n`, 'application/x-ndjson');
    expect(ndjson.status).toBe(400);
    expect((await jsonOf(ndjson)).detail).toContain('line 2');
    const plainJson = await postEvents(deck.url, received(), 'application/json');
    expect(plainJson.status).toBe(400);
    expect((await jsonOf(plainJson)).detail).toContain('ce-specversion');
    const notArray = await postEvents(deck.url, received(), 'application/cloudevents-batch+json');
    expect(notArray.status).toBe(400);
    expect(total(await streamLengths())).toBe(0);
  });

  it('answers 413 for a body over the limit and for a batch over the event limit', async () => {
    const big = await postEvents(deck.url, [received({}, { padding: 'x'.repeat(300 * 1024) })]);
    expect(big.status).toBe(413);
    expect(big.headers.get('content-type')).toBe('application/problem+json');
    const many = await postEvents(deck.url, Array.from({ length: 601 }, () => received()));
    expect(many.status).toBe(413);
    expect((await jsonOf(many)).detail).toContain('at most 600');
    expect(total(await streamLengths())).toBe(0);
  });

  it('answers 415 for a content type it does not take, naming the ones it does', async () => {
    const response = await postEvents(deck.url, 'hello', 'text/plain');
    expect(response.status).toBe(415);
    const problem = await jsonOf(response);
    expect(problem.detail).toContain('application/cloudevents+json');
    const none = await fetch(`${deck.url}/api/events`, { method: 'POST', body: new Uint8Array([1, 2]) });
    expect(none.status).toBe(415);
  });
});

describe('partitions', () => {
  it('puts every event of one order in one partition and stock events by warehouse + sku', async () => {
    const order = (type: string, id: string, data: Record<string, unknown>) => ({
      specversion: '1.0', id, source: '/shop', type, time: '2026-11-26T11:00:00Z', data: { orderId: 'o-42', ...data },
    });
    const response = await postEvents(deck.url, [
      order('order.cancelled', 'c1', { reason: 'customer' }),
      order('shipment.delivered', 'd1', { shipmentId: 's1' }),
      received({ id: 'r1' }, { warehouseId: 'w9', sku: 'blue-mug' }),
    ]);
    expect(response.status).toBe(202);
    const orderEvents = await entriesOf(partitionOf('o-42', 16));
    expect(orderEvents.filter((e) => (e.data as { orderId?: string }).orderId === 'o-42').map((e) => e.id)).toEqual(['c1', 'd1']);
    const stock = await entriesOf(partitionOf('w9:blue-mug', 16));
    expect(stock.find((e) => e.id === 'r1')).toMatchObject({ partitionkey: 'w9:blue-mug' });
  });
});

describe('versions', () => {
  it('accepts a deprecated version with a Deprecation header, upcasts it for projections, and rejects a retired one', async () => {
    const deprecated = await postEvents(deck.url, [
      received({ type: 'loyalty.points_earned', dataversion: 1 }, { warehouseId: undefined, sku: undefined, qty: undefined, customerId: 'c-2', points: 4 }),
    ]);
    expect(deprecated.status).toBe(202);
    expect(deprecated.headers.get('deprecation')).toBe(`@${Date.parse('2026-10-01T00:00:00Z') / 1000}`);
    expect(deprecated.headers.get('link')).toContain('</api/registry/loyalty.points_earned>; rel="deprecation"');
    const retired = await postEvents(deck.url, [{ ...received(), type: 'legacy.ping', data: { n: 1 } }]);
    expect(retired.status).toBe(422);
    expect((await jsonOf(retired)).errors[0]).toMatchObject({ pointer: '/dataversion', detail: expect.stringContaining('retired') });
    // Projections see the stored version 1 event upcast to version 2 by the registered upcaster.
    const [stored] = await client.xRange(streamKey(partitionOf('c-2', 16)), '-', '+');
    const seen = decode(stored!, buildRegistry(loadConfig({ EVENTDECK_CONFIG: configFile }).registryTypes));
    expect('event' in seen && seen.event).toMatchObject({ dataversion: 2, data: { customerId: 'c-2', amount: 4, programme: 'standard' } });
    expect(JSON.parse(stored!.message.event!)).toMatchObject({ dataversion: 1, data: { points: 4 } });
    const unknownVersion = await postEvents(deck.url, [received({ dataversion: 3 })]);
    expect((await jsonOf(unknownVersion)).errors[0]).toMatchObject({ pointer: '/dataversion' });
  });
});

describe('registry API', () => {
  it('lists the twelve built-in types and registered ones with versions, status and partition key rule', async () => {
    const response = await fetch(`${deck.url}/api/registry`);
    const { types } = await jsonOf(response);
    expect(types.map((t: { type: string }) => t.type)).toEqual(expect.arrayContaining([
      'order.placed', 'inventory.reserved', 'inventory.reservation_failed', 'inventory.released', 'payment.authorized',
      'payment.failed', 'payment.refunded', 'order.cancelled', 'shipment.created', 'shipment.delivered',
      'inventory.received', 'inventory.adjusted', 'loyalty.points_earned',
    ]));
    expect(types.find((t: { type: string }) => t.type === 'inventory.adjusted')).toMatchObject({
      partitionKey: '{warehouseId}:{sku}', latestVersion: 1, versions: [{ version: 1, status: 'active' }],
    });
    expect(types.find((t: { type: string }) => t.type === 'loyalty.points_earned')).toMatchObject({
      latestVersion: 2, versions: [{ version: 1, status: 'deprecated' }, { version: 2, status: 'active' }],
    });
  });

  it('serves the JSON Schema of each version of a type, with its sensitive fields marked', async () => {
    const response = await fetch(`${deck.url}/api/registry/order.placed`);
    const body = await jsonOf(response);
    expect(body.versions[0].schema.properties.customerId['x-sensitive']).toBe(true);
    expect(body.versions[0].schema.required).toContain('items');
    const missing = await fetch(`${deck.url}/api/registry/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('when Redis is down', () => {
  it('answers 503 and not ready, and takes events again once Redis is back', async () => {
    await redis.kill();
    const response = await postEvents(deck.url, [received()]);
    expect(response.status).toBe(503);
    expect((await fetch(`${deck.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${deck.url}/healthz`)).status).toBe(200);
    await redis.restart();
    await expect.poll(async () => (await fetch(`${deck.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    await client.ping().catch(() => undefined);
    expect((await postEvents(deck.url, [received()])).status).toBe(202);
  });
});
