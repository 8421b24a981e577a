import { base64url, decodeJwt, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createEmbedTokens, EmbedMintError, frameAncestors, looksLikeEmbedToken, type EmbedResult } from './embed-tokens.ts';

const SECRET = 'embed-secret-of-at-least-32-characters!!';
const clock = { now: Date.parse('2026-03-01T12:00:00Z') };
const tokens = createEmbedTokens(SECRET, () => clock.now);

const messageOf = (r: EmbedResult) => (r.ok ? 'ok' : r.message);

describe('embed tokens', () => {
  it('open the one view and filter they were minted for, with only the right to read views', async () => {
    const { token, expiresAt } = await tokens.mint('inventory', { warehouseId: 'w1' }, { origins: ['https://portal.example.com/page'] });
    expect(expiresAt).toBe('2026-03-01T12:15:00.000Z');
    const result = await tokens.verify(token, 'inventory', { warehouseId: 'w1' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal.kind).toBe('embed');
    expect([...result.principal.rights]).toEqual(['views:read']);
    expect(result.principal.embed).toEqual({ view: 'inventory', filter: { warehouseId: 'w1' }, origins: ['https://portal.example.com'] });
  });

  it('give their principal the token\'s expiry, so a live connection opened with one ends with it', async () => {
    const { token, expiresAt } = await tokens.mint('orders', {}, { ttlSeconds: 60 });
    const result = await tokens.open(token);
    expect(result.ok && result.principal.expiresAt).toBe(Date.parse(expiresAt));
    expect(expiresAt).toBe('2026-03-01T12:01:00.000Z');
  });

  it('compare filters whatever the order of their keys', async () => {
    const { token } = await tokens.mint('inventory', { warehouseId: 'w1', sku: 'A' });
    expect((await tokens.verify(token, 'inventory', { sku: 'A', warehouseId: 'w1' })).ok).toBe(true);
  });

  it('refuse another view, and say which view the token is for', async () => {
    const { token } = await tokens.mint('inventory', { warehouseId: 'w1' });
    const result = await tokens.verify(token, 'orders', { warehouseId: 'w1' });
    expect(result).toMatchObject({ ok: false, reason: 'other-view' });
    expect(messageOf(result)).toBe('This embed token is for the view "inventory", not "orders".');
  });

  it('refuse another filter, a wider one and a narrower one', async () => {
    const { token } = await tokens.mint('inventory', { warehouseId: 'w1' });
    const other = await tokens.verify(token, 'inventory', { warehouseId: 'w2' });
    expect(messageOf(other)).toBe('This embed token is for warehouseId=w1, not warehouseId=w2.');
    expect(messageOf(await tokens.verify(token, 'inventory', {}))).toBe('This embed token is for warehouseId=w1, not no filter.');
    expect((await tokens.verify(token, 'inventory', { warehouseId: 'w1', sku: 'A' })).ok).toBe(false);
  });

  it('expire after their time to live, with a message that says so', async () => {
    const { token } = await tokens.mint('orders', {}, { ttlSeconds: 60 });
    const later = createEmbedTokens(SECRET, () => clock.now + 61_000);
    const result = await later.verify(token, 'orders', {});
    expect(result).toMatchObject({ ok: false, reason: 'expired' });
    expect(messageOf(result)).toBe('The embed token expired at 2026-03-01T12:01:00.000Z; ask an admin for a new one.');
  });

  it('refuse a token whose filter was changed after signing', async () => {
    const { token } = await tokens.mint('inventory', { warehouseId: 'w1' });
    const [header, , signature] = token.split('.');
    const claims = { ...decodeJwt(token), filter: { warehouseId: 'w2' } };
    const tampered = `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    const result = await tokens.verify(tampered, 'inventory', { warehouseId: 'w2' });
    expect(result).toMatchObject({ ok: false, reason: 'invalid' });
    expect(messageOf(result)).toBe('The embed token is not valid: it was changed, or was not made by this EventDeck.');
  });

  it('refuse a token minted with another secret', async () => {
    const { token } = await createEmbedTokens('another-embed-secret-of-32-characters!!', () => clock.now).mint('orders', {});
    expect((await tokens.verify(token, 'orders', {})).ok).toBe(false);
  });

  it('refuse an ordinary JWT signed with the same secret: it is not an embed token', async () => {
    const jwt = await new SignJWT({ view: 'orders', filter: {}, origins: [] })
      .setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(clock.now / 1000) + 60).setJti('x')
      .sign(new TextEncoder().encode(SECRET));
    expect(looksLikeEmbedToken(jwt)).toBe(false);
    expect((await tokens.verify(jwt, 'orders', {})).ok).toBe(false);
  });

  it('live at most 24 hours, and refuse origins that are not http(s) origins', async () => {
    await expect(tokens.mint('orders', {}, { ttlSeconds: 24 * 3600 + 1 })).rejects.toThrow(EmbedMintError);
    await expect(tokens.mint('orders', {}, { origins: ['javascript:alert(1)'] })).rejects.toThrow(/not an http\(s\) origin/);
    await expect(tokens.mint('orders', {}, { origins: ["https://a.example 'unsafe-inline'"] })).rejects.toThrow(EmbedMintError);
  });
});

describe('frame-ancestors', () => {
  it('allows only the token\'s origins to frame the widget', () => {
    expect(frameAncestors(['https://a.example', 'https://b.example:8443'])).toBe('frame-ancestors https://a.example https://b.example:8443');
  });

  it('allows no one when the token names no origin', () => {
    expect(frameAncestors([])).toBe("frame-ancestors 'none'");
  });

  it('drops anything that could add a directive', () => {
    expect(frameAncestors(["https://a.example; script-src 'unsafe-inline'"])).toBe("frame-ancestors 'none'");
  });
});
