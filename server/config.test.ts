import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('config', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080, host: '127.0.0.1', partitions: 16, dataDir: path.resolve('./data'),
      ingest: { maxBodyBytes: 1024 * 1024, maxFutureMs: 300_000, dedupTtlSeconds: 7 * 24 * 3600 },
      stageLimitsMs: { placed: 120_000, reserved: 300_000, paid: 1_800_000 },
    });
    expect(config.redisUrl).toBeUndefined();
    expect(config.clickhouseUrl).toBeUndefined();
    expect([...config.roles]).toEqual(['api', 'projector', 'history', 'alerts']);
    expect(config.alerts.rules.map((r) => r.name)).toEqual(['low-stock', 'payment-failure-rate', 'stuck-order', 'dead-letters', 'consumer-lag']);
    expect(Object.isFrozen(config.ingest)).toBe(true);
  });

  it('reads the JSON file named by EVENTDECK_CONFIG, and the environment wins over it', () => {
    const file = path.join(os.tmpdir(), `eventdeck-config-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ PORT: 9000, HOST: '127.0.0.2', reorderLevels: { 'blue-mug': 4 } }));
    const config = loadConfig({ EVENTDECK_CONFIG: file, PORT: '9100', EVENTDECK_ROLES: 'api' });
    expect(config.port).toBe(9100);
    expect(config.host).toBe('127.0.0.2');
    expect(config.inventory.reorderLevels).toEqual({ 'blue-mug': 4 });
    expect([...config.roles]).toEqual(['api']);
  });

  it('names every invalid setting in one clear message', () => {
    expect(() => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', EVENTDECK_PARTITIONS: '0' })).toThrowError(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', EVENTDECK_PARTITIONS: '0' });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT/);
      expect((error as Error).message).toMatch(/REDIS_URL must look like redis:\/\/host:port/);
      expect((error as Error).message).toMatch(/EVENTDECK_PARTITIONS/);
    }
  });

  it('refuses unknown roles and a config file that is missing or not JSON', () => {
    expect(() => loadConfig({ EVENTDECK_ROLES: 'api,cook' })).toThrowError(/EVENTDECK_ROLES must be a comma-separated list/);
    expect(() => loadConfig({ EVENTDECK_CONFIG: '/no/such/file.json' })).toThrowError(/cannot be read/);
    const file = path.join(os.tmpdir(), `eventdeck-bad-${process.pid}.json`);
    writeFileSync(file, '{ nope');
    expect(() => loadConfig({ EVENTDECK_CONFIG: file })).toThrowError(/is not a JSON object/);
  });

  it('takes alert rules from the file: a rule named like a built-in replaces it, others join; names are unique', () => {
    const file = path.join(os.tmpdir(), `eventdeck-alerts-${process.pid}.json`);
    const lag = { kind: 'pipeline', name: 'consumer-lag', measure: 'lagSeconds', above: 60 };
    writeFileSync(file, JSON.stringify({ alerts: { rules: [lag, { kind: 'threshold', name: 'berlin-stock', warehouseId: 'berlin', below: 50 }] } }));
    const rules = loadConfig({ EVENTDECK_CONFIG: file }).alerts.rules;
    expect(rules.map((r) => r.name)).toEqual(['low-stock', 'payment-failure-rate', 'stuck-order', 'dead-letters', 'consumer-lag', 'berlin-stock']);
    expect(rules.find((r) => r.name === 'consumer-lag')).toMatchObject({ above: 60, severity: 'warning' });
    writeFileSync(file, JSON.stringify({ alerts: { rules: [lag, lag] } }));
    expect(() => loadConfig({ EVENTDECK_CONFIG: file })).toThrowError(/alert rule names must be unique/);
    writeFileSync(file, JSON.stringify({ alerts: { rules: [{ kind: 'threshold', name: 'Bad Name' }] } }));
    expect(() => loadConfig({ EVENTDECK_CONFIG: file })).toThrowError(/lower-case words/);
  });

  it('runs in local mode without authentication, and then refuses to listen beyond loopback', () => {
    expect(loadConfig({}).auth.mode).toBe('local');
    expect(loadConfig({ HOST: '::1' }).auth.mode).toBe('local');
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrowError(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrowError(/will not listen on HOST=0\.0\.0\.0: no authentication is configured/);
    const enforced = loadConfig({ HOST: '0.0.0.0', EVENTDECK_AUTH_JWT_SECRET: 'x'.repeat(32) });
    expect(enforced.auth.mode).toBe('enforced');
    expect(enforced.auth.jwt).toEqual({ secret: 'x'.repeat(32) });
    expect(() => loadConfig({ EVENTDECK_AUTH_JWT_SECRET: 'short' })).toThrowError(/EVENTDECK_AUTH_JWT_SECRET: must be at least 32 characters/);
  });

  it('serves HTTPS only with both a certificate and a key', () => {
    expect(loadConfig({ EVENTDECK_TLS_CERT_FILE: 'c.pem', EVENTDECK_TLS_KEY_FILE: 'k.pem' }).tls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem' });
    expect(() => loadConfig({ EVENTDECK_TLS_CERT_FILE: 'c.pem' })).toThrowError(/go together/);
  });
});
