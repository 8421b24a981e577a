/**
 * The live views under load (DESIGN.md section 7): 500 Socket.IO clients, each
 * subscribed to `overview` and `inventory` (filter {}), while 5,000 events/s
 * flow for 5 s into a real server process (all roles) on a private Redis. Each
 * client must get at most 10 pushes per second of each view, and end with the
 * final read model. Speed is the benchmark's business (`npm run bench -- live`);
 * nothing here asserts a latency.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../shared/cloudevent.ts';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/live.ts';
import type { ViewSnapshot } from '../shared/views.ts';
import { projectionsCaughtUp } from './support/caught-up.ts';
import { eventually, jsonOf, postEvents } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { inventoryReceived, inventoryReserved, orderPlaced, paymentAuthorized, paymentFailed, shipmentCreated } from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const CLIENTS = 500;
/** Clients connect this many at a time, so the server is not hit by 500 handshakes at once. */
const CONNECT_CHUNK = 50;
const CONFLATION_MS = 100;
const MAX_PUSHES_PER_SECOND = 1000 / CONFLATION_MS;
const BATCH = 50;
const INTERVAL_MS = 10; // 50 events every 10 ms: 5,000 events/s
const LOAD_MS = 5_000;
/** How long the views may take to show the last event once the projections have caught up (overview refreshes every 5 s). */
const SETTLE_MS = 15_000;

const VIEWS = ['overview', 'inventory'] as const;
type LiveView = (typeof VIEWS)[number];
type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What one client saw of one view: when each push arrived (performance.now()), and the newest snapshot. */
interface Watch {
  pushes: number[];
  last: Pick<ViewSnapshot, 'version' | 'state'>;
}
interface LiveClient {
  socket: LiveSocket;
  views: Record<LiveView, Watch>;
}

let redis: TestRedis;
let deck: EventDeckProcess;
const clients: LiveClient[] = [];
/** The load as it ran: its start and end (performance.now()), and the event-loop delay of this process meanwhile. */
let load: { startedAt: number; endedAt: number; maxScheduleLagMs: number; maxLoopDelayMs: number };

beforeAll(async () => {
  redis = await startTestRedis();
  deck = await startEventDeckProcess({ REDIS_URL: redis.url, EVENTDECK_ROLES: 'api,projector', EVENTDECK_LIVE_CONFLATION_MS: String(CONFLATION_MS) });
  for (let i = 0; i < CLIENTS; i += CONNECT_CHUNK) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(CONNECT_CHUNK, CLIENTS - i) }, () => connectClient(deck.url)))));
  }
  load = await runLoad(deck.url);
  // The views can only settle on the final read model once every projection has taken every event.
  await eventually(() => projectionsCaughtUp(redis.url), Boolean, 60_000);
}, 180_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.socket.close();
  await deck?.kill();
  await redis?.stop();
});

describe('the live views under 5,000 events/s with 500 clients', () => {
  it('pushes each client at most 10 updates per second of each view', () => {
    // The server's guarantee is about when it starts reading a topic: at most once per
    // conflation interval (throttleTime, leading and trailing). A push arrives a read, a
    // socket write and this process's event loop later, and that delay varies, so
    // arrival times alone can put 11 pushes into some 1000 ms window without the server
    // breaking its promise. Two honest measures instead:
    // 1. the mean over the load: pushes that arrived during it ≤ 10 per second, plus the
    //    leading push (a read starts at once on the first change);
    // 2. in any window, 11 consecutive pushes span at least 1000 ms less the delay
    //    variation: one interval for the reads (a read pushes only if it ends before the
    //    next tick starts another, since the hub's switchMap drops it otherwise, so 11
    //    pushes come from reads whose starts span ≥ 900 ms) plus the longest event-loop
    //    stall of this process (pushes queue while it is blocked, then arrive at once).
    //    Delays on the server's send side (a socket's outbox waiting to drain) are not
    //    bounded by this; the log line shows how far from the bound a run is.
    const loadSeconds = (load.endedAt - load.startedAt) / 1000;
    const allowanceMs = CONFLATION_MS + load.maxLoopDelayMs;
    const offenders: string[] = [];
    let busiest = 0;
    let quietest = Infinity;
    let tightestSpanMs = Infinity;
    for (const [index, client] of clients.entries()) {
      for (const view of VIEWS) {
        const pushes = client.views[view].pushes;
        const during = pushes.filter((t) => t >= load.startedAt && t < load.endedAt).length;
        busiest = Math.max(busiest, during / loadSeconds);
        quietest = Math.min(quietest, during / loadSeconds);
        if (during > MAX_PUSHES_PER_SECOND * loadSeconds + 1) offenders.push(`client ${index} ${view}: ${during} pushes in ${loadSeconds.toFixed(1)} s`);
        for (let i = 0; i + MAX_PUSHES_PER_SECOND < pushes.length; i++) {
          const span = pushes[i + MAX_PUSHES_PER_SECOND]! - pushes[i]!;
          tightestSpanMs = Math.min(tightestSpanMs, span);
          if (span < 1000 - allowanceMs) offenders.push(`client ${index} ${view}: 11 pushes within ${span.toFixed(0)} ms`);
        }
      }
    }
    console.log(`live load: ${loadSeconds.toFixed(1)} s of load, schedule lag ≤ ${load.maxScheduleLagMs.toFixed(0)} ms; ` +
      `pushes/s per client per view ${quietest.toFixed(1)} to ${busiest.toFixed(1)}; tightest 11 consecutive pushes ${tightestSpanMs.toFixed(0)} ms ` +
      `(allowed ≥ ${(1000 - allowanceMs).toFixed(0)} ms: this process stalled up to ${load.maxLoopDelayMs.toFixed(0)} ms)`);
    expect(offenders.slice(0, 10)).toEqual([]);
    // Pushes did arrive while the load ran (conflated, not withheld until it stopped): otherwise the
    // bounds above would hold trivially.
    expect(quietest).toBeGreaterThan(0);
  });

  it('leaves every client with the final inventory, version and state as the REST view answers', async () => {
    await expect.poll(async () => disagreeing('inventory', await readView('inventory')), { timeout: SETTLE_MS, interval: 250 }).toEqual([]);
  });

  it('leaves every client with the final overview, version and state as the REST view answers', async () => {
    // Overview has clock-derived fields (the last 60 minutes), refreshed for subscribers every 5 s:
    // across a minute boundary a client and a fresh read can differ until the next refresh.
    await expect.poll(async () => disagreeing('overview', await readView('overview')), { timeout: SETTLE_MS, interval: 250 }).toEqual([]);
  });
});

async function connectClient(url: string): Promise<LiveClient> {
  // forceNew: one connection per client, as 500 browsers would have (io() would otherwise share a Manager).
  const socket: LiveSocket = io(`${url}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
  const views = {} as Record<LiveView, Watch>;
  socket.on('view:update', (update) => {
    const watch = views[update.view as LiveView];
    if (!watch) return;
    watch.pushes.push(performance.now());
    watch.last = { version: update.version, state: update.state };
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  for (const view of VIEWS) {
    const ack = await new Promise<SubscribeAck>((resolve) => socket.emit('view:subscribe', { view, filter: {} }, resolve));
    if (!ack.ok) throw new Error(`subscribing to ${view} failed: ${ack.error}`);
    views[view] = { pushes: [], last: { version: ack.version, state: ack.state } };
  }
  return { socket, views };
}

/**
 * 5,000 events/s for LOAD_MS on a fixed schedule: batch k is due k × 10 ms after the start and is
 * sent then without waiting for earlier answers (an open loop, so a slow server cannot lower the load).
 */
async function runLoad(url: string) {
  const batches = LOAD_MS / INTERVAL_MS;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const posts: Promise<void>[] = [];
  let maxScheduleLagMs = 0;
  const post = async (events: CloudEvent[]) => {
    const response = await postEvents(url, events);
    if (response.status !== 202) throw new Error(`POST /api/events answered ${response.status}: ${JSON.stringify(await jsonOf(response))}`);
    await response.body?.cancel();
  };
  loopDelay.enable();
  const startedAt = performance.now();
  try {
    for (let k = 0; k < batches; k++) {
      const due = startedAt + k * INTERVAL_MS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      maxScheduleLagMs = Math.max(maxScheduleLagMs, performance.now() - due);
      posts.push(post(batchOf(k, new Date().toISOString())));
    }
    await Promise.all(posts);
  } finally {
    loopDelay.disable();
    // On a failure, the requests still out end (or fail) here, not after the server is gone.
    await Promise.allSettled(posts);
  }
  // The load ends when its last batch was sent; pushes after that show its effect, at most one interval later.
  const endedAt = startedAt + batches * INTERVAL_MS;
  return { startedAt, endedAt, maxScheduleLagMs, maxLoopDelayMs: loopDelay.max / 1e6 };
}

const WAREHOUSES = ['w-north', 'w-south', 'w-east', 'w-west'];
const SKUS = Array.from({ length: 10 }, (_, i) => `sku-${i}`);

/**
 * 50 events of order-fulfilment traffic, dated now: batch k places 10 orders and moves
 * the orders of earlier batches a step on (reserved, paid or declined, shipped), and
 * restocks 10 items, so every projection behind the two views has work.
 */
function batchOf(k: number, time: string): CloudEvent[] {
  const events: CloudEvent[] = [];
  for (let i = 0; i < 10; i++) {
    const line = (n: number) => ({ warehouseId: WAREHOUSES[(n + i) % WAREHOUSES.length]!, sku: SKUS[(n * 7 + i) % SKUS.length]!, qty: 1 + (i % 3) });
    const orderOf = (n: number) => ({ orderId: `o-${n}-${i}`, warehouseId: line(n).warehouseId });
    const items = (n: number) => [{ sku: line(n).sku, qty: line(n).qty }];
    events.push(orderPlaced({ ...orderOf(k), items: [{ ...items(k)[0]!, unitPrice: 12.5 }], total: 12.5 * line(k).qty }, { time }));
    if (k >= 1) events.push(inventoryReserved({ ...orderOf(k - 1), items: items(k - 1) }, { time }));
    else events.push(inventoryReceived({ warehouseId: line(k).warehouseId, sku: line(k).sku, qty: 50 }, { time }));
    if (k >= 2) {
      const payment = { orderId: orderOf(k - 2).orderId, paymentId: `p-${k - 2}-${i}`, amount: 12.5 * line(k - 2).qty };
      events.push(i === 9 ? paymentFailed(payment, { time }) : paymentAuthorized(payment, { time }));
    } else {
      events.push(inventoryReceived({ warehouseId: line(k).warehouseId, sku: line(k).sku, qty: 50 }, { time }));
    }
    if (k >= 3 && i !== 9) events.push(shipmentCreated({ ...orderOf(k - 3), shipmentId: `s-${k - 3}-${i}`, items: items(k - 3) }, { time }));
    else events.push(inventoryReceived({ warehouseId: line(k).warehouseId, sku: line(k).sku, qty: 5 }, { time }));
    events.push(inventoryReceived({ warehouseId: WAREHOUSES[i % WAREHOUSES.length]!, sku: SKUS[(k + i) % SKUS.length]!, qty: 5 }, { time }));
  }
  return events;
}

async function readView(view: LiveView): Promise<ViewSnapshot> {
  const response = await fetch(`${deck.url}/api/views/${view}`);
  if (!response.ok) throw new Error(`GET /api/views/${view} answered ${response.status}`);
  return (await jsonOf(response)) as ViewSnapshot;
}

/** Clients whose newest snapshot of `view` is not `final` (the first few, to keep a failure readable). */
function disagreeing(view: LiveView, final: ViewSnapshot): string[] {
  const wrong = clients.flatMap(({ views }, index) => {
    const { version, state } = views[view].last;
    return version === final.version && isDeepStrictEqual(state, final.state) ? [] : [`client ${index} at version ${version} of ${final.version}`];
  });
  return wrong.length > 3 ? [...wrong.slice(0, 3), `and ${wrong.length - 3} more`] : wrong;
}
