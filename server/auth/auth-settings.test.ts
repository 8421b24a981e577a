import { describe, expect, it } from 'vitest';
import {
  assertBindAllowed, authMode, AuthSettingsError, isLoopback, LocalModeBindError, localModeNotice, parseAuthSettings,
} from './auth-settings.ts';

const SECRET = 'x'.repeat(32);

describe('auth settings', () => {
  it('run in local mode when nothing is configured, with 6000 requests a minute per caller', () => {
    const settings = parseAuthSettings({});
    expect(authMode(settings)).toBe('local');
    expect(settings.rateLimitPerMinute).toBe(6000);
  });

  it('treat empty values as unset', () => {
    expect(authMode(parseAuthSettings({ EVENTDECK_AUTH_JWT_SECRET: '', EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: '' }))).toBe('local');
  });

  it('enforce authentication with a JWT secret, a JWKS, or a bootstrap key', () => {
    const jwt = parseAuthSettings({ EVENTDECK_AUTH_JWT_SECRET: SECRET, EVENTDECK_AUTH_JWT_ISSUER: 'https://idp.example' });
    expect(jwt.jwt).toEqual({ secret: SECRET, issuer: 'https://idp.example' });
    expect(authMode(jwt)).toBe('enforced');
    expect(parseAuthSettings({ EVENTDECK_AUTH_JWKS_URL: 'https://idp.example/jwks' }).jwt).toEqual({ jwksUrl: 'https://idp.example/jwks' });
    expect(authMode(parseAuthSettings({ EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: `edk_${SECRET}` }))).toBe('enforced');
  });

  it('stay enforced with only stored API keys when asked, so removing the bootstrap key never opens the door', () => {
    expect(authMode(parseAuthSettings({ EVENTDECK_AUTH_MODE: 'enforced' }))).toBe('enforced');
  });

  it('do not count an embed secret or a rate limit as authentication', () => {
    expect(authMode(parseAuthSettings({ EVENTDECK_EMBED_SECRET: SECRET, EVENTDECK_RATE_LIMIT_PER_MINUTE: '10' }))).toBe('local');
  });

  it('list every problem at once: a short secret, two key sources, an issuer without a verifier', () => {
    const read = () => parseAuthSettings({
      EVENTDECK_AUTH_JWT_SECRET: 'short',
      EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: 'admin',
      EVENTDECK_RATE_LIMIT_PER_MINUTE: 'lots',
    });
    expect(read).toThrow(AuthSettingsError);
    expect(read).toThrow(/EVENTDECK_AUTH_JWT_SECRET: must be at least 32 characters/);
    expect(read).toThrow(/EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: must start with "edk_"/);
    expect(read).toThrow(/EVENTDECK_RATE_LIMIT_PER_MINUTE/);
    expect(() => parseAuthSettings({ EVENTDECK_AUTH_JWT_SECRET: SECRET, EVENTDECK_AUTH_JWKS_FILE: '/k.json' })).toThrow(/set only one of/);
    expect(() => parseAuthSettings({ EVENTDECK_AUTH_JWT_AUDIENCE: 'eventdeck' })).toThrow(/needs a JWT secret, JWKS file or JWKS URL/);
    expect(() => parseAuthSettings({ EVENTDECK_AUTH_JWT_SECRET: SECRET, EVENTDECK_EMBED_SECRET: SECRET })).toThrow(/EVENTDECK_EMBED_SECRET: must differ/);
    expect(() => parseAuthSettings({ EVENTDECK_AUTH_MODE: 'local', EVENTDECK_AUTH_JWT_SECRET: SECRET })).toThrow(/is "local" but authentication is configured/);
  });
});

describe('binding in local mode', () => {
  it('knows loopback addresses from the rest', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'eventdeck.example.com', '::2']) expect(isLoopback(host)).toBe(false);
  });

  it('refuses to listen on every interface without authentication, and says how to fix it', () => {
    expect(() => assertBindAllowed('local', '0.0.0.0')).toThrow(LocalModeBindError);
    expect(() => assertBindAllowed('local', '0.0.0.0')).toThrow(/HOST=0.0.0.0.*local mode.*HOST=127.0.0.1/s);
  });

  it('allows loopback in local mode and any address with authentication', () => {
    expect(() => assertBindAllowed('local', '127.0.0.1')).not.toThrow();
    expect(() => assertBindAllowed('enforced', '0.0.0.0')).not.toThrow();
  });

  it('has a start line that says local mode plainly', () => {
    expect(localModeNotice('127.0.0.1', 8080)).toMatch(/^EventDeck runs in LOCAL MODE: no authentication.*127\.0\.0\.1:8080/);
  });
});
