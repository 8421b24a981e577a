import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../platform/net/free-port.ts';
import { createEmbedTokens } from './embed-tokens.ts';
import { createJwtVerifier, JwksFileError, type JwtResult } from './jwt.ts';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const NOW = Date.parse('2026-03-01T12:00:00Z');
const clock = () => NOW;
const seconds = (ms: number) => Math.floor(ms / 1000);

function hs256(claims: JWTPayload, secret = SECRET, exp = seconds(NOW) + 300): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(seconds(NOW)).setExpirationTime(exp).sign(new TextEncoder().encode(secret));
}

const reasonOf = (result: JwtResult) => (result.ok ? 'ok' : result.reason);

describe('JWTs signed with a shared secret (HS256)', () => {
  const verifier = createJwtVerifier({ secret: SECRET }, clock);

  it('accepts a valid token and reads subject, roles, warehouses and extra rights', async () => {
    const result = await verifier.verify(await hs256({ sub: 'ana', name: 'Ana', roles: ['viewer', 'wizard'], warehouses: ['w1'], rights: ['pii:read'] }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal).toMatchObject({ kind: 'user', id: 'ana', label: 'Ana', roles: ['viewer'], warehouses: ['w1'] });
    expect([...result.principal.rights].sort()).toEqual(['pii:read', 'views:read']);
  });

  it('refuses a token signed with another secret', async () => {
    const result = await verifier.verify(await hs256({ sub: 'ana', roles: ['admin'] }, 'another-secret-of-at-least-32-characters'));
    expect(result).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await hs256({ sub: 'ana', roles: ['viewer'] })).split('.');
    const payload = base64url.encode(JSON.stringify({ sub: 'ana', roles: ['admin'], exp: seconds(NOW) + 300 }));
    expect(reasonOf(await verifier.verify(`${header}.${payload}.${signature}`))).toBe('bad-signature');
  });

  it('refuses an expired token and says when it expired', async () => {
    const result = await verifier.verify(await hs256({ sub: 'ana', roles: ['viewer'] }, SECRET, seconds(NOW) - 60));
    expect(result).toMatchObject({ ok: false, reason: 'expired' });
    if (!result.ok) expect(result.message).toContain('expired at 2026-03-01T11:59:00.000Z');
  });

  it('refuses a token without an expiry', async () => {
    const token = await new SignJWT({ sub: 'ana', roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    expect(reasonOf(await verifier.verify(token))).toBe('bad-claims');
  });

  it('refuses an unsigned "alg: none" token', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ sub: 'mallory', roles: ['admin'], exp: seconds(NOW) + 300 }));
    const result = await verifier.verify(`${header}.${payload}.`);
    expect(result.ok).toBe(false);
    expect(reasonOf(result)).toBe('bad-algorithm');
  });

  it('refuses what is not a JWT at all', async () => {
    expect(reasonOf(await verifier.verify('not-a-token'))).toBe('malformed');
  });

  it('checks issuer and audience when configured', async () => {
    const strict = createJwtVerifier({ secret: SECRET, issuer: 'https://idp.example', audience: 'eventdeck' }, clock);
    const wrongIssuer = await hs256({ sub: 'ana', iss: 'https://other.example', aud: 'eventdeck' });
    const right = await hs256({ sub: 'ana', iss: 'https://idp.example', aud: 'eventdeck' });
    expect(reasonOf(await strict.verify(wrongIssuer))).toBe('bad-claims');
    expect(reasonOf(await strict.verify(right))).toBe('ok');
  });

  it('refuses an embed token, even one signed with the same secret', async () => {
    const { token } = await createEmbedTokens(SECRET, clock).mint('orders', {});
    expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'bad-claims', message: 'An embed token is not a sign-in token.' });
  });

  it('gives a person with the producer role no event types unless the token lists them', async () => {
    const plain = await verifier.verify(await hs256({ sub: 'svc', roles: ['producer'] }));
    const listed = await verifier.verify(await hs256({ sub: 'svc', roles: ['producer'], eventTypes: ['order.*'] }));
    expect(plain.ok && plain.principal.eventTypes).toEqual([]);
    expect(listed.ok && listed.principal.eventTypes).toEqual(['order.*']);
  });

  it('gives the person an expiry at the token\'s `exp`, so a long-lived connection can end with it', async () => {
    const result = await verifier.verify(await hs256({ sub: 'ana', roles: ['viewer'] }, SECRET, seconds(NOW) + 120));
    expect(result.ok && result.principal.expiresAt).toBe((seconds(NOW) + 120) * 1000);
  });
});

describe('JWTs signed by an identity provider (JWKS file, RS256 and ES256)', () => {
  let dir: string;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  let jwksFile: string;
  let jwksServer: Server;
  let jwksUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'eventdeck-jwks-'));
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwksFile = path.join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys }));
    jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  const sign = (alg: string, kid: string, key: CryptoKey | Uint8Array, claims: JWTPayload = { sub: 'ana', roles: ['analyst'] }) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid }).setIssuedAt(seconds(NOW)).setExpirationTime(seconds(NOW) + 300).sign(key);

  it('accepts an RS256 token signed by a key of the set', async () => {
    const result = await createJwtVerifier({ jwksFile }, clock).verify(await sign('RS256', 'rsa-1', rsa.privateKey));
    expect(result.ok && result.principal.roles).toEqual(['analyst']);
  });

  it('accepts an ES256 token signed by a key of the set', async () => {
    const result = await createJwtVerifier({ jwksFile }, clock).verify(await sign('ES256', 'ec-1', ec.privateKey));
    expect(reasonOf(result)).toBe('ok');
  });

  it('refuses an RS256 token signed by a key outside the set', async () => {
    const stranger = await generateKeyPair('RS256');
    const token = await sign('RS256', 'rsa-1', stranger.privateKey);
    expect(reasonOf(await createJwtVerifier({ jwksFile }, clock).verify(token))).toBe('bad-signature');
  });

  it('refuses an HS256 token "signed" with the public RSA key as its secret (algorithm confusion)', async () => {
    const publicPem = await exportSPKI(rsa.publicKey);
    const forged = await sign('HS256', 'rsa-1', new TextEncoder().encode(publicPem), { sub: 'mallory', roles: ['admin'] });
    const result = await createJwtVerifier({ jwksFile }, clock).verify(forged);
    expect(result.ok).toBe(false);
    expect(reasonOf(result)).toBe('bad-algorithm');
  });

  it('refuses an HS256 token where only a JWKS is configured, even one made with a shared secret', async () => {
    const token = await hs256({ sub: 'ana', roles: ['admin'] });
    expect(reasonOf(await createJwtVerifier({ jwksFile }, clock).verify(token))).toBe('bad-algorithm');
  });

  it('refuses an RS256 token where only a shared secret is configured', async () => {
    const token = await sign('RS256', 'rsa-1', rsa.privateKey);
    expect(reasonOf(await createJwtVerifier({ secret: SECRET }, clock).verify(token))).toBe('bad-algorithm');
  });

  it('accepts an RS256 token checked against a JWKS URL', async () => {
    const result = await createJwtVerifier({ jwksUrl }, clock).verify(await sign('RS256', 'rsa-1', rsa.privateKey));
    expect(reasonOf(result)).toBe('ok');
  });

  it('tells an unreachable JWKS URL apart from a bad token', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}/jwks.json`;
    const result = await createJwtVerifier({ jwksUrl: nowhere }, clock).verify(await sign('RS256', 'rsa-1', rsa.privateKey));
    expect(reasonOf(result)).toBe('jwks-unavailable');
  });

  it('fails at start, not at the first request, when the JWKS file is missing or not a key set', () => {
    expect(() => createJwtVerifier({ jwksFile: path.join(dir, 'missing.json') })).toThrow(JwksFileError);
    const notASet = path.join(dir, 'not-a-set.json');
    writeFileSync(notASet, '{"hello": 1}');
    expect(() => createJwtVerifier({ jwksFile: notASet })).toThrow(/not a JSON Web Key Set/);
  });
});
