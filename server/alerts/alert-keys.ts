/** Where alerts live in Redis. */
import { KEY_PREFIX } from '../../shared/streams.ts';

/** The view whose version grows with each alert change. */
export const ALERTS_VIEW = 'alerts';

export const alertKeys = {
  /** HASH of one alert's fields. */
  alert: (id: string) => `${KEY_PREFIX}:alert:${id}`,
  /** HASH key → id of a rule's open (firing or acknowledged) alerts. */
  open: (rule: string) => `${KEY_PREFIX}:alerts:open:${rule}`,
  /** ZSET id → time of its last change (ms). */
  byChange: `${KEY_PREFIX}:alerts:by-change`,
  /** ZSET of the firing (not yet acknowledged) alerts' ids → first fired (ms): the overview counts it. */
  firing: `${KEY_PREFIX}:alerts:firing`,
  /**
   * STREAM of every change (fired, acknowledged, resolved), with the alert as it was then: the
   * outbox that webhooks are delivered from, written in the same Lua call as the change.
   */
  changes: `${KEY_PREFIX}:alerts:changes`,
  /** Counter of alert ids. */
  sequence: `${KEY_PREFIX}:alerts:sequence`,
} as const;
