/**
 * GET /metrics of a real EventDeck (every role, embedded chDB) on a private
 * Redis, while realistic flows, duplicates and invalid events are published:
 * the counters say what was sent, lag falls to 0 once the consumers caught up,
 * and promtool accepts a scrape taken under load. Under CI=true a missing
 * promtool (Debian package `prometheus`) fails the run; elsewhere that case is
 * skipped with a note.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createClient } from 'redis';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventKey } from '../shared/cloudevent.ts';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/live.ts';
import type { RunningEventDeck } from '../server/eventdeck.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { eventually, postEvents, startTestDeck } from './support/eventdeck.ts';
import { inventoryReceived, orderPlaced } from './support/events.ts';
import { recentFlows } from './support/flows.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const promtoolInstalled = !spawnSync('promtool', ['--version']).error;
const withPromtool = promtoolInstalled || process.env.CI === 'true';
if (!withPromtool) console.warn('promtool is not installed (Debian package prometheus): its lint case is skipped (it fails under CI=true)');

let redis: TestRedis;
let deck: RunningEventDeck;

beforeAll(async () => {
  redis = await startTestRedis();
  // Every role, as one box runs it; short history batches so the history group keeps up within the test.
  deck = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_HISTORY_BATCH_WAIT_MS: '100' } });
});

afterAll(async () => {
  await deck?.stop();
  await redis?.stop();
});

describe('GET /metrics', () => {
  it('counts every event accepted, duplicate and rejected by type and source, and the read models\' latency once per committed event', async () => {
    const before = await scrape(deck.url);
    const deliveries = recentFlows(300, 11);
    // Sent again later: duplicates across requests, besides the flows' own within them.
    const resent = deliveries.slice(0, 150);
    const longSource = `/tenants/${'x'.repeat(200)}`;
    const extra = orderPlaced({ orderId: 'o-metrics-long-source' }, { id: 'metrics-long-source', source: longSource, time: new Date().toISOString() });
    const batches = [...chunks(deliveries, 200), [extra], ...chunks(resent, 75)];
    const scrapes: Promise<string>[] = [];
    const statuses = await Promise.all(batches.map(async (batch, i) => {
      if (i % 3 === 0) scrapes.push(scrape(deck.url));
      return (await postEvents(deck.url, batch)).status;
    }));
    expect(statuses.every((s) => s === 202)).toBe(true);
    // A batch with one invalid event (qty 0) is refused whole; so is an event of a type nobody registered.
    const valid = inventoryReceived({ warehouseId: 'w-metrics', sku: 'mug', qty: 3 }, { id: 'metrics-valid', source: '/warehouse/w-metrics' });
    const invalid = inventoryReceived({ warehouseId: 'w-metrics', sku: 'mug', qty: 0 }, { id: 'metrics-invalid', source: '/warehouse/w-metrics' });
    expect((await postEvents(deck.url, [valid, invalid])).status).toBe(422);
    const unknownType = { ...valid, id: 'metrics-unknown', type: 'acme.thing.happened' };
    expect((await postEvents(deck.url, [unknownType])).status).toBe(422);
    await Promise.all(scrapes);

    const expected = expectedCounts([...deliveries, extra, ...resent], longSource);
    const after = await scrape(deck.url);
    expect(byLabels(after, 'eventdeck_ingest_events_accepted_total', ['type', 'source'])).toEqual(expected.accepted);
    expect(byLabels(after, 'eventdeck_ingest_events_duplicate_total', ['type', 'source'])).toEqual(expected.duplicate);
    expect(byLabels(after, 'eventdeck_ingest_events_rejected_total', ['type', 'source', 'reason'])).toEqual({
      'inventory.received /warehouse/w-metrics with_invalid': 1,
      'inventory.received /warehouse/w-metrics invalid': 1,
      'other /warehouse/w-metrics invalid': 1,
    });
    expect(value(after, 'eventdeck_ingest_request_duration_seconds_count', { code: '202' }) - value(before, 'eventdeck_ingest_request_duration_seconds_count', { code: '202' }))
      .toBe(batches.length);
    expect(value(after, 'eventdeck_ingest_request_duration_seconds_count', { code: '422' })).toBe(2);

    // Caught up: no lag left in any group or projection, and every accepted event was committed once.
    await eventually(() => projectionsCaughtUp(redis.url), Boolean);
    const accepted = Object.values(expected.accepted).reduce((a, b) => a + b, 0);
    const caughtUp = await pollScrape(deck.url, (text) =>
      value(text, 'eventdeck_metrics_redis_up') === 1 && value(text, 'eventdeck_consumer_group_lag_entries') === 0
      && value(text, 'eventdeck_event_to_history_seconds_count') >= accepted);
    for (const group of ['live', 'history']) {
      expect(value(caughtUp, 'eventdeck_consumer_group_lag_entries', { group })).toBe(0);
      expect(value(caughtUp, 'eventdeck_consumer_group_pending_entries', { group })).toBe(0);
      expect(value(caughtUp, 'eventdeck_consumer_group_lag_seconds', { group })).toBe(0);
    }
    const projections = byLabels(caughtUp, 'eventdeck_projection_lag_entries', ['projection'], { zeros: true });
    expect(projections).toMatchObject({ orders: 0, inventory: 0, kpi: 0, fulfilment: 0, timeline: 0 });
    expect(Object.values(projections).every((n) => n === 0)).toBe(true);
    expect(value(caughtUp, 'eventdeck_projection_lag_seconds')).toBe(0);
    expect(value(caughtUp, 'eventdeck_event_to_read_model_seconds_count') - value(before, 'eventdeck_event_to_read_model_seconds_count')).toBe(accepted);
    expect(value(caughtUp, 'eventdeck_batch_entries_sum', { group: 'live' }) - value(before, 'eventdeck_batch_entries_sum', { group: 'live' })).toBe(accepted);
    expect(value(caughtUp, 'eventdeck_event_to_history_seconds_count') - value(before, 'eventdeck_event_to_history_seconds_count')).toBe(accepted);
    expect(value(caughtUp, 'eventdeck_dead_letter_entries')).toBe(0);
    expect(value(caughtUp, 'eventdeck_metrics_redis_up')).toBe(1);
    // ClickHouse took every insert at once: timed per table, none retried; no projection commit failed either.
    const insertsByTable = byLabels(caughtUp, 'eventdeck_clickhouse_insert_duration_seconds_count', ['table']);
    expect(Object.keys(insertsByTable)).toEqual(expect.arrayContaining(['events', 'order_items_raw', 'inventory_movements_raw', 'kpi_minute_raw', 'orders_raw']));
    expect(value(caughtUp, 'eventdeck_clickhouse_insert_duration_seconds_sum')).toBeGreaterThan(0);
    expect(value(caughtUp, 'eventdeck_history_insert_retries_total')).toBe(0);
    expect(caughtUp).toMatch(/^eventdeck_projection_commit_retries_total 0$/m);
    // Bounded labels: no series per order or event, none for the long source.
    const labelValues = new Set(parse(caughtUp).flatMap((s) => Object.values(s.labels)));
    const ids = deliveries.flatMap((d) => [d.id, d.subject, (d.data as { orderId?: string }).orderId]);
    expect(ids.filter((id) => id !== undefined && labelValues.has(id))).toEqual([]);
    expect([...labelValues].filter((v) => v.length > 64)).toEqual([]);
  });

  it.skipIf(!withPromtool)('passes promtool check metrics on scrapes taken under load, with a live client subscribed', async () => {
    const socket = connect(`${deck.url}/live`, { transports: ['websocket'], reconnection: false }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
      const ack = await new Promise<SubscribeAck>((resolve) => socket.emit('view:subscribe', { view: 'overview', filter: {} }, resolve));
      expect(ack.ok).toBe(true);
      // Another run's ids (a different start second), so nothing here is a duplicate of the first case.
      const deliveries = recentFlows(200, 23, Date.now() - 90_000);
      const scrapes: Promise<string>[] = [];
      await Promise.all(chunks(deliveries, 100).map(async (batch) => {
        scrapes.push(scrape(deck.url));
        expect((await postEvents(deck.url, batch)).status).toBe(202);
      }));
      const texts = await Promise.all(scrapes);
      for (const text of texts) {
        const lint = await promtool(text);
        expect(lint, text).toEqual({ code: 0, output: '' });
      }
      const last = await pollScrape(deck.url, (text) => value(text, 'eventdeck_live_pushes_total', { view: 'overview' }) > 0);
      expect(value(last, 'eventdeck_live_clients')).toBe(1);
      expect(value(last, 'eventdeck_live_topics')).toBe(1);
      expect(await promtool(last)).toEqual({ code: 0, output: '' });
    } finally {
      socket.close();
    }
  });

  it('serves only what a process\'s roles do, from a registry of its own', async () => {
    // A second EventDeck in this process: with prom-client's global registry its metrics would clash.
    const api = await startTestDeck({ redisUrl: redis.url, env: { EVENTDECK_ROLES: 'api' } });
    try {
      expect((await postEvents(api.url, [orderPlaced({ orderId: 'o-api-only' }, { id: 'metrics-api-only', time: new Date().toISOString() })])).status).toBe(202);
      const text = await scrape(api.url);
      expect(value(text, 'eventdeck_ingest_events_accepted_total')).toBe(1);
      expect(text).toContain('eventdeck_live_clients');
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).not.toContain('eventdeck_consumer_group_lag_entries');
      expect(text).not.toContain('eventdeck_event_to_read_model_seconds');
      expect(text).not.toContain('eventdeck_metrics_redis_up');
    } finally {
      await api.stop();
    }
  });

  it('answers without the lag, and says so, while Redis does not answer; the lag is back once it does', async () => {
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      // Every client of this Redis waits 6 s; a scrape waits for it 2 s at most.
      await admin.sendCommand(['CLIENT', 'PAUSE', '6000', 'ALL']);
      const during = await scrape(deck.url);
      expect(value(during, 'eventdeck_metrics_redis_up')).toBe(0);
      expect(during).not.toContain('eventdeck_consumer_group_lag_entries{');
      expect(during).toContain('eventdeck_ingest_events_accepted_total{');
      const back = await pollScrape(deck.url, (text) => value(text, 'eventdeck_metrics_redis_up') === 1);
      expect(value(back, 'eventdeck_consumer_group_lag_entries', { group: 'live' })).toBe(0);
    } finally {
      await admin.close();
    }
  });
});

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** Scrapes until `done` holds (bounded), and returns that scrape. */
function pollScrape(url: string, done: (text: string) => boolean): Promise<string> {
  return eventually(() => scrape(url), done, 30_000);
}

/** What ingest should have counted: each source + id accepted once, every later copy a duplicate. */
function expectedCounts(sent: readonly { type: string; source: string; id: string }[], longSource: string) {
  const accepted: Record<string, number> = {};
  const duplicate: Record<string, number> = {};
  const seen = new Set<string>();
  for (const event of sent) {
    const key = `${event.type} ${event.source === longSource ? 'other' : event.source}`;
    const counts = seen.has(eventKey(event)) ? duplicate : accepted;
    counts[key] = (counts[key] ?? 0) + 1;
    seen.add(eventKey(event));
  }
  return { accepted, duplicate };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, raw] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    return { name: match[1]!, labels, value: Number(match[3]) };
  });
}

/** The sum of the samples of `name` whose labels include `labels` (0 with none). */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  return parse(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Samples of `name` (non-zero ones unless `zeros`), keyed by the values of `keys` joined with a space. */
function byLabels(text: string, name: string, keys: string[], { zeros = false } = {}): Record<string, number> {
  const result: Record<string, number> = {};
  for (const s of parse(text)) {
    if (s.name === name && (zeros || s.value !== 0)) result[keys.map((k) => s.labels[k]).join(' ')] = s.value;
  }
  return result;
}

/** `promtool check metrics` on an exposition: its exit code and what it printed (lint problems). */
function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => reject(new Error(`promtool could not run (Debian package prometheus): ${error.message}`)));
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}
