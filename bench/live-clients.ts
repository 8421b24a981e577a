/**
 * The Socket.IO clients of the live bench, all in the bench process, each on its
 * own connection (as browsers are), subscribed to overview and inventory with
 * filter {}. They keep only what the figures need: when each push arrived, and
 * event-to-client latencies read off a probe row of the inventory view.
 *
 * The probe: every batch of the load carries one `inventory.received` of qty 1
 * for PROBE, so once batch k is projected the probe's onHand is k. A client that
 * receives an inventory push whose probe onHand is v has seen batches 1..v; each
 * of them it had not seen yet gets a latency of (now − the time it was sent).
 * Batches are POSTed concurrently and may be accepted a little out of order; the
 * count still says how many arrived, and it is read as "the first v".
 */
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/live.ts';
import type { InventoryState, ViewSnapshot } from '../shared/views.ts';

export const PROBE = { warehouseId: 'bench-probe', sku: 'latency-probe' } as const;
export const LIVE_VIEWS = ['overview', 'inventory'] as const;
export type LiveView = (typeof LIVE_VIEWS)[number];

type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** When batches were sent (performance.now(), by batch number from 1), and which of them are measured. */
export interface ProbeSchedule {
  sentAt: Float64Array;
  measured(batch: number): boolean;
}

interface Client {
  socket: LiveSocket;
  /** Arrival times (performance.now()) of pushes, per view. */
  pushes: Record<LiveView, number[]>;
  /** The highest probe onHand this client has seen. */
  probeSeen: number;
}

/** Clients connect this many at a time, so the server is not hit by every handshake at once. */
const CONNECT_CHUNK = 50;

export class LiveClients {
  readonly #clients: Client[] = [];
  /** Latencies (ms) of measured batches, over all clients. */
  readonly latencies: number[] = [];

  private constructor(private readonly schedule: ProbeSchedule) {}

  static async connect(url: string, count: number, schedule: ProbeSchedule, signal: AbortSignal): Promise<LiveClients> {
    const fleet = new LiveClients(schedule);
    try {
      for (let i = 0; i < count; i += CONNECT_CHUNK) {
        signal.throwIfAborted();
        await Promise.all(Array.from({ length: Math.min(CONNECT_CHUNK, count - i) }, () => fleet.#connectOne(url)));
      }
      return fleet;
    } catch (error) {
      fleet.close();
      throw error;
    }
  }

  get size(): number {
    return this.#clients.length;
  }

  /** The probe count of the client that has seen the least. */
  get slowestProbe(): number {
    return this.#clients.reduce((min, c) => Math.min(min, c.probeSeen), Infinity);
  }

  get pushesSoFar(): number {
    return this.#clients.reduce((sum, c) => sum + c.pushes.overview.length + c.pushes.inventory.length, 0);
  }

  /** Pushes per second of `view` each client received in [from, to) (performance.now() times). */
  rates(view: LiveView, from: number, to: number): number[] {
    const seconds = (to - from) / 1000;
    return this.#clients.map((c) => c.pushes[view].filter((t) => t >= from && t < to).length / seconds);
  }

  close(): void {
    for (const client of this.#clients.splice(0)) client.socket.close();
  }

  async #connectOne(url: string): Promise<void> {
    // forceNew: io() would otherwise share one Manager, that is one connection, between clients.
    const socket: LiveSocket = io(`${url}/live`, { transports: ['websocket'], reconnection: false, forceNew: true });
    const client: Client = { socket, pushes: { overview: [], inventory: [] }, probeSeen: 0 };
    this.#clients.push(client);
    socket.on('view:update', (update) => {
      const now = performance.now();
      if (update.view !== 'overview' && update.view !== 'inventory') return;
      client.pushes[update.view].push(now);
      if (update.view === 'inventory') this.#sawProbe(client, probeOf(update), now);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    for (const view of LIVE_VIEWS) {
      const ack = await new Promise<SubscribeAck>((resolve) => socket.emit('view:subscribe', { view, filter: {} }, resolve));
      if (!ack.ok) throw new Error(`subscribing to ${view} failed: ${ack.error}`);
      if (view === 'inventory') client.probeSeen = probeOf(ack);
    }
  }

  #sawProbe(client: Client, onHand: number, now: number): void {
    const { sentAt, measured } = this.schedule;
    for (let batch = client.probeSeen + 1; batch <= onHand && batch < sentAt.length; batch++) {
      if (measured(batch)) this.latencies.push(now - sentAt[batch]!);
    }
    client.probeSeen = Math.max(client.probeSeen, onHand);
  }
}

function probeOf(snapshot: Pick<ViewSnapshot, 'state'>): number {
  const row = (snapshot.state as InventoryState).rows.find((r) => r.warehouseId === PROBE.warehouseId && r.sku === PROBE.sku);
  return row?.onHand ?? 0;
}
