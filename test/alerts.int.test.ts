/**
 * The alert rules and their lifecycle over real Redis and a real EventDeck
 * (api + projector): events go in over HTTP, the read models follow, and an
 * AlertEvaluator with a controlled clock evaluates the rules, as the alerts
 * role does on its timer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../platform/net/free-port.ts';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { alertKeys } from '../server/alerts/alert-keys.ts';
import { AlertEvaluator } from '../server/alerts/alerts-role.ts';
import { ruleSchema, type AlertRule } from '../server/alerts/rules.ts';
import { WEBHOOK_DEAD_LETTERS } from '../server/alerts/webhooks.ts';
import { loadConfig } from '../server/config.ts';
import { AlertHistory } from '../server/history/alert-history.ts';
import { applyMigrations } from '../server/history/migrations.ts';
import { openHistoryStore } from '../server/history/open-store.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import type { Alert, AlertsState } from '../shared/alerts.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { CONSUMER_GROUPS, deadLetterKey, streamKey } from '../shared/streams.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { eventually, jsonOf, postEvents, startTestDeck } from './support/eventdeck.ts';
import {
  at, inventoryReceived, inventoryReserved, orderPlaced, paymentAuthorized, paymentFailed, redelivery, T0,
} from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let deck: RunningEventDeck;
let client: RedisClient;
const config = loadConfig({});

beforeAll(async () => {
  redis = await startTestRedis();
  deck = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api,projector', EVENTDECK_BATCH_WAIT_MS: '5' } });
  client = await connectRedis(redis.url);
});

/** Empties Redis as new, with the projector's group back on every stream, so its loops go on. */
async function reset(): Promise<void> {
  await client.flushAll();
  for (let p = 0; p < config.partitions; p++) await client.xGroupCreate(streamKey(p), CONSUMER_GROUPS.live, '0', { MKSTREAM: true });
}

afterEach(reset);

afterAll(async () => {
  await client?.close();
  await deck?.stop();
  await redis?.stop();
});

/** An evaluator whose clock reads `clock.now`; unless started, it runs only when a test calls evaluateOnce. */
function evaluator(clock: { now: number }, rules = config.alerts.rules): AlertEvaluator {
  return new AlertEvaluator({
    redis: client, ...config.alerts, rules, levels: config.inventory, stageLimitsMs: config.stageLimitsMs, partitions: config.partitions,
    now: () => clock.now, log: () => {}, everyMs: 3_600_000, webhookRetry: { baseMs: 10, factor: 2, capMs: 50, attempts: 4 },
  });
}

/** Publishes over HTTP and waits until every projection has committed them. */
async function publish(events: readonly CloudEvent[]): Promise<void> {
  expect((await postEvents(deck.url, events)).status).toBe(202);
  await eventually(() => projectionsCaughtUp(redis.url), Boolean);
}

const alerts = async (query = ''): Promise<AlertsState> => jsonOf(await fetch(`${deck.url}/api/alerts${query}`));
const of = (state: AlertsState, rule: string) => state.alerts.filter((a) => a.rule === rule);
const ms = (iso: string) => Date.parse(iso);

async function acknowledge(id: string, body: unknown): Promise<Response> {
  return fetch(`${deck.url}/api/alerts/${id}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('low stock', () => {
  it('fires below the reorder level, is acknowledged with a note, resolves after a restock, and fires again as a new alert', async () => {
    const clock = { now: ms(at(60)) };
    const rules = evaluator(clock);
    const stock = { warehouseId: 'w-1', sku: 'sku-1' };
    await publish([inventoryReceived({ ...stock, qty: 12 })]);
    await rules.evaluateOnce();
    expect(of(await alerts(), 'low-stock')).toEqual([]);

    // 12 on hand, 5 reserved: 7 available, below the default level of 10
    await publish([inventoryReserved({ orderId: 'o-1', warehouseId: 'w-1', items: [{ sku: 'sku-1', qty: 5 }] })]);
    await rules.evaluateOnce();
    const [fired] = of(await alerts(), 'low-stock');
    expect(fired).toMatchObject({ key: 'w-1/sku-1', state: 'firing', value: 7, severity: 'warning', firstFiredAt: at(60) });
    const overview = await jsonOf(await fetch(`${deck.url}/api/views/overview`));
    expect(overview.state.tiles.firingAlerts).toBe(1);

    const acked = await acknowledge(fired!.id, { by: 'dana', note: 'restock ordered' });
    expect(acked.status).toBe(200);
    // Acknowledged by a person, on the server's clock.
    expect(await jsonOf(acked)).toMatchObject({ id: fired!.id, state: 'acknowledged', acknowledgedBy: 'dana', note: 'restock ordered', acknowledgedAt: expect.any(String) });
    // An acknowledged alert is no longer firing; acknowledging it again is a conflict.
    expect((await jsonOf(await fetch(`${deck.url}/api/views/overview`))).state.tiles.firingAlerts).toBe(0);
    const again = await acknowledge(fired!.id, { by: 'dana' });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');

    // A restock of 10: 17 available
    clock.now = ms(at(120));
    await publish([inventoryReceived({ ...stock, qty: 10 })]);
    await rules.evaluateOnce();
    expect(of(await alerts(), 'low-stock')).toEqual([expect.objectContaining({ id: fired!.id, state: 'resolved', resolvedAt: at(120) })]);

    // Low again: a new occurrence, not the old one reopened
    clock.now = ms(at(150));
    await publish([inventoryReserved({ orderId: 'o-2', warehouseId: 'w-1', items: [{ sku: 'sku-1', qty: 10 }] })]);
    await rules.evaluateOnce();
    const history = of(await alerts(), 'low-stock');
    expect(history.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(history[0]!.id).not.toBe(fired!.id);
    expect((await alerts('?state=resolved')).alerts.map((a) => a.id)).toEqual([fired!.id]);
  });

  it('answers problems for an unknown alert and for a body without who acknowledges', async () => {
    expect((await acknowledge('a-none', { by: 'dana' })).status).toBe(404);
    const bad = await acknowledge('a-none', { note: 'no name' });
    expect(bad.status).toBe(400);
    expect(await jsonOf(bad)).toMatchObject({ status: 400, detail: expect.stringContaining('by') });
    expect((await fetch(`${deck.url}/api/alerts?state=loud`)).status).toBe(400);
  });
});

describe('payment failure rate', () => {
  const payment = (i: number, failed: boolean, second: number) =>
    (failed ? paymentFailed : paymentAuthorized)({ orderId: `o-${i}`, paymentId: `p-${i}` }, { time: at(second) });

  it('fires above 5 % only with 20 payments in the last 5 minutes, and resolves below 4 %', async () => {
    const clock = { now: ms(at(4 * 60 + 30)) };
    const rules = evaluator(clock);
    // 19 payments, 5 failed: 26 %, but not enough volume
    await publish(Array.from({ length: 19 }, (_, i) => payment(i, i < 5, 60 + i)));
    await rules.evaluateOnce();
    expect(of(await alerts(), 'payment-failure-rate')).toEqual([]);

    // the 20th payment: 6 of 20 failed
    await publish([payment(19, true, 200)]);
    await rules.evaluateOnce();
    expect(of(await alerts(), 'payment-failure-rate')).toEqual([expect.objectContaining({ key: 'all', state: 'firing', value: 0.3, severity: 'critical' })]);

    // 130 more authorized: 6 of 150 is 4 %, between the bounds: still firing
    await publish(Array.from({ length: 130 }, (_, i) => payment(100 + i, false, 230)));
    await rules.evaluateOnce();
    expect(of(await alerts(), 'payment-failure-rate')[0]).toMatchObject({ state: 'firing', value: 0.04 });

    // 10 more: 6 of 160 is 3.75 %
    await publish(Array.from({ length: 10 }, (_, i) => payment(300 + i, false, 240)));
    await rules.evaluateOnce();
    expect(of(await alerts(), 'payment-failure-rate')[0]).toMatchObject({ state: 'resolved' });
  });
});

describe('stuck order', () => {
  it('fires when an order waits past its stage limit and resolves when the next step arrives', async () => {
    const clock = { now: ms(T0) + 60_000 };
    const rules = evaluator(clock);
    await publish([orderPlaced({ orderId: 'o-slow' }, { time: T0 })]);
    await rules.evaluateOnce();
    expect(of(await alerts(), 'stuck-order')).toEqual([]);

    clock.now = ms(T0) + 121_000; // placed limit: 2 min
    await rules.evaluateOnce();
    expect(of(await alerts(), 'stuck-order')).toEqual([expect.objectContaining({ key: 'o-slow', state: 'firing', value: 121 })]);

    clock.now = ms(T0) + 130_000;
    await publish([inventoryReserved({ orderId: 'o-slow' }, { time: at(125) })]);
    await rules.evaluateOnce();
    expect(of(await alerts(), 'stuck-order')).toEqual([expect.objectContaining({ key: 'o-slow', state: 'resolved' })]);
  });
});

describe('pipeline health', () => {
  it('dead letters present fire per projection and resolve when the stream is emptied', async () => {
    const clock = { now: Date.now() };
    const rules = evaluator(clock);
    await client.xAdd(deadLetterKey('orders'), '*', { event: '{}', error: 'boom', attempts: '5', streamId: '1-1', partition: '0', failedAt: '0' });
    await rules.evaluateOnce();
    expect(of(await alerts(), 'dead-letters')).toEqual([expect.objectContaining({ key: 'orders', state: 'firing', value: 1 })]);
    await client.del(deadLetterKey('orders'));
    await rules.evaluateOnce();
    expect(of(await alerts(), 'dead-letters')).toEqual([expect.objectContaining({ key: 'orders', state: 'resolved' })]);
  });

  it('consumer lag fires when a group is more than 10 s behind, and resolves once it caught up', async () => {
    await publish([inventoryReceived()]);
    const [partition] = await Promise.all(Array.from({ length: 16 }, (_, p) => client.xLen(streamKey(p)))).then((lengths) => [lengths.findIndex((n) => n > 0)]);
    // A history group that never read: its oldest entry waits.
    await client.xGroupCreate(streamKey(partition!), CONSUMER_GROUPS.history, '0');
    const clock = { now: Date.now() + 30_000 };
    const rules = evaluator(clock);
    await rules.evaluateOnce();
    expect(of(await alerts(), 'consumer-lag')).toEqual([expect.objectContaining({ key: 'history', state: 'firing', value: expect.closeTo(30, -1) })]);

    await client.xGroupSetId(streamKey(partition!), CONSUMER_GROUPS.history, '$');
    await rules.evaluateOnce();
    expect(of(await alerts(), 'consumer-lag')).toEqual([expect.objectContaining({ key: 'history', state: 'resolved' })]);
  });
});

describe('alert history', () => {
  /** Phases of events, each followed by an evaluation at its own time. */
  const phases = () => {
    const received = inventoryReceived({ warehouseId: 'w-9', sku: 'x', qty: 12 });
    const reserved = inventoryReserved({ orderId: 'o-8', warehouseId: 'w-9', items: [{ sku: 'x', qty: 5 }] });
    const placed = orderPlaced({ orderId: 'o-9', warehouseId: 'w-9' }, { time: T0 });
    const restock = inventoryReceived({ warehouseId: 'w-9', sku: 'x', qty: 20 });
    const nextStep = inventoryReserved({ orderId: 'o-9', warehouseId: 'w-9', items: [{ sku: 'x', qty: 1 }] }, { time: at(200) });
    return [
      // low stock fires (7 available)
      { atMs: ms(at(30)), events: [received, placed, reserved] },
      // low stock resolves (27 available); o-9 waits 150 s as placed: stuck
      { atMs: ms(at(150)), events: [restock] },
      // o-9 moves on: stuck resolves
      { atMs: ms(at(210)), events: [nextStep] },
    ];
  };

  async function run(deliver: (events: CloudEvent[], earlier: CloudEvent[]) => CloudEvent[]): Promise<Alert[]> {
    const clock = { now: 0 };
    const rules = evaluator(clock);
    const sent: CloudEvent[] = [];
    for (const phase of phases()) {
      clock.now = phase.atMs;
      await publish(deliver(phase.events, sent));
      sent.push(...phase.events);
      await rules.evaluateOnce();
    }
    const { alerts: all } = await alerts();
    await reset();
    return all;
  }

  it('is the same when events are delivered twice and out of order', async () => {
    const inOrder = await run((events) => events);
    expect(inOrder.map((a) => [a.rule, a.key, a.state, a.firstFiredAt, a.resolvedAt])).toEqual([
      ['stuck-order', 'o-9', 'resolved', at(150), at(210)],
      ['low-stock', 'w-9/x', 'resolved', at(30), at(150)],
    ]);
    const shuffled = await run((events, earlier) => [...events].reverse().concat(events.map(redelivery), earlier.map(redelivery)));
    expect(shuffled).toEqual(inOrder);
  });

  it('holds one alert per key when several processes evaluate at once', async () => {
    const clock = { now: ms(at(60)) };
    await publish([inventoryReceived({ qty: 3 })]);
    await Promise.all(Array.from({ length: 4 }, () => evaluator(clock).evaluateOnce()));
    expect(of(await alerts(), 'low-stock')).toHaveLength(1);
  });
});

describe('webhook notifications', () => {
  let receiver: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve())));

  /** A receiver on loopback that answers `answer(attempt)` to the nth attempt of each notification. */
  async function startReceiver(answer: (attempt: number) => number) {
    const attempts = new Map<string, number>();
    const delivered: Array<{ key: string; body: { id: string; change: string; alert: Alert } }> = [];
    receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        const key = String(request.headers['idempotency-key']);
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        const status = answer(attempt);
        if (status < 300) delivered.push({ key, body: JSON.parse(text) });
        response.writeHead(status).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => receiver!.listen(port, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${port}/hook`, attempts, delivered };
  }

  const lowStockTo = (url: string): AlertRule[] =>
    [ruleSchema.parse({ kind: 'threshold', name: 'low-stock', webhook: { url } })];

  it('delivers each change once, also when the receiver fails the first two attempts, without holding up the alerts', async () => {
    const hook = await startReceiver((attempt) => (attempt <= 2 ? 503 : 204));
    const clock = { now: ms(at(60)) };
    const rules = evaluator(clock, lowStockTo(hook.url));
    await rules.start();
    try {
      await publish([inventoryReceived({ warehouseId: 'w-h', sku: 'h', qty: 3 })]);
      await rules.evaluateOnce();
      const [fired] = of(await alerts(), 'low-stock');
      expect(fired).toMatchObject({ state: 'firing' }); // at once, whatever the receiver does
      await acknowledge(fired!.id, { by: 'sam', note: 'on it' });
      clock.now = ms(at(90));
      await publish([inventoryReceived({ warehouseId: 'w-h', sku: 'h', qty: 30 })]);
      await rules.evaluateOnce();

      const keys = ['fired', 'acknowledged', 'resolved'].map((change) => `${fired!.id}:${change}`);
      await eventually(async () => hook.delivered.length, (n) => n >= 3);
      expect(hook.delivered.map((d) => d.key).sort()).toEqual([...keys].sort());
      for (const key of keys) expect(hook.attempts.get(key)).toBe(3);
      const byKey = new Map(hook.delivered.map((d) => [d.key, d.body]));
      expect(byKey.get(keys[0]!)).toMatchObject({ id: keys[0], change: 'fired', alert: { id: fired!.id, state: 'firing', key: 'w-h/h' } });
      expect(byKey.get(keys[1]!)).toMatchObject({ change: 'acknowledged', alert: { state: 'acknowledged', acknowledgedBy: 'sam', note: 'on it' } });
      expect(byKey.get(keys[2]!)).toMatchObject({ change: 'resolved', alert: { state: 'resolved', resolvedAt: at(90) } });
      // Everything delivered was acknowledged in the changes stream.
      await eventually(() => client.xPending(alertKeys.changes, 'webhooks').then((p) => p.pending), (n) => n === 0);
    } finally {
      await rules.stop();
    }
  });

  it('gives up at once on a receiver that refuses (4xx), and dead-letters the notification', async () => {
    const hook = await startReceiver(() => 410);
    const rules = evaluator({ now: ms(at(60)) }, lowStockTo(hook.url));
    await rules.start();
    try {
      await publish([inventoryReceived({ warehouseId: 'w-g', sku: 'g', qty: 1 })]);
      await rules.evaluateOnce();
      const [letter] = await eventually(() => client.xRange(WEBHOOK_DEAD_LETTERS, '-', '+'), (l) => l.length === 1);
      expect(letter!.message).toMatchObject({ error: 'answered 410', attempts: '1', url: hook.url });
      expect([...hook.attempts.values()]).toEqual([1]);
    } finally {
      await rules.stop();
    }
  });
});

describe('alert history in ClickHouse', () => {
  it('records every change of an alert once in the alerts table (embedded chDB)', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-alerts-history-'));
    const store = await openHistoryStore({ dataDir });
    await applyMigrations(store);
    const history = new AlertHistory({ redis: client, store, consumer: 'test', retry: { baseMs: 10, factor: 2, capMs: 100 }, log: () => {} });
    await history.start();
    try {
      const clock = { now: ms(at(60)) };
      const rules = evaluator(clock);
      await publish([inventoryReceived({ warehouseId: 'w-ch', sku: 'c', qty: 2 })]);
      await rules.evaluateOnce();
      const [fired] = of(await alerts(), 'low-stock');
      await acknowledge(fired!.id, { by: 'ana', note: 'seen' });
      clock.now = ms(at(120));
      await publish([inventoryReceived({ warehouseId: 'w-ch', sku: 'c', qty: 20 })]);
      await rules.evaluateOnce();

      const rows = await eventually(
        () => store.query<Record<string, unknown>>('SELECT alert_id, change, state, rule, key, acknowledged_by, changed_at FROM alerts ORDER BY changed_at_unix_ms, change'),
        (r) => r.length === 3,
      );
      // (The acknowledgement is on the server's clock, the rest on the evaluator's.)
      expect(rows.map((r) => [r.alert_id, r.change, r.state]).sort()).toEqual([
        [fired!.id, 'acknowledged', 'acknowledged'], [fired!.id, 'fired', 'firing'], [fired!.id, 'resolved', 'resolved'],
      ]);
      expect(rows.find((r) => r.change === 'acknowledged')).toMatchObject({ state: 'acknowledged', acknowledged_by: 'ana', rule: 'low-stock', key: 'w-ch/c' });
      expect(rows[0]!.changed_at).toBe('2026-11-26 10:01:00');
      await eventually(() => client.xPending(alertKeys.changes, 'alerts-history').then((p) => p.pending), (n) => n === 0);
    } finally {
      await history.stop();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
