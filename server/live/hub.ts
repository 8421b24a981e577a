/**
 * The live hub (DESIGN.md section 7): Socket.IO namespace `/live`. A client
 * subscribes to (view, filter) and gets a snapshot, then updates. Subscribers
 * of one (view, filter) share one topic: one read per change, at most one push
 * per conflation interval, always the newest state. Projections announce
 * changed views on a Redis channel; every hub process listens, so each node
 * serves its own clients and nothing in one node's memory is needed by another.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Namespace, type Socket } from 'socket.io';
import { LIVE_NAMESPACE, type ClientToServerEvents, type ServerToClientEvents, type ViewSubscription } from '../../shared/live.ts';
import { VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { ViewDefinitions } from '../views/definitions.ts';
import { Topic, topicId } from './topic.ts';
import { SocketOutbox } from './socket-outbox.ts';

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

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
}

export interface LiveHub {
  /** Topics with at least one subscriber, for metrics and tests. */
  readonly topicCount: number;
  /** Clients connected to the live namespace, for metrics. */
  readonly clientCount: number;
  close(): Promise<void>;
}

export async function startLiveHub(options: LiveHubOptions): Promise<LiveHub> {
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(options.httpServer, {
    serveClient: false,
    maxHttpBufferSize: options.maxMessageBytes,
  });
  const live: Namespace<ClientToServerEvents, ServerToClientEvents> = io.of(LIVE_NAMESPACE);
  const topics = new Map<string, Topic>();
  const outboxes = new Map<string, SocketOutbox>();

  const topicFor = (subscription: { view: string; filter: Record<string, unknown> }, raw: ViewSubscription): Topic => {
    const id = topicId(subscription.view, raw.filter);
    let topic = topics.get(id);
    if (!topic) {
      const definition = options.views[subscription.view]!;
      topic = new Topic(id, subscription.view, subscription.filter, definition, options.redis, options.conflationMs, options.log);
      topic.updates$.subscribe((snapshot) => {
        const now: string[] = [];
        for (const socketId of topic!.subscribers) if (outboxes.get(socketId)?.take(id, snapshot) === 'now') now.push(socketId);
        // One broadcast to the sockets' own rooms: Socket.IO encodes the packet once for all of them.
        if (now.length > 0) {
          live.to(now).emit('view:update', snapshot);
          options.onPush?.(snapshot.view, now.length);
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
    outboxes.set(socket.id, new SocketOutbox(socket, (snapshot) => options.onPush?.(snapshot.view, 1)));
    socket.on('view:subscribe', async (raw, ack) => {
      if (typeof ack !== 'function') return; // the contract asks for an ack; without one there is no answer to give
      const parsed = parseSubscription(options.views, raw);
      if (!parsed.ok) return ack({ ok: false, error: parsed.error });
      const topic = topicFor(parsed.value, raw);
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
      if (parsed.ok) leave(socket, topicId(parsed.value.view, raw.filter));
    });
    socket.on('disconnect', () => {
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
    async close() {
      await options.subscriber.unsubscribe(VIEW_CHANGED_CHANNEL).catch(() => undefined);
      for (const topic of topics.values()) topic.close();
      topics.clear();
      // io.close() would also close the HTTP server, which its owner closes.
      live.disconnectSockets(true);
      io.engine.close();
    },
  };
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
    return { ok: false, error: `invalid filter for ${view}: ${result.error.issues.map((i) => `${i.path.join('.') || 'filter'}: ${i.message}`).join('; ')}` };
  }
  return { ok: true, value: { view, filter: result.data } };
}
