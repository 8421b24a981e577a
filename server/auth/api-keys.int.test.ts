/**
 * The API key store over a real Redis: keys verify, rotate, revoke, and no
 * secret is ever stored or listed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../platform/redis/client.ts';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { apiKeyKeys, ApiKeyStore, parseApiKey, withBootstrapKey } from './api-keys.ts';
import { can, mayPublish } from './principal.ts';

let redis: TestRedis;
let client: RedisClient;
let store: ApiKeyStore;
const clock = { now: Date.parse('2026-03-01T12:00:00Z') };

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  store = new ApiKeyStore(client, () => clock.now);
});

afterEach(async () => {
  await client.flushAll();
});

afterAll(async () => {
  await client?.close();
  await redis?.stop();
});

describe('API keys', () => {
  it('verify as a caller with the roles, types and warehouses they were made with', async () => {
    const { key, info } = await store.create({ label: 'billing', roles: ['producer'], eventTypes: ['payment.*'], warehouses: ['w1'] });
    expect(key).toMatch(/^edk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const caller = await store.verify(key);
    expect(caller).toMatchObject({ kind: 'key', id: info.id, label: 'billing', roles: ['producer'], warehouses: ['w1'] });
    expect(mayPublish(caller!, 'payment.failed')).toBe(true);
    expect(mayPublish(caller!, 'order.placed')).toBe(false);
    expect(can(caller!, 'views:read')).toBe(false);
  });

  it('refuse a wrong secret for a real id, an unknown id, and garbage', async () => {
    const { key, info } = await store.create({ label: 'ops', roles: ['operator'] });
    const wrongSecret = `edk_${info.id}_${'A'.repeat(43)}`;
    expect(await store.verify(wrongSecret)).toBeUndefined();
    expect(await store.verify(key.replace(info.id, '0123456789abcdef'))).toBeUndefined();
    expect(await store.verify('edk_nonsense')).toBeUndefined();
    expect(await store.verify('')).toBeUndefined();
  });

  it('store only a SHA-256 of the secret, never the secret', async () => {
    const { key, info } = await store.create({ label: 'ops', roles: ['viewer'] });
    const stored = await client.hGetAll(apiKeyKeys.key(info.id));
    const { secret } = parseApiKey(key)!;
    expect(stored.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('list every key with its label and roles, but no secret or hash', async () => {
    clock.now += 1000;
    const first = await store.create({ label: 'first', roles: ['viewer'] });
    clock.now += 1000;
    const second = await store.create({ label: 'second', roles: ['admin'] });
    const listed = await store.list();
    expect(listed.map((k) => k.label)).toEqual(['first', 'second']);
    expect(listed[1]).toMatchObject({ roles: ['admin'], eventTypes: ['*'], revoked: false });
    const text = JSON.stringify(listed);
    for (const { key } of [first, second]) expect(text).not.toContain(parseApiKey(key)!.secret);
    expect(text).not.toContain('hash');
  });

  it('rotate to a new secret: the new one works at once and the old one never again', async () => {
    const { key: old, info } = await store.create({ label: 'shop', roles: ['producer'], eventTypes: ['order.*'] });
    clock.now += 60_000;
    const rotated = await store.rotate(info.id);
    expect(rotated.outcome).toBe('rotated');
    if (rotated.outcome !== 'rotated') return;
    expect(rotated.key).not.toBe(old);
    expect(rotated.info.rotatedAt).toBe(new Date(clock.now).toISOString());
    expect(await store.verify(old)).toBeUndefined();
    expect((await store.verify(rotated.key))?.id).toBe(info.id);
  });

  it('revoke a key: it stops working, stays listed as revoked, and cannot be rotated back to life', async () => {
    const { key, info } = await store.create({ label: 'old', roles: ['viewer'] });
    const revoked = await store.revoke(info.id);
    expect(revoked).toMatchObject({ revoked: true, revokedAt: new Date(clock.now).toISOString() });
    expect(await store.verify(key)).toBeUndefined();
    expect((await store.list())[0]).toMatchObject({ id: info.id, revoked: true });
    expect(await store.rotate(info.id)).toMatchObject({ outcome: 'revoked' });
    expect(await store.revoke('0123456789abcdef')).toBeUndefined();
    expect(await store.rotate('0123456789abcdef')).toEqual({ outcome: 'not-found' });
  });

  it('accept the bootstrap admin key besides the stored keys', async () => {
    const bootstrap = `edk_${'b'.repeat(40)}`;
    const verifier = withBootstrapKey(store, bootstrap);
    const admin = await verifier.verify(bootstrap);
    expect(admin).toMatchObject({ kind: 'key', id: 'bootstrap', roles: ['admin'] });
    expect(can(admin!, 'keys:manage')).toBe(true);
    const { key } = await store.create({ label: 'viewer', roles: ['viewer'] });
    expect((await verifier.verify(key))?.label).toBe('viewer');
    expect(await verifier.verify(`${bootstrap}x`)).toBeUndefined();
  });
});
