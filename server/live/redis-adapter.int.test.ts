/**
 * Two hub nodes over one Redis with the Socket.IO Redis adapter (DESIGN.md
 * section 6): what must reach another node's sockets (disconnecting a revoked
 * caller) crosses through Redis; view updates do not, each node reading the
 * view itself for its own clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { ApiKeyStore } from '../auth/api-keys.ts';
import { identifyToken } from '../auth/authenticate.ts';
import {
  changeStock, connected, disconnected, liveClient, refusalOf, startTestHub, subscribe, type LiveClient, type TestHub,
} from './hub-fixtures.ts';

let redis: TestRedis;
let client: RedisClient;
let keys: ApiKeyStore;
let nodeA: TestHub;
let nodeB: TestHub;
const clients: LiveClient[] = [];

const startNode = () => startTestHub(redis.url, { authenticate: (token) => identifyToken({ local: false, keys }, token), adapter: true });

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  keys = new ApiKeyStore(client);
  [nodeA, nodeB] = [await startNode(), await startNode()];
  // The adapters subscribe as they start; a request published before would reach no one.
  while ((await nodeA.hub.nodeCount()) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
});

afterEach(() => {
  for (const socket of clients.splice(0)) socket.close();
});

afterAll(async () => {
  await nodeA?.stop();
  await nodeB?.stop();
  await client?.close();
  await redis?.stop();
});

async function on(node: TestHub, key: string): Promise<LiveClient> {
  const socket = liveClient(node.url, key);
  clients.push(socket);
  await connected(socket);
  return socket;
}

const viewerKey = async () => {
  const issued = await keys.create({ label: 'wall screen', roles: ['viewer'] });
  return { id: issued.info.id, key: issued.key };
};

describe('two hub nodes with the Redis adapter', () => {
  it('disconnects a caller on every node when one node is asked to', async () => {
    const revoked = await viewerKey();
    const other = await viewerKey();
    const [here, there, bystander] = [await on(nodeA, revoked.key), await on(nodeB, revoked.key), await on(nodeB, other.key)];
    await keys.revoke(revoked.id);
    const gone = Promise.all([disconnected(here), disconnected(there)]);
    nodeA.hub.disconnectPrincipal('key', revoked.id);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    expect(bystander.connected).toBe(true);
    there.connect();
    expect((await refusalOf(there)).data).toMatchObject({ status: 401 });
  });

  it('delivers a view update to the clients of both nodes, and no update crosses Redis through the adapter', async () => {
    const { key } = await viewerKey();
    const [here, there] = [await on(nodeA, key), await on(nodeB, key)];
    const subscription = { view: 'inventory' as const, filter: { warehouseId: 'w-both' } };
    expect(await subscribe(here, subscription)).toMatchObject({ ok: true });
    expect(await subscribe(there, subscription)).toMatchObject({ ok: true });

    // Every packet the adapter broadcasts is published on a `socket.io#<namespace>#...` channel.
    const spy = client.duplicate();
    await spy.connect();
    const broadcasts: string[] = [];
    await spy.pSubscribe('socket.io#/live#*', (_message, channel) => broadcasts.push(channel));
    try {
      await changeStock(client, 'w-both', 11);
      await expect.poll(() => here.updates.at(-1)?.state).toEqual({ stock: 11 });
      await expect.poll(() => there.updates.at(-1)?.state).toEqual({ stock: 11 });
      expect(there.updates.at(-1)!.version).toBe(here.updates.at(-1)!.version);
      // Each node pushed once to its own client.
      expect([here.updates.length, there.updates.length]).toEqual([1, 1]);
      expect(broadcasts).toEqual([]);
    } finally {
      await spy.close();
    }
  });

  it('counts the nodes sharing the adapter, and leaves the other node\'s clients connected when one closes', async () => {
    const { key } = await viewerKey();
    const third = await startNode();
    await expect.poll(() => nodeA.hub.nodeCount()).toBe(3);
    const stays = await on(nodeA, key);
    const leaves = await on(third, key);
    const gone = disconnected(leaves);
    await third.stop();
    await gone;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stays.connected).toBe(true);
    await expect.poll(() => nodeA.hub.nodeCount()).toBe(2);
  });
});
