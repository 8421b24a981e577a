/**
 * API keys for producers and scripts, kept in Redis so every EventDeck process
 * sees the same keys at once (a revoked key stops everywhere).
 *
 * A key reads `edk_<id>_<secret>`: the id finds the record, the secret proves
 * possession. Only SHA-256 of the secret is stored. A slow password hash (bcrypt,
 * scrypt) defends guessable human passwords; this secret is 32 random bytes
 * (256 bits), beyond any guessing, so one fast hash is as safe and keeps every
 * request cheap.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { ApiKeyInfo as SharedApiKeyInfo } from '../../shared/access.ts';
import { defaultEventTypes, rightsOf, type Principal, type RoleName } from './principal.ts';

export const API_KEY_PREFIX = 'edk_';

/** Redis names: one hash per key, and the set of every id. */
export const apiKeyKeys = {
  key: (id: string) => `eventdeck:auth:key:${id}`,
  index: 'eventdeck:auth:keys',
} as const;

/** What may be shown of a key: never its secret, nor the hash of it (the web app's type, with our role names). */
export type ApiKeyInfo = SharedApiKeyInfo<RoleName>;

export interface NewApiKey {
  label: string;
  roles: RoleName[];
  /** Patterns such as `order.*`; unset: all for an admin key, none for others. */
  eventTypes?: string[];
  warehouses?: string[];
}

/** The full key, shown to its creator once. */
export interface IssuedApiKey {
  key: string;
  info: ApiKeyInfo;
}

/** Anything that turns a presented key into a caller (the store, the bootstrap key). */
export interface KeyVerifier {
  verify(presented: string): Promise<Principal | undefined>;
}

export type RotateResult =
  | ({ outcome: 'rotated' } & IssuedApiKey)
  | { outcome: 'not-found' }
  | { outcome: 'revoked'; info: ApiKeyInfo };

const KEY_SHAPE = /^edk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** The id and secret of a well-formed key; undefined for anything else. */
export function parseApiKey(presented: string): { id: string; secret: string } | undefined {
  const match = KEY_SHAPE.exec(presented);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Equal in time whatever the inputs: hashing first gives both sides the same length. */
function sameSecret(presented: string, storedHash: Buffer): boolean {
  return storedHash.length === 32 && timingSafeEqual(sha256(presented), storedHash);
}

export class ApiKeyStore implements KeyVerifier {
  constructor(
    private readonly redis: RedisClient,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: NewApiKey): Promise<IssuedApiKey> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const info: ApiKeyInfo = {
      id,
      label: input.label,
      roles: [...new Set(input.roles)],
      eventTypes: input.eventTypes ?? defaultEventTypes(input.roles),
      ...(input.warehouses ? { warehouses: input.warehouses } : {}),
      createdAt: new Date(this.now()).toISOString(),
      revoked: false,
    };
    await this.redis.multi()
      .hSet(apiKeyKeys.key(id), { ...toFields(info), hash: sha256(secret).toString('hex') })
      .sAdd(apiKeyKeys.index, id)
      .exec();
    return { key: `${API_KEY_PREFIX}${id}_${secret}`, info };
  }

  /** Every key, revoked ones included (for audit), oldest first. */
  async list(): Promise<ApiKeyInfo[]> {
    const ids = await this.redis.sMembers(apiKeyKeys.index);
    const infos = await Promise.all(ids.map((id) => this.get(id)));
    return infos.filter((i): i is ApiKeyInfo => i !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<ApiKeyInfo | undefined> {
    const fields = await this.redis.hGetAll(apiKeyKeys.key(id));
    return fields.id ? fromFields(fields) : undefined;
  }

  /** A new secret for the same id and rights; the old secret stops working at once. */
  async rotate(id: string): Promise<RotateResult> {
    const info = await this.get(id);
    if (!info) return { outcome: 'not-found' };
    if (info.revoked) return { outcome: 'revoked', info };
    const secret = randomBytes(32).toString('base64url');
    const rotatedAt = new Date(this.now()).toISOString();
    await this.redis.hSet(apiKeyKeys.key(id), { hash: sha256(secret).toString('hex'), rotatedAt });
    return { outcome: 'rotated', key: `${API_KEY_PREFIX}${id}_${secret}`, info: { ...info, rotatedAt } };
  }

  /** Revoked keys stay listed (who had access, until when) but never verify again. */
  async revoke(id: string): Promise<ApiKeyInfo | undefined> {
    const info = await this.get(id);
    if (!info) return undefined;
    if (info.revoked) return info;
    const revokedAt = new Date(this.now()).toISOString();
    await this.redis.hSet(apiKeyKeys.key(id), { revoked: '1', revokedAt });
    return { ...info, revoked: true, revokedAt };
  }

  async verify(presented: string): Promise<Principal | undefined> {
    const parsed = parseApiKey(presented);
    if (!parsed) return undefined;
    const fields = await this.redis.hGetAll(apiKeyKeys.key(parsed.id));
    if (!fields.id || !fields.hash) return undefined;
    // Compare before looking at `revoked`, so a revoked key costs the same time as a wrong one.
    const matches = sameSecret(parsed.secret, Buffer.from(fields.hash, 'hex'));
    const info = fromFields(fields);
    if (!matches || info.revoked) return undefined;
    return keyPrincipal(info);
  }
}

export function keyPrincipal(info: ApiKeyInfo): Principal {
  return {
    kind: 'key',
    id: info.id,
    label: info.label,
    roles: info.roles,
    rights: rightsOf(info.roles),
    eventTypes: info.eventTypes,
    ...(info.warehouses ? { warehouses: info.warehouses } : {}),
  };
}

/**
 * Accepts one configured admin key besides the store's, so the first keys can be
 * made on a fresh install (EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY).
 */
export function withBootstrapKey(verifier: KeyVerifier, bootstrapKey: string | undefined): KeyVerifier {
  if (!bootstrapKey) return verifier;
  const expected = sha256(bootstrapKey);
  const principal = keyPrincipal({
    id: 'bootstrap',
    label: 'bootstrap admin key',
    roles: ['admin'],
    eventTypes: ['*'],
    createdAt: new Date(0).toISOString(),
    revoked: false,
  });
  return {
    verify: async (presented) => (sameSecret(presented, expected) ? principal : verifier.verify(presented)),
  };
}

function toFields(info: ApiKeyInfo): Record<string, string> {
  return {
    id: info.id,
    label: info.label,
    roles: JSON.stringify(info.roles),
    eventTypes: JSON.stringify(info.eventTypes),
    warehouses: JSON.stringify(info.warehouses ?? null),
    createdAt: info.createdAt,
    revoked: info.revoked ? '1' : '0',
  };
}

function fromFields(fields: Record<string, string>): ApiKeyInfo {
  const warehouses = JSON.parse(fields.warehouses ?? 'null') as string[] | null;
  return {
    id: fields.id!,
    label: fields.label ?? '',
    roles: JSON.parse(fields.roles ?? '[]') as RoleName[],
    eventTypes: JSON.parse(fields.eventTypes ?? '[]') as string[],
    ...(warehouses ? { warehouses } : {}),
    createdAt: fields.createdAt ?? '',
    ...(fields.rotatedAt ? { rotatedAt: fields.rotatedAt } : {}),
    revoked: fields.revoked === '1',
    ...(fields.revokedAt ? { revokedAt: fields.revokedAt } : {}),
  };
}
