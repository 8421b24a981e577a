/** The node-redis client EventDeck uses, and how it connects. */
import { createClient } from 'redis';
import { within } from '../async/within.ts';

export type RedisClient = ReturnType<typeof createClient>;

export interface ConnectOptions {
  /** Fail commands at once while disconnected instead of queueing them (ingest wants a fast 503). */
  failFast?: boolean;
}

export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<RedisClient> {
  const client = createClient({
    url,
    disableOfflineQueue: options.failFast ?? false,
    socket: {
      // Exponential backoff with jitter, capped at 2 s: a restarted Redis is found again quickly.
      reconnectStrategy: (retries) => Math.min(2 ** retries * 50, 2000) + Math.floor(Math.random() * 100),
    },
  });
  // Without a listener node-redis throws on 'error'; reconnection is automatic.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Closes gracefully (pending replies first), but never waits longer than `ms`:
 * a connection caught reconnecting to a Redis that went away may never answer,
 * and a stopping process must not hang on it. Then it is dropped.
 */
export async function closeWithin(client: RedisClient, ms: number): Promise<void> {
  const closing = await within(client.close().catch(() => undefined), ms);
  if (!closing.settled && client.isOpen) client.destroy();
}
