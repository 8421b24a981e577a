/**
 * The event catalog as clients see it (`GET /api/catalog`): every registered
 * type and version with its fields, the projections that consume it, and the
 * sources that produced it over the last hour.
 */
import type { VersionStatus } from './registry.ts';
import type { Upcaster } from './upcast.ts';

/** One field of a data schema, flattened: nested fields are named by path (`items[].sku`). */
export interface CatalogField {
  /** Path from the data's root: `orderId`, `items[]`, `items[].qty`. */
  name: string;
  /** JSON Schema type(s) in words: `string`, `integer`, `array of object`, `enum`, `string | null`, `any`. */
  type: string;
  /** Required in its parent object (for `items[].qty`: in each item). */
  required: boolean;
  /** Readable constraints: `minLength 1`, `≥ 0`, `one of: web, app`, `pattern ^[A-Z]{3}$`. */
  constraints: string[];
  /** Marked `x-sensitive`: masked for readers without the right to see personal data. */
  sensitive: boolean;
  description: string | null;
}

export interface CatalogVersion {
  version: number;
  status: VersionStatus;
  deprecatedAt: string | null;
  fields: CatalogField[];
  /** The JSON Schema as registered. */
  schema: Record<string, unknown>;
  /** How data of the previous version is upcast to this one (rename, remove, defaults), if at all. */
  upcast: Upcaster | null;
}

/** A projection that reads the type, and the views it feeds. */
export interface CatalogConsumer {
  projection: string;
  views: string[];
}

/** One source that produced the type in the window. */
export interface CatalogProducer {
  source: string;
  events: number;
  /** Events per minute of business time, oldest first, one entry per minute of the window. */
  perMinute: number[];
  /** Business time of its latest event in the window. */
  lastAt: string;
}

export interface CatalogType {
  type: string;
  description: string;
  /** The partition key rule, e.g. `{orderId}` or `{warehouseId}:{sku}`. */
  partitionKey: string;
  latestVersion: number;
  versions: CatalogVersion[];
  consumers: CatalogConsumer[];
  /** Busiest first; null when this process has no event store to count from. */
  producers: CatalogProducer[] | null;
}

export interface Catalog {
  /** The minutes counted: `from` (inclusive) to `to` (exclusive), whole UTC minutes of business time. */
  window: { from: string; to: string; minutes: number };
  /** False without an event store: `producers` are then null. */
  history: boolean;
  types: CatalogType[];
}
