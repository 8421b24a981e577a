/** The node-redis client EventDeck uses, and how it connects. */
import { createClient } from 'redis';

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
