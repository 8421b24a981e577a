/**
 * Who the caller is and what it may do, as the web app and scripts see it
 * (`GET /api/me`), and the credential routes' shapes (`/api/keys`,
 * `/api/embed-tokens`, docs/security.md). Rights are plain strings here: the
 * server's list (server/auth/principal.ts) is the authority.
 */

/** The roles an API key or a JWT can carry (docs/security.md); server/auth/me-routes.ts checks they are the server's. */
export const ACCESS_ROLES = ['producer', 'viewer', 'operator', 'analyst', 'admin'] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

/** `GET /api/me`: the caller of this request. */
export interface Me {
  /** How the caller proved who it is; "local" in local mode (no authentication configured). */
  kind: 'key' | 'user' | 'embed' | 'local';
  /** Key id, JWT subject, embed token id, or "local". */
  id: string;
  /** For people to read: a key's label, a user's name or e-mail. */
  label: string;
  roles: AccessRole[];
  /** Every right the caller has (e.g. `views:read`, `keys:manage`), sorted. */
  rights: string[];
  /** The warehouses whose data the caller may see; absent: all of them. */
  warehouses?: string[];
  /** RFC 3339, when the credential stops working (a JWT's or an embed token's `exp`); absent: until revoked. */
  expiresAt?: string;
}

/** What may be shown of an API key (`GET /api/keys`): never its secret. `Role` narrows the role names on the server. */
export interface ApiKeyInfo<Role extends string = AccessRole> {
  id: string;
  label: string;
  roles: Role[];
  /** Event type patterns it may publish (`order.*`, `*`). */
  eventTypes: string[];
  /** Undefined: every warehouse. */
  warehouses?: string[];
  /** RFC 3339. */
  createdAt: string;
  rotatedAt?: string;
  revoked: boolean;
  revokedAt?: string;
}

/** `POST /api/keys` and `POST /api/keys/:id/rotate`: the key with its secret, in this answer only. */
export type IssuedApiKeyInfo = ApiKeyInfo & { key: string };

/** `POST /api/embed-tokens`' body. */
export interface EmbedTokenRequest {
  view: string;
  filter: Record<string, string>;
  /** Default 900, at most 86400. */
  ttlSeconds?: number;
  /** Origins that may frame the widget, e.g. https://portal.example.com. */
  origins: string[];
}

/** `POST /api/embed-tokens`' answer: `url` is the embed page's path with its filter and token. */
export interface MintedEmbedTokenInfo {
  token: string;
  /** RFC 3339. */
  expiresAt: string;
  url: string;
  mintedBy: string;
}
