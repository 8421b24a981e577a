/**
 * Embed tokens: short-lived, signed permission to show one view with one filter
 * inside another site's page (`/embed/:view?...&token=`).
 *
 * A compact JWS (HS256) signed with EventDeck's own embed secret, never with the
 * identity provider's keys: a leaked token opens one widget for minutes, nothing else.
 * Its header says `typ: eventdeck-embed+jwt`, so it is never taken for a user's JWT.
 */
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, SignJWT } from 'jose';
import { canonicalFilter, type Principal } from './principal.ts';

export const EMBED_TOKEN_TYPE = 'eventdeck-embed+jwt';
const ISSUER = 'eventdeck';
const AUDIENCE = 'eventdeck-embed';

export const EMBED_TTL_DEFAULT_S = 15 * 60;
export const EMBED_TTL_MAX_S = 24 * 3600;

export interface MintOptions {
  /** Seconds until it expires: default 15 minutes, at most 24 hours. */
  ttlSeconds?: number;
  /** Origins allowed to frame the widget (CSP frame-ancestors), e.g. https://portal.example.com. */
  origins?: string[];
  /** Who minted it (kept in the token as `sub`, for audit). */
  mintedBy?: string;
}

export interface MintedEmbedToken {
  token: string;
  expiresAt: string;
}

export type EmbedFailure = 'expired' | 'invalid' | 'other-view' | 'other-filter';
export type EmbedResult = { ok: true; principal: Principal } | { ok: false; reason: EmbedFailure; message: string };

export interface EmbedTokens {
  mint(view: string, filter: Record<string, string>, options?: MintOptions): Promise<MintedEmbedToken>;
  /** Checks signature and expiry only; the caller checks view and filter (mayView). */
  open(token: string): Promise<EmbedResult>;
  /** Checks signature, expiry, and that the token is for exactly this view and filter. */
  verify(token: string, view: string, filter: Record<string, string>): Promise<EmbedResult>;
}

/** A bad mint request: the route answers 400 with the message. */
export class EmbedMintError extends Error {
  override readonly name = 'EmbedMintError';
  readonly code = 'EVENTDECK_EMBED_MINT_INVALID';
}

/** Whether a bearer token is meant as an embed token (unverified: it only picks the verifier). */
export function looksLikeEmbedToken(token: string): boolean {
  try {
    return decodeProtectedHeader(token).typ === EMBED_TOKEN_TYPE;
  } catch {
    return false; // not a JWS at all: the other verifiers will say why
  }
}

/** "https://portal.example.com/x" → "https://portal.example.com"; anything but an http(s) origin is refused. */
export function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new EmbedMintError(`"${origin}" is not an origin such as https://portal.example.com.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new EmbedMintError(`"${origin}" is not an http(s) origin.`);
  }
  return url.origin;
}

/** The Content-Security-Policy value for an embed page: only these origins may frame it. */
export function frameAncestors(origins: readonly string[]): string {
  // Origins are normalized when minted; filtering again keeps a header injection impossible.
  const safe = origins.filter((o) => /^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(o));
  return `frame-ancestors ${safe.length > 0 ? safe.join(' ') : "'none'"}`;
}

export function createEmbedTokens(secret: string, now: () => number = Date.now): EmbedTokens {
  const key = new TextEncoder().encode(secret);

  async function open(token: string): Promise<EmbedResult> {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        typ: EMBED_TOKEN_TYPE,
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'jti'],
      });
      const { view, filter, origins } = payload as Record<string, unknown>;
      if (typeof view !== 'string' || !isStringRecord(filter) || !isStringArray(origins)) {
        return { ok: false, reason: 'invalid', message: 'The embed token does not name a view and filter.' };
      }
      return {
        ok: true,
        principal: {
          kind: 'embed',
          id: payload.jti!,
          label: `embed of ${view}${Object.keys(filter).length ? `?${canonicalFilter(filter)}` : ''}`,
          roles: [],
          rights: new Set(['views:read']),
          eventTypes: [],
          ...(filter.warehouseId !== undefined ? { warehouses: [filter.warehouseId] } : {}),
          embed: { view, filter, origins },
          expiresAt: payload.exp! * 1000,
        },
      };
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        const exp = typeof error.payload.exp === 'number' ? ` at ${new Date(error.payload.exp * 1000).toISOString()}` : '';
        return { ok: false, reason: 'expired', message: `The embed token expired${exp}; ask an admin for a new one.` };
      }
      if (error instanceof errors.JOSEError) {
        return { ok: false, reason: 'invalid', message: 'The embed token is not valid: it was changed, or was not made by this EventDeck.' };
      }
      throw error;
    }
  }

  return {
    async mint(view, filter, options = {}) {
      const ttl = options.ttlSeconds ?? EMBED_TTL_DEFAULT_S;
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > EMBED_TTL_MAX_S) {
        throw new EmbedMintError(`ttlSeconds must be a whole number from 1 to ${EMBED_TTL_MAX_S} (24 hours), not ${ttl}.`);
      }
      const origins = [...new Set((options.origins ?? []).map(normalizeOrigin))];
      const iat = Math.floor(now() / 1000);
      const token = await new SignJWT({ view, filter: { ...filter }, origins })
        .setProtectedHeader({ alg: 'HS256', typ: EMBED_TOKEN_TYPE })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl)
        .setSubject(options.mintedBy ?? 'unknown')
        .sign(key);
      return { token, expiresAt: new Date((iat + ttl) * 1000).toISOString() };
    },
    open,
    async verify(token, view, filter) {
      const opened = await open(token);
      if (!opened.ok) return opened;
      const embed = opened.principal.embed!;
      if (embed.view !== view) {
        return { ok: false, reason: 'other-view', message: `This embed token is for the view "${embed.view}", not "${view}".` };
      }
      if (canonicalFilter(embed.filter) !== canonicalFilter(filter)) {
        const shown = (f: Record<string, string>) => (Object.keys(f).length ? canonicalFilter(f) : 'no filter');
        return {
          ok: false,
          reason: 'other-filter',
          message: `This embed token is for ${shown(embed.filter)}, not ${shown(filter)}.`,
        };
      }
      return opened;
    },
  };
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((s) => typeof s === 'string');
