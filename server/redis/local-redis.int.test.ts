import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../platform/net/free-port.ts';
import { RedisUnavailableError, resolveRedis } from './local-redis.ts';

describe('the local Redis default', () => {
  it('starts a redis-server with AOF under the data dir when nothing answers, and keeps data across restarts', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-local-'));
    const localPort = await freePort();
    const first = await resolveRedis({ dataDir, localPort });
    expect(first.local).toBeDefined();
    const client = createClient({ url: first.url });
    await client.connect();
    await client.set('kept', 'yes');
    await client.close();
    await first.local!.stop();
    expect(existsSync(path.join(dataDir, 'redis'))).toBe(true);
    expect(readdirSync(path.join(dataDir, 'redis')).some((f) => f.startsWith('appendonly'))).toBe(true);

    const second = await resolveRedis({ dataDir, localPort });
    const again = createClient({ url: second.url });
    await again.connect();
    expect(await again.get('kept')).toBe('yes');
    await again.close();
    // A Redis that already answers on the port is used as it is, not started twice.
    const third = await resolveRedis({ dataDir, localPort });
    expect(third.local).toBeUndefined();
    await second.local!.stop();
  });

  it('uses REDIS_URL as given', async () => {
    expect(await resolveRedis({ redisUrl: 'redis://10.1.2.3:6380', dataDir: '/tmp' })).toEqual({ url: 'redis://10.1.2.3:6380' });
  });

  it('says what to do when there is no Redis and no redis-server to start', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const attempt = resolveRedis({ dataDir: '/tmp', localPort: await freePort() });
      await expect(attempt).rejects.toThrowError(RedisUnavailableError);
      await expect(attempt).rejects.toThrowError(/set REDIS_URL=redis:\/\/host:6379, or install Redis/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
