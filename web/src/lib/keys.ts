/**
 * The admin's REST calls for credentials (`/api/keys`, `/api/embed-tokens`,
 * docs/security.md). Failures are values carrying the server's problem document, as in api.ts.
 */
import type {
  AccessRole, ApiKeyInfo, EmbedTokenRequest, IssuedApiKeyInfo, MintedEmbedTokenInfo,
} from '../../../shared/access.ts';
import { deleteJson, getJson, postJson } from './api.ts';

export interface NewKeyRequest {
  label: string;
  roles: AccessRole[];
  eventTypes?: string[];
  warehouses?: string[];
}

const keyPath = (id: string) => `/api/keys/${encodeURIComponent(id)}`;

export const fetchKeys = (signal?: AbortSignal) => getJson<{ keys: ApiKeyInfo[] }>('/api/keys', signal);

/** 201 with the key's secret, shown this once. */
export const createKey = (request: NewKeyRequest) => postJson<IssuedApiKeyInfo>('/api/keys', request);

/** A new secret for the same key; the old one stops working at once. */
export const rotateKey = (id: string) => postJson<IssuedApiKeyInfo>(`${keyPath(id)}/rotate`, {});

export const revokeKey = (id: string) => deleteJson<ApiKeyInfo>(keyPath(id));

export const mintEmbedToken = (request: EmbedTokenRequest) => postJson<MintedEmbedTokenInfo>('/api/embed-tokens', request);

/** "a, b\nc" → ["a", "b", "c"]: lists typed into one field. */
export function splitList(text: string): string[] {
  return text.split(/[\s,]+/).map((item) => item.trim()).filter(Boolean);
}

/** The `<eventdeck-view>` a portal page drops in for an embed URL (docs/web.md, "Embedding in a portal"). */
export function widgetSnippet(origin: string, embedUrl: string): string {
  const url = new URL(embedUrl, origin);
  const view = decodeURIComponent(url.pathname.replace(/^\/embed\//, ''));
  const token = url.searchParams.get('token') ?? '';
  url.searchParams.delete('token');
  const filter = url.searchParams.toString();
  return [
    `<script type="module" src="${origin}/eventdeck-view.js"></script>`,
    `<eventdeck-view view="${escapeAttribute(view)}"${filter ? ` filter="${escapeAttribute(filter)}"` : ''} token="${escapeAttribute(token)}"`,
    '                style="display:block;height:320px"></eventdeck-view>',
  ].join('\n');
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
