/**
 * For the hub's tests: a live hub on its own HTTP server (port 0) over a real
 * Redis, two small views read from plain Redis keys, and Socket.IO clients.
 * Only tests import this.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as connect, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { z } from 'zod';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import type { ClientToServerEvents, LiveConnectErrorData, ServerToClientEvents, SubscribeAck, ViewSubscription } from '../../shared/live.ts';
import { readModelKeys, VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import type { ViewSnapshot } from '../../shared/views.ts';
import type { ViewDefinitions } from '../views/definitions.ts';
import { startLiveHub, type LiveHub, type LiveHubOptions } from './hub.ts';

export type LiveClient = Socket<ServerToClientEvents, ClientToServerEvents> & { updates: ViewSnapshot[] };

const byWarehouse = z.strictObject({ warehouseId: z.string().min(1).optional() });
const stockKey = (warehouseId: string | undefined) => `test:stock:${warehouseId ?? '*'}`;

/** `inventory` and `orders`, filtered by warehouse: their state is one counter in Redis. */
export function testViews(redis: RedisClient): ViewDefinitions {
  const read = async (filter: Record<string, unknown>) => ({ stock: Number((await redis.get(stockKey(filter.warehouseId as string | undefined))) ?? 0) });
  return { inventory: { filter: byWarehouse, read }, orders: { filter: byWarehouse, read } };
}

/** What a projection does after a commit: change the state, bump the version, announce it. */
export async function changeStock(redis: RedisClient, warehouseId: string, stock: number): Promise<void> {
  await redis.multi().set(stockKey(warehouseId), String(stock)).incr(readModelKeys.viewVersion('inventory')).exec();
  await redis.publish(VIEW_CHANGED_CHANNEL, 'inventory');
}

export interface TestHub {
  url: string;
  port: number;
  hub: LiveHub;
  redis: RedisClient;
  stop(): Promise<void>;
}

export async function startTestHub(
  redisUrl: string,
  options: Pick<LiveHubOptions, 'authenticate'> & Partial<Omit<LiveHubOptions, 'httpServer' | 'views' | 'redis' | 'subscriber'>> & { adapter?: boolean; port?: number },
): Promise<TestHub> {
  const { adapter = false, port: wanted = 0, ...hubOptions } = options;
  const httpServer = createServer();
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(wanted, '127.0.0.1', () => resolve());
  });
  const redis = await connectRedis(redisUrl);
  const duplicate = async () => {
    const client = redis.duplicate();
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  const subscriber = await duplicate();
  const pubSub = adapter ? { adapterPub: await duplicate(), adapterSub: await duplicate() } : {};
  const hub = await startLiveHub({
    httpServer, views: testViews(redis), redis, subscriber, conflationMs: 20, maxMessageBytes: 64 * 1024, log: () => {},
    ...pubSub, ...hubOptions,
  });
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hub,
    redis,
    async stop() {
      await hub.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      for (const client of [subscriber, pubSub.adapterPub, pubSub.adapterSub, redis]) await client?.close();
    },
  };
}

/** A client of `/live` (not yet connected: await `connected`); no reconnection unless asked. */
export function liveClient(url: string, token?: string, options: Partial<ManagerOptions & SocketOptions> = {}): LiveClient {
  const socket = connect(`${url}/live`, {
    transports: ['websocket'], reconnection: false, forceNew: true, ...(token !== undefined ? { auth: { token } } : {}), ...options,
  }) as LiveClient;
  socket.updates = [];
  socket.on('view:update', (update) => socket.updates.push(update));
  return socket;
}

export type ConnectError = Error & { data?: LiveConnectErrorData };

/** Resolves on the next connect; rejects with the connect_error (message and data) of a refused handshake. */
export function connected(socket: Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ok = () => {
      socket.off('connect_error', failed);
      resolve();
    };
    const failed = (error: Error) => {
      socket.off('connect', ok);
      reject(error);
    };
    socket.once('connect', ok);
    socket.once('connect_error', failed);
  });
}

/** The refusal of the next handshake (fails if the client connects instead). */
export async function refusalOf(socket: Socket): Promise<ConnectError> {
  try {
    await connected(socket);
  } catch (error) {
    return error as ConnectError;
  }
  throw new Error('the client was let in');
}

export function disconnected(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

export const subscribe = (socket: LiveClient, subscription: ViewSubscription) =>
  new Promise<SubscribeAck>((resolve) => socket.emit('view:subscribe', subscription, resolve));
