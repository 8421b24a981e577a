/**
 * The live hub (DESIGN.md section 7): Socket.IO namespace `/live`. A client
 * subscribes to (view, filter) and gets a snapshot, then updates. Subscribers
 * of one (view, filter) share one topic: one read per change, at most one push
 * per conflation interval, always the newest state. Projections announce
 * changed views on a Redis channel; every hub process listens, so each node
 * serves its own clients and nothing in one node's memory is needed by another.
 *
 * Every (re)connection passes the auth middleware (live-auth.ts); every
 * subscribe checks the caller's rights on that view and filter, and that its
 * credential is still good. With a Redis adapter, what must reach the sockets
 * of other nodes (disconnecting a revoked caller) crosses through Redis; view
 * updates never do (see topicFor).
 */
import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server, type Namespace, type Socket } from 'socket.io';
import { LIVE_NAMESPACE, type ClientToServerEvents, type ServerToClientEvents, type ViewSubscription } from '../../shared/live.ts';
import { VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import type { ViewFilter } from '../../shared/views.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import { can, type Principal } from '../auth/principal.ts';
import { viewRefusal } from '../auth/guards.ts';
import type { ViewDefinitions } from '../views/definitions.ts';
import { liveAuthMiddleware, principalRoom, type LiveAuthenticate, type LiveCredential, type LiveSocketData } from './live-auth.ts';
import { Topic, topicId } from './topic.ts';
import { SocketOutbox } from './socket-outbox.ts';
import { zodIssues } from '../http/zod-issues.ts';
import { within } from '../../platform/async/within.ts';

/** Hub nodes send each other no events of their own (the adapter's requests are its own business). */
type InterServerEvents = Record<never, never>;
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, LiveSocketData>;

/** How long a credential's last check counts before a subscribe checks it again (an API key may be revoked meanwhile). */
export const LIVE_RECHECK_AFTER_MS = 30_000;
/** setTimeout's longest delay (about 24.8 days); a later expiry is checked again after it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LiveHubOptions {
  httpServer: HttpServer;
  views: ViewDefinitions;
  redis: RedisClient;
  /** A connection the hub may put in subscriber mode. */
  subscriber: RedisClient;
  conflationMs: number;
  /** Largest message a client may send (bytes). */
  maxMessageBytes: number;
  log: (line: string) => void;
  /** Told of every view:update sent: its view and how many clients it went to (metrics). */
  onPush?: (view: string, clients: number) => void;
  /**
   * A view's state as readers without the `pii:read` right may see it. Such readers share
   * topics of their own (one masked read per change), never a reader's unmasked one.
   */
  maskState?: (view: string, state: unknown) => unknown;
  /**
   * The caller behind a handshake's `auth.token`, or a ProblemError (401/503) that
   * refuses the connection: `(token) => identifyToken(authOptions, token)`.
   */
  authenticate: LiveAuthenticate;
  /** Re-check a socket's credential on subscribe once its last check is this old (default 30 s). */
  recheckAfterMs?: number;
  /**
   * Redis connections for the Socket.IO Redis adapter (both duplicates of the main client;
   * `adapterSub` is put in subscriber mode). Without them the hub uses the in-memory adapter,
   * fine for one node; with several, disconnectPrincipal reaches the other nodes only with them.
   */
  adapterPub?: RedisClient;
  adapterSub?: RedisClient;
  now?: () => number;
}

export interface LiveHub {
  /** Topics with at least one subscriber, for metrics and tests. */
  readonly topicCount: number;
  /** Clients connected to the live namespace of this node, for metrics. */
  readonly clientCount: number;
  /**
   * Disconnects every live socket of this caller, on every node (through the Redis
   * adapter when there is one): for a revoked or rotated API key. Their clients
   * reconnect and must pass authentication again. Fire and forget.
   */
  disconnectPrincipal(kind: Principal['kind'], id: string): void;
  /** Hub processes sharing the adapter (1 without one); for health and tests. */
  nodeCount(): Promise<number>;
  close(): Promise<void>;
}

export async function startLiveHub(options: LiveHubOptions): Promise<LiveHub> {
  const now = options.now ?? Date.now;
  const withAdapter = options.adapterPub !== undefined && options.adapterSub !== undefined;
  const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, LiveSocketData>(options.httpServer, {
    serveClient: false,
    // The message size limit: a bigger message closes the connection.
    maxHttpBufferSize: options.maxMessageBytes,
    // connectionStateRecovery stays off: a recovered session must still pass the auth middleware.
    ...(withAdapter ? { adapter: createAdapter(options.adapterPub, options.adapterSub) } : {}),
  });
  // Nothing is served on the main namespace: refuse it rather than hold unauthenticated sockets.
  io.of('/').use((_socket, next) => next(new Error(`connect to the ${LIVE_NAMESPACE} namespace`)));
  const live: Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, LiveSocketData> = io.of(LIVE_NAMESPACE);
  const topics = new Map<string, Topic>();
  const outboxes = new Map<string, SocketOutbox>();
  const credentials = new WeakMap<Socket, LiveCredential>();
  live.use(liveAuthMiddleware({ authenticate: options.authenticate, recheckAfterMs: options.recheckAfterMs ?? LIVE_RECHECK_AFTER_MS, now, log: options.log }, credentials));

  const masked = (principal: Principal) => options.maskState !== undefined && !can(principal, 'pii:read');
  const topicKey = (principal: Principal, view: string, rawFilter: unknown) => `${topicId(view, rawFilter)}${masked(principal) ? '|masked' : ''}`;

  const topicFor = (principal: Principal, subscription: { view: string; filter: Record<string, unknown> }, raw: ViewSubscription): Topic => {
    const id = topicKey(principal, subscription.view, raw.filter);
    let topic = topics.get(id);
    if (!topic) {
      const plain = options.views[subscription.view]!;
      const { maskState } = options;
      const definition = masked(principal) && maskState
        ? { ...plain, read: async (filter: Record<string, unknown>) => maskState(subscription.view, await plain.read(filter)) }
        : plain;
      topic = new Topic(id, subscription.view, subscription.filter, definition, options.redis, options.conflationMs, options.log);
      topic.updates$.subscribe((snapshot) => {
        const ready: string[] = [];
        for (const socketId of topic!.subscribers) if (outboxes.get(socketId)?.take(id, snapshot) === 'now') ready.push(socketId);
        // One broadcast to the sockets' own rooms: Socket.IO encodes the packet once for all of them.
        // `local`: every node reads the view itself on the change notice and pushes to its own
        // sockets, so an update must not also go through the Redis adapter, which would publish
        // each one to every other node, only for them to find none of these socket ids.
        if (ready.length > 0) {
          live.local.to(ready).emit('view:update', snapshot);
          options.onPush?.(snapshot.view, ready.length);
        }
      });
      topics.set(id, topic);
    }
    return topic;
  };

  const leave = (socket: LiveSocket, id: string) => {
    const topic = topics.get(id);
    if (!topic) return;
    topic.subscribers.delete(socket.id);
    outboxes.get(socket.id)?.forget(id);
    if (topic.subscribers.size === 0) {
      topic.close();
      topics.delete(id);
    }
  };

  live.on('connection', (socket: LiveSocket) => {
    const credential = credentials.get(socket)!;
    const { principal } = socket.data;
    void socket.join(principalRoom(principal.kind, principal.id));
    const expiry = endAtExpiry(socket, principal.expiresAt, now);
    outboxes.set(socket.id, new SocketOutbox(socket, (snapshot) => options.onPush?.(snapshot.view, 1)));
    socket.on('view:subscribe', async (raw, ack) => {
      if (typeof ack !== 'function') return; // the contract asks for an ack; without one there is no answer to give
      const parsed = parseSubscription(options.views, raw);
      if (!parsed.ok) return ack({ ok: false, error: parsed.error });
      const still = await credential.recheck();
      if (!still.ok) {
        ack({ ok: false, error: still.error });
        // The ack is flushed before the connection closes. The client sees "io server disconnect"
        // and must connect again itself, with a credential the middleware accepts.
        if (still.final) socket.disconnect(true);
        return;
      }
      socket.data.principal = still.principal;
      // The filter as the client wrote it (validated: all strings), as REST checks its query.
      const refused = viewRefusal(still.principal, parsed.value.view, (raw.filter ?? {}) as ViewFilter);
      if (refused) return ack({ ok: false, error: refused });
      if (!socket.connected) return; // gone while its credential was checked
      const topic = topicFor(still.principal, parsed.value, raw);
      topic.subscribers.add(socket.id);
      try {
        const snapshot = await topic.snapshot();
        outboxes.get(socket.id)?.sent(topic.id, snapshot.version);
        ack({ ok: true, ...snapshot });
      } catch (error) {
        leave(socket, topic.id);
        options.log(`live: snapshot of ${topic.id} failed: ${(error as Error).message}`);
        ack({ ok: false, error: 'the view could not be read right now; try again' });
      }
    });
    socket.on('view:unsubscribe', (raw) => {
      const parsed = parseSubscription(options.views, raw);
      if (parsed.ok) leave(socket, topicKey(socket.data.principal, parsed.value.view, raw.filter));
    });
    socket.on('disconnect', () => {
      clearTimeout(expiry());
      for (const topic of [...topics.values()]) if (topic.subscribers.has(socket.id)) leave(socket, topic.id);
      outboxes.delete(socket.id);
    });
  });

  await options.subscriber.subscribe(VIEW_CHANGED_CHANNEL, (view) => {
    for (const topic of topics.values()) if (topic.dependsOn(view)) topic.changed();
  });

  return {
    get topicCount() {
      return topics.size;
    },
    get clientCount() {
      return live.sockets.size;
    },
    disconnectPrincipal(kind, id) {
      const room = principalRoom(kind, id);
      // This node's sockets at once, even while Redis is away; then, through the adapter, every node's.
      live.local.in(room).disconnectSockets(true);
      if (withAdapter) live.in(room).disconnectSockets(true);
    },
    nodeCount: () => live.adapter.serverCount(),
    async close() {
      for (const topic of topics.values()) topic.close();
      topics.clear();
      // io.close() would also close the HTTP server, which its owner closes. `local`: the other nodes' clients stay.
      live.local.disconnectSockets(true);
      io.engine.close();
      // Unsubscribes the notices and the adapters' channels (their Redis connections belong to the caller). A stop
      // never waits long on Redis: a subscriber connection caught reconnecting may not answer an UNSUBSCRIBE.
      await within(Promise.all([
        options.subscriber.unsubscribe(VIEW_CHANGED_CHANNEL), io.of('/').adapter.close(), live.adapter.close(),
      ]).catch(() => undefined), CLOSE_WAIT_MS);
    },
  };
}

/**
 * Ends the connection when its credential expires, so an expired token does not go
 * on receiving updates; returns the current timer (for clearTimeout on disconnect).
 */
function endAtExpiry(socket: LiveSocket, expiresAt: number | undefined, now: () => number): () => NodeJS.Timeout | undefined {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (expiresAt === undefined) return;
    const left = expiresAt - now();
    if (left <= 0) return void socket.disconnect(true);
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => timer;
}

type Parsed = { ok: true; value: { view: string; filter: Record<string, unknown> } } | { ok: false; error: string };

function parseSubscription(views: ViewDefinitions, raw: unknown): Parsed {
  if (typeof raw !== 'object' || raw === null) return { ok: false, error: 'subscribe with {view, filter}' };
  const { view, filter = {} } = raw as { view?: unknown; filter?: unknown };
  if (typeof view !== 'string' || !views[view]) {
    return { ok: false, error: `unknown view "${String(view)}"; views: ${Object.keys(views).join(', ')}` };
  }
  const result = views[view]!.filter.safeParse(filter);
  if (!result.success) {
    return { ok: false, error: `invalid filter for ${view}: ${zodIssues(result.error, 'filter')}` };
  }
  return { ok: true, value: { view, filter: result.data } };
}

/** How long closing waits for Redis to confirm the unsubscribes. */
const CLOSE_WAIT_MS = 2_000;
