/**
 * The live contract (DESIGN.md section 7), typed for both sides of Socket.IO,
 * namespace `/live`. Any Socket.IO client can speak it.
 */
import type { ViewFilter, ViewName, ViewSnapshot } from './views.ts';

export const LIVE_NAMESPACE = '/live';

/**
 * The handshake's `auth`: `io(url + '/live', { auth: { token } })`, with an API key
 * (`edk_...`), a bearer JWT or an embed token; none in local mode. Checked on every
 * connection and reconnection; a function `auth: (cb) => cb({ token })` can hand a fresh one each time.
 */
export interface LiveHandshakeAuth {
  token?: string;
}

/** `data` of the `connect_error` of a refused handshake; its `message` says why (the problem's detail). */
export interface LiveConnectErrorData {
  /** 401: no or a bad credential; 503: it cannot be checked right now. */
  status: number;
  /** The problem type URI, as in the HTTP API's problem documents. */
  type: string;
}

export interface ViewSubscription {
  view: ViewName;
  filter: ViewFilter;
}

export type SubscribeAck = ({ ok: true } & ViewSnapshot) | { ok: false; error: string };

export interface ClientToServerEvents {
  /**
   * Subscribe to a (view, filter); the ack carries the snapshot, then `view:update`s follow.
   * Refused in the ack when the caller may not see it; when its credential expired or was
   * revoked, refused and the connection is closed.
   */
  'view:subscribe': (subscription: ViewSubscription, ack: (answer: SubscribeAck) => void) => void;
  'view:unsubscribe': (subscription: ViewSubscription) => void;
}

export interface ServerToClientEvents {
  /** The whole new state of a subscribed (view, filter); at most one per conflation interval. */
  'view:update': (update: ViewSnapshot) => void;
}

/**
 * A filter's canonical form: keys sorted, empty values dropped, so that
 * equal filters name one subscription whatever order they were written in.
 */
export function canonicalFilter(filter: ViewFilter): string {
  return JSON.stringify(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
