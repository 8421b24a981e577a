/**
 * The live views (DESIGN.md section 7) over one shared Socket.IO connection to
 * the namespace `/live`, same origin, default path.
 *
 * One LiveView per (view, filter), shared by every component that shows it
 * and counted: the hub keys a subscription by socket, so two components of one
 * page must not subscribe and unsubscribe the same (view, filter) behind each
 * other's back. Components do not call acquire/release themselves: ViewFeed
 * (view-feed.svelte.ts) ties them to the component's life.
 *
 * Each (re)connection sends the page's current credential (credentials.svelte.ts).
 * A handshake refused with 401 is reported there and not tried again until the
 * credential changes: Socket.IO does not retry a refused handshake, and neither do we.
 */
import { io, type Socket } from 'socket.io-client';
import {
  canonicalFilter, LIVE_NAMESPACE,
  type ClientToServerEvents, type LiveConnectErrorData, type LiveHandshakeAuth, type ServerToClientEvents, type SubscribeAck,
  type ViewSubscription,
} from '../../../shared/live.ts';
import type { ViewFilter, ViewName, ViewSnapshot } from '../../../shared/views.ts';
import { credentials as pageCredentials, type Credentials } from './credentials.svelte.ts';
import { ackIsNewer, decideUpdate } from './view-sync.ts';

/** What the header shows: `stale` once the connection has been down for STALE_AFTER_MS. */
export type ConnectionState = 'live' | 'reconnecting' | 'stale';

const STALE_AFTER_MS = 5_000;
/** A subscribe ack that takes longer than this is given up and asked again. */
const ACK_TIMEOUT_MS = 10_000;
/** Retries of a refused subscription (e.g. the view could not be read): doubling, capped. */
const RETRY_FIRST_MS = 1_000;
const RETRY_CAP_MS = 30_000;
/** After a handshake the server could not check (503: the identity provider's keys unreadable), try again this much later. */
const UNCHECKED_RETRY_MS = 5_000;
/**
 * The least time between two gap-triggered fresh snapshots of one view. The hub
 * conflates (DESIGN.md section 7) and versions count changes of the whole view,
 * so under load most pushes skip versions (measured with the demo at 20 events/s:
 * 83 of 87 overview pushes in 10 s). Each push already carries the whole state;
 * asking for a snapshot on every gap would double the traffic and the hub's reads.
 */
const RESYNC_MIN_MS = 10_000;

type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The key of a (view, filter): the same canonical form the hub uses. */
function topicKey(view: string, filter: Record<string, unknown>): string {
  return `${view}:${canonicalFilter(filter as ViewFilter)}`;
}

/** One (view, filter): its newest snapshot, replaced whole on each update. */
export class LiveView<V extends ViewName = ViewName> {
  snapshot = $state.raw<ViewSnapshot<V> | null>(null);
  /** The hub's refusal (`{ok: false, error}`) or a lost answer; cleared by the next snapshot. */
  error = $state<string | null>(null);

  /** Book-keeping of the connection (not shown, so not reactive). */
  refs = 0;
  request = 0;
  awaitingAck = false;
  /** When the last subscribe (first, resync or after a reconnect) was sent (ms). */
  subscribedAt = 0;
  retryMs = RETRY_FIRST_MS;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The key of the filter as the hub parsed it (defaults filled in); updates carry that form. */
  serverKey: string | null = null;
  readonly key: string;

  constructor(readonly view: V, readonly filter: ViewFilter) {
    this.key = topicKey(view, filter);
  }

  get version(): number | null {
    return this.snapshot?.version ?? null;
  }

  replace(snapshot: ViewSnapshot): void {
    this.snapshot = snapshot as ViewSnapshot<V>;
    this.error = null;
  }
}

export class LiveConnection {
  state = $state<ConnectionState>('reconnecting');
  /** Whether a connection ever succeeded ("connecting" vs "reconnecting" in words). */
  everConnected = $state(false);
  /** Since when the connection has been down (ms), or null while live. */
  downSince = $state<number | null>(null);
  /** The handshake was refused (401): down until the credential changes. */
  refused = $state(false);

  #socket: LiveSocket | null = null;
  /** The credential the last handshake sent: a refusal is of that one, which may since have been replaced. */
  #sentToken: string | null = null;
  #staleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #views = new Map<string, LiveView>();
  readonly #byServerKey = new Map<string, Set<LiveView>>();
  /**
   * Updates for a key no view is mapped to yet, newest per key. The hub joins a
   * subscriber to its topic before it reads the snapshot for the ack, so an update
   * can come first, and the ack can then carry an older snapshot than that update.
   */
  readonly #early = new Map<string, ViewSnapshot>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly credentials: Credentials = pageCredentials,
  ) {
    credentials.onChange(() => this.#reconnect());
  }

  /** Connects now rather than at the first view, so the header tells the truth even in as-of mode. */
  start(): void {
    this.#connect();
  }

  /** The shared LiveView of (view, filter), subscribed while anyone holds it. */
  acquire<V extends ViewName>(view: V, filter: ViewFilter): LiveView<V> {
    const socket = this.#connect();
    const key = topicKey(view, filter);
    let live = this.#views.get(key) as LiveView<V> | undefined;
    if (!live) {
      live = new LiveView(view, filter);
      this.#views.set(key, live);
      if (socket.connected) this.#subscribe(live);
    }
    live.refs += 1;
    return live;
  }

  release(live: LiveView): void {
    live.refs -= 1;
    if (live.refs > 0 || this.#views.get(live.key) !== live) return;
    this.#views.delete(live.key);
    this.#forgetServerKey(live);
    clearTimeout(live.retryTimer);
    live.request += 1; // an ack still on its way is now for nobody
    // After a disconnect the hub has already forgotten us; a reconnect only subscribes held views.
    if (this.#socket?.connected) this.#socket.emit('view:unsubscribe', { view: live.view, filter: live.filter });
  }

  #connect(): LiveSocket {
    if (this.#socket) return this.#socket;
    // WebSocket first, long-polling only if WebSocket fails: no polling→WebSocket upgrade.
    // A subscription answered during that upgrade has been seen to get no push for
    // ~20 s (until the next ping), which on a quiet stream left a tile stale.
    // A function, so each reconnection sends the credential of that moment.
    const auth = (send: (auth: LiveHandshakeAuth) => void) => {
      this.#sentToken = this.credentials.token;
      send(this.#sentToken ? { token: this.#sentToken } : {});
    };
    const socket: LiveSocket = io(LIVE_NAMESPACE, { transports: ['websocket', 'polling'], tryAllTransports: true, auth });
    this.#socket = socket;
    this.#wentDown();
    socket.on('connect', () => {
      clearTimeout(this.#staleTimer);
      this.refused = false;
      this.state = 'live';
      this.everConnected = true;
      this.downSince = null;
      // A (re)connect starts from fresh snapshots: the hub forgot us, and updates may have been missed.
      for (const live of this.#views.values()) this.#subscribe(live);
    });
    socket.on('disconnect', (reason) => {
      this.#wentDown();
      // After the server's own disconnect Socket.IO does not retry by itself.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (error) => {
      if (this.downSince === null) this.#wentDown();
      // A refused handshake carries the problem's status; a transport error has none (and Socket.IO retries it itself).
      const refusal = (error as Error & { data?: Partial<LiveConnectErrorData> }).data;
      if (refusal?.status === 401) {
        this.refused = true;
        this.credentials.refuse(401, error.message, this.#sentToken);
      } else if (refusal?.status !== undefined) {
        setTimeout(() => !socket.connected && !this.refused && socket.connect(), UNCHECKED_RETRY_MS);
      }
    });
    socket.on('view:update', (update) => this.#update(update));
    return socket;
  }

  /** A new credential (signed in, signed out): a new handshake, which subscribes every held view again. */
  #reconnect(): void {
    const socket = this.#socket;
    if (!socket) return;
    this.refused = false;
    socket.disconnect();
    socket.connect();
  }

  #wentDown(): void {
    if (this.downSince !== null && this.state !== 'live') return;
    this.state = 'reconnecting';
    this.downSince = this.now();
    clearTimeout(this.#staleTimer);
    this.#staleTimer = setTimeout(() => {
      if (this.state === 'reconnecting') this.state = 'stale';
    }, STALE_AFTER_MS);
  }

  #subscribe(live: LiveView): void {
    const socket = this.#socket;
    if (!socket?.connected) return; // the next 'connect' subscribes every held view
    clearTimeout(live.retryTimer);
    const request = ++live.request;
    live.awaitingAck = true;
    live.subscribedAt = this.now();
    const subscription: ViewSubscription = { view: live.view, filter: live.filter };
    socket.timeout(ACK_TIMEOUT_MS).emit('view:subscribe', subscription, (timedOut: Error | null, answer: SubscribeAck) => {
      if (request !== live.request) return; // released, or asked again since
      live.awaitingAck = false;
      if (timedOut) return this.#retry(live, 'The live view did not answer in time; asking again.');
      if (!answer.ok) return this.#retry(live, answer.error);
      live.retryMs = RETRY_FIRST_MS;
      this.#forgetServerKey(live);
      live.serverKey = topicKey(answer.view, answer.filter);
      let peers = this.#byServerKey.get(live.serverKey);
      if (!peers) this.#byServerKey.set(live.serverKey, (peers = new Set()));
      peers.add(live);
      const { ok: _ok, ...acked } = answer;
      const early = this.#early.get(live.serverKey);
      // On equal versions the ack wins: it left the hub after the update.
      const snapshot = early && early.version > acked.version ? early : acked;
      if (ackIsNewer(live.version, snapshot.version)) live.replace(snapshot);
      else live.error = null;
      if (!this.#awaitingFirstSnapshot()) this.#early.clear();
    });
  }

  #retry(live: LiveView, error: string): void {
    live.error = error;
    live.retryTimer = setTimeout(() => {
      if (this.#views.get(live.key) === live) this.#subscribe(live);
    }, live.retryMs);
    live.retryMs = Math.min(live.retryMs * 2, RETRY_CAP_MS);
  }

  #update(update: ViewSnapshot): void {
    const key = topicKey(update.view, update.filter);
    const peers = this.#byServerKey.get(key);
    if (!peers) {
      // Either a view we no longer hold, or one whose first ack is still on its way: keep the newest for it.
      const kept = this.#early.get(key);
      if (this.#awaitingFirstSnapshot() && (!kept || update.version >= kept.version)) this.#early.set(key, update);
      return;
    }
    for (const live of peers) {
      const decision = decideUpdate(live.version, update.version);
      if (decision === 'ignore') continue;
      live.replace(update);
      if (decision === 'apply-and-resync' && !live.awaitingAck && this.now() - live.subscribedAt >= RESYNC_MIN_MS) {
        this.#subscribe(live);
      }
    }
  }

  #awaitingFirstSnapshot(): boolean {
    for (const live of this.#views.values()) if (live.snapshot === null) return true;
    return false;
  }

  #forgetServerKey(live: LiveView): void {
    if (live.serverKey === null) return;
    const peers = this.#byServerKey.get(live.serverKey);
    peers?.delete(live);
    if (peers?.size === 0) this.#byServerKey.delete(live.serverKey);
    live.serverKey = null;
  }
}

/** The one connection of this page. */
export const liveConnection = new LiveConnection();
