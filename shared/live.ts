/**
 * The live contract (DESIGN.md section 7), typed for both sides of Socket.IO,
 * namespace `/live`. Any Socket.IO client can speak it.
 */
import type { ViewFilter, ViewName, ViewSnapshot } from './views.ts';

export const LIVE_NAMESPACE = '/live';

export interface ViewSubscription {
  view: ViewName;
  filter: ViewFilter;
}

export type SubscribeAck = ({ ok: true } & ViewSnapshot) | { ok: false; error: string };

export interface ClientToServerEvents {
  /** Subscribe to a (view, filter); the ack carries the snapshot, then `view:update`s follow. */
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
