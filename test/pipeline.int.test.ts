/**
 * The pipeline view (`GET /api/views/pipeline`, live as "pipeline") of a real
 * EventDeck with every role on a private Redis: what it says was accepted per
 * type, applied and stored matches what was sent; each group's partitions are
 * held by this process; lag returns to 0; a poison event shows up as dead
 * letters of the projections it broke; and live subscribers see it move.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/live.ts';
import type { PipelineState } from '../shared/pipeline.ts';
import { ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import type { ViewSnapshot } from '../shared/views.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import { distinct, recentFlows } from './support/flows.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const PARTITIONS = 4;
const PROJECTIONS = ['orders', 'timeline', 'inventory', 'kpi', 'fulfilment'];

let redis: TestRedis;
let client: RedisClient;
let deck: RunningEventDeck;

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  deck = await startTestDeck({
    redisUrl: redis.url,
    env: {
      EVENTDECK_PARTITIONS: String(PARTITIONS), EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_HISTORY_BATCH_WAIT_MS: '100',
      EVENTDECK_RETRY_ATTEMPTS: '2', EVENTDECK_RETRY_BASE_MS: '5', EVENTDECK_RETRY_CAP_MS: '20',
    },
  });
});

afterAll(async () => {
  await deck?.stop();
  await client?.close();
  await redis?.stop();
});

const pipeline = async (): Promise<ViewSnapshot<'pipeline'>> => {
  const response = await fetch(`${deck.url}/api/views/pipeline`);
  expect(response.status).toBe(200);
  return jsonOf(response);
};
const total = (state: PipelineState, field: 'accepted' | 'applied' | 'stored') => state.seconds.reduce((n, s) => n + s[field], 0);

describe('the pipeline view', () => {
  it('counts what was accepted per type, applied and stored, with lag back to 0 and every partition held by this process', async () => {
    const deliveries = recentFlows(60, 5);
    const sent = distinct(deliveries);
    for (let i = 0; i < deliveries.length; i += 100) expect((await postEvents(deck.url, deliveries.slice(i, i + 100))).status).toBe(202);
    // Sent again: duplicates are not activity.
    expect((await postEvents(deck.url, deliveries.slice(0, 50))).status).toBe(202);

    const { state, version } = await eventually(pipeline, ({ state: s }) =>
      total(s, 'accepted') === sent.length && total(s, 'applied') === sent.length && total(s, 'stored') === sent.length
      && s.groups.every((g) => g.lagEntries === 0), 30_000);
    expect(version).toBeGreaterThan(0);

    const byType = new Map<string, number>();
    for (const event of sent) byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
    expect(Object.fromEntries(state.throughput.map((t) => [t.type, t.lastMinute]))).toEqual(Object.fromEntries(byType));
    for (const t of state.throughput) expect(t.perSecond).toBeCloseTo(t.lastMinute / 60, 10);
    expect(state.throughput.map((t) => t.lastMinute)).toEqual([...state.throughput.map((t) => t.lastMinute)].sort((a, b) => b - a));

    expect(state.seconds).toHaveLength(120);
    const last = Date.parse(state.seconds.at(-1)!.at);
    expect(Date.now() - last).toBeGreaterThanOrEqual(1000); // complete seconds only
    expect(Date.now() - last).toBeLessThan(10_000);
    expect(state.latency.samples).toBe(sent.length);
    expect(state.latency.p50Ms).not.toBeNull();
    expect(state.latency.p50Ms!).toBeLessThanOrEqual(state.latency.p99Ms!);

    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
    for (const group of state.groups) {
      expect(group.owners).toHaveLength(1);
      expect(group.owners[0]!.partitions).toEqual(partitions);
      expect(group.pendingEntries).toBe(0);
      expect(group.lagSeconds).toBe(0);
    }
    expect(state.groups.map((g) => g.group)).toEqual(['live', 'history']);
    expect(state.groups[0]!.owners[0]!.owner).not.toBe(state.groups[1]!.owners[0]!.owner);
    const lengths = await Promise.all(partitions.map((p) => client.xLen(streamKey(p))));
    expect(state.partitions.map((p) => p.length)).toEqual(lengths);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(sent.length);
    for (const partition of state.partitions) {
      expect(partition.groups.map((g) => [g.group, g.owner, g.lagEntries])).toEqual(state.groups.map((g) => [g.group, g.owners[0]!.owner, 0]));
    }
    expect(state.projections.map((p) => [p.name, p.lagEntries, p.deadLetters])).toEqual(PROJECTIONS.map((name) => [name, 0, 0]));
    expect(state.deadLetters).toEqual({ total: 0, byStream: { ...Object.fromEntries(PROJECTIONS.map((name) => [name, 0])), history: 0 } });
  });

  it('shows a poison event as dead letters of the projections it broke', async () => {
    // A writer that bypassed ingest: an order.placed whose lines are not under `items`. The orders projection
    // fails on it, and so do its analytic rows (the history group stores the event and dead-letters the rest).
    const orderId = 'o-pipeline-poison';
    const event = {
      specversion: '1.0', id: 'pipeline-poison', source: '/legacy', type: 'order.placed', time: new Date().toISOString(), dataversion: 1,
      partitionkey: orderId, data: { orderId, customerId: 'c', warehouseId: 'w', channel: 'web', currency: 'EUR', lines: [{ sku: 's', qty: 1, unitPrice: 1 }], total: 1 },
    };
    await client.xAdd(streamKey(partitionOf(orderId, PARTITIONS)), '*', { [ENTRY_FIELDS.event]: JSON.stringify(event), [ENTRY_FIELDS.acceptedAt]: String(Date.now()) });

    const { state } = await eventually(pipeline, ({ state: s }) => s.deadLetters.total > 0 && s.groups.every((g) => g.lagEntries === 0), 30_000);
    expect(state.deadLetters.byStream).toEqual({ orders: 1, timeline: 0, inventory: 0, kpi: 0, fulfilment: 0, history: 1 });
    expect(state.deadLetters.total).toBe(Object.values(state.deadLetters.byStream).reduce((a, b) => a + b, 0));
    expect(state.projections.map((p) => [p.name, p.deadLetters])).toEqual(PROJECTIONS.map((name) => [name, name === 'orders' ? 1 : 0]));
  });

  it('has no past states: asOf is refused with a problem document', async () => {
    const response = await fetch(`${deck.url}/api/views/pipeline?asOf=2026-01-01T00:00:00Z`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect((await jsonOf(response)).detail).toMatch(/live only/);
  });

  it('pushes live updates to subscribers as events flow', async () => {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(`${deck.url}/live`, { transports: ['websocket'] });
    try {
      const ack = await new Promise<SubscribeAck>((resolve) => socket.emit('view:subscribe', { view: 'pipeline', filter: {} }, resolve));
      if (!ack.ok) throw new Error(ack.error);
      const before = total(ack.state as PipelineState, 'accepted');
      const updates: ViewSnapshot<'pipeline'>[] = [];
      socket.on('view:update', (update) => update.view === 'pipeline' && updates.push(update as ViewSnapshot<'pipeline'>));
      const more = distinct(recentFlows(5, 99)).map((e) => ({ ...e, id: `live-${e.id}` }));
      expect((await postEvents(deck.url, more)).status).toBe(202);
      await expect.poll(() => updates.some((u) => total(u.state, 'accepted') === before + more.length), { timeout: 15_000 }).toBe(true);
      expect(updates.every((u) => u.version >= ack.version)).toBe(true);
    } finally {
      socket.close();
    }
  });
});
