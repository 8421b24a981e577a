/**
 * Bearer JWTs for people, issued by the organisation's identity provider (or
 * by hand with a shared secret), verified with jose.
 *
 * Each kind of key has a fixed allow-list of algorithms: HS256 for a secret,
 * RS256/ES256 for a JWKS. The header's `alg` never chooses the key type, so an
 * `alg: none` token, or an HS256 token "signed" with a public RSA key, is refused.
 */
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify,
  type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey,
} from 'jose';
import { EMBED_TOKEN_TYPE } from './embed-tokens.ts';
import { defaultEventTypes, isRoleName, rightsOf, type Principal } from './principal.ts';

export type JwtConfig =
  | { secret: string; issuer?: string; audience?: string }
  | { jwksFile: string; issuer?: string; audience?: string }
  | { jwksUrl: string; issuer?: string; audience?: string };

export type JwtFailure =
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'bad-algorithm'
  | 'bad-claims'
  | 'malformed'
  | 'unknown-key'
  | 'jwks-unavailable';

export type JwtResult = { ok: true; principal: Principal } | { ok: false; reason: JwtFailure; message: string };

export interface JwtVerifier {
  verify(token: string): Promise<JwtResult>;
}

/** Allowed clock difference between the identity provider and us. */
const CLOCK_TOLERANCE_S = 5;

/** A JWKS URL could not be fetched or read: the fault is ours or the provider's, not the caller's. */
class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable';
  readonly code = 'EVENTDECK_JWKS_UNAVAILABLE';
}

/** The config names a JWKS file that cannot be used; found at start, not at the first request. */
export class JwksFileError extends Error {
  override readonly name = 'JwksFileError';
  readonly code = 'EVENTDECK_JWKS_FILE_INVALID';
}

export function createJwtVerifier(config: JwtConfig, now: () => number = Date.now): JwtVerifier {
  const { key, algorithms } = keyOf(config);
  return {
    async verify(token) {
      try {
        const { payload, protectedHeader } = await jwtVerify(token, key as JWTVerifyGetKey, {
          algorithms,
          ...(config.issuer ? { issuer: config.issuer } : {}),
          ...(config.audience ? { audience: config.audience } : {}),
          clockTolerance: CLOCK_TOLERANCE_S,
          currentDate: new Date(now()),
          requiredClaims: ['sub', 'exp'],
        });
        // An embed token is never a person, even if someone gave both the same secret.
        if (protectedHeader.typ === EMBED_TOKEN_TYPE) return bad('An embed token is not a sign-in token.');
        return toPrincipal(payload);
      } catch (error) {
        return failure(error);
      }
    },
  };
}

function keyOf(config: JwtConfig): { key: Uint8Array | JWTVerifyGetKey; algorithms: string[] } {
  if ('secret' in config) return { key: new TextEncoder().encode(config.secret), algorithms: ['HS256'] };
  const algorithms = ['RS256', 'ES256'];
  if ('jwksFile' in config) return { key: createLocalJWKSet(readJwksFile(config.jwksFile)), algorithms };
  const remote = createRemoteJWKSet(new URL(config.jwksUrl));
  // Tell "the provider did not answer" apart from "no key fits this token": only the second is the caller's fault.
  const key: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new JwksUnavailable(`The JWKS at ${config.jwksUrl} could not be read: ${(error as Error).message}`, { cause: error });
    }
  };
  return { key, algorithms };
}

function readJwksFile(file: string): JSONWebKeySet {
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new JwksFileError(`EVENTDECK_AUTH_JWKS_FILE names ${file}, which is not a readable JSON file: ${(error as Error).message}`);
  }
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw new JwksFileError(`EVENTDECK_AUTH_JWKS_FILE ${file} is not a JSON Web Key Set ({"keys": [...]})`);
  }
  return jwks as JSONWebKeySet;
}

const stringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/** Claims to a caller: `roles` (unknown names ignored), optional `warehouses`, `eventTypes` and extra `rights`. */
function toPrincipal(payload: JWTPayload): JwtResult {
  const { sub, roles = [], warehouses, eventTypes, rights = [], name, email, exp } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || sub === '') return bad('The token has no subject (`sub`).');
  if (!stringArray(roles)) return bad('The `roles` claim must be an array of role names.');
  if (warehouses !== undefined && !stringArray(warehouses)) return bad('The `warehouses` claim must be an array of warehouse ids.');
  if (eventTypes !== undefined && !stringArray(eventTypes)) return bad('The `eventTypes` claim must be an array of type patterns.');
  if (!stringArray(rights)) return bad('The `rights` claim must be an array of right names.');
  const known = roles.filter(isRoleName);
  return {
    ok: true,
    principal: {
      kind: 'user',
      id: sub,
      label: typeof name === 'string' ? name : typeof email === 'string' ? email : sub,
      roles: known,
      rights: rightsOf(known, rights),
      eventTypes: eventTypes ?? defaultEventTypes(known),
      ...(warehouses ? { warehouses } : {}),
      // `exp` is a required claim, so every user principal has an expiry.
      ...(typeof exp === 'number' ? { expiresAt: exp * 1000 } : {}),
    },
  };
}

const bad = (message: string): JwtResult => ({ ok: false, reason: 'bad-claims', message });

function failure(error: unknown): JwtResult {
  const fail = (reason: JwtFailure, message: string): JwtResult => ({ ok: false, reason, message });
  if (error instanceof JwksUnavailable) return fail('jwks-unavailable', error.message);
  if (error instanceof errors.JWTExpired) {
    const exp = typeof error.payload.exp === 'number' ? ` at ${new Date(error.payload.exp * 1000).toISOString()}` : '';
    return fail('expired', `The bearer token expired${exp}; sign in again for a new one.`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return fail('not-yet-valid', 'The bearer token is not valid yet (check the clocks).');
    return fail('bad-claims', `The bearer token was refused: ${error.message} (claim "${error.claim}").`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return fail('bad-signature', 'The bearer token\'s signature is not valid: it was changed, or signed with another key.');
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return fail('bad-algorithm', `The bearer token's algorithm is not accepted here: ${error.message}.`);
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return fail('unknown-key', 'No key of the identity provider\'s key set matches the bearer token.');
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return fail('malformed', `The bearer token is not a well-formed JWT: ${error.message}.`);
  }
  throw error;
}
