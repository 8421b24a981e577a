/**
 * The schema registry as data: event types, their versions, status and
 * partition key rule. The server validates against it; projections upcast with it.
 */
import type { CloudEvent, JsonObject } from './cloudevent.ts';
import { upcastData, type Upcaster } from './upcast.ts';

/** active: accepted; deprecated: accepted with a Deprecation header; retired: rejected. */
export type VersionStatus = 'active' | 'deprecated' | 'retired';

export interface TypeVersion {
  version: number;
  status: VersionStatus;
  /** JSON Schema of `data` for this version. */
  schema: JsonObject;
  /** How to turn data of the previous version into this one (absent for version 1). */
  upcast?: Upcaster;
  /** When the version was deprecated (RFC 3339), for the Deprecation header. */
  deprecatedAt?: string;
}

export interface EventTypeDefinition {
  type: string;
  description?: string;
  /**
   * Partition key rule: a template over data fields, e.g. "{orderId}" or
   * "{warehouseId}:{sku}". Events of one key keep their order.
   */
  partitionKey: string;
  versions: TypeVersion[];
}

export type Registry = ReadonlyMap<string, EventTypeDefinition>;

export function createRegistry(types: Iterable<EventTypeDefinition>): Registry {
  const registry = new Map<string, EventTypeDefinition>();
  for (const definition of types) {
    const versions = [...definition.versions].sort((a, b) => a.version - b.version);
    registry.set(definition.type, { ...definition, versions });
  }
  return registry;
}

/** The newest version of a type: what projections see after upcasting. */
export function latestVersion(definition: EventTypeDefinition): number {
  return definition.versions[definition.versions.length - 1]?.version ?? 1;
}

export function findVersion(definition: EventTypeDefinition, version: number): TypeVersion | undefined {
  return definition.versions.find((v) => v.version === version);
}

const TEMPLATE_FIELD = /\{([^{}]+)\}/g;

/** The data fields a partition key rule reads. */
export function partitionKeyFields(rule: string): string[] {
  return [...rule.matchAll(TEMPLATE_FIELD)].map((m) => m[1]!);
}

/**
 * Applies a partition key rule to an event's data. Returns undefined when a
 * field the rule names is missing (the schema normally prevents that).
 */
export function applyPartitionKeyRule(rule: string, data: JsonObject): string | undefined {
  let missing = false;
  const key = rule.replace(TEMPLATE_FIELD, (_, field: string) => {
    const value = data[field];
    if (typeof value !== 'string' && typeof value !== 'number') {
      missing = true;
      return '';
    }
    return String(value);
  });
  return missing ? undefined : key;
}

/**
 * Brings an event's data to the newest version of its type by applying each
 * upcaster in turn. Events of unknown types, or already newest, come back as they are.
 */
export function upcast(registry: Registry, event: CloudEvent): CloudEvent {
  const definition = registry.get(event.type);
  if (!definition) return event;
  let data = event.data;
  let version = event.dataversion;
  for (const step of definition.versions) {
    if (step.version <= version) continue;
    data = step.upcast ? upcastData(step.upcast, data) : data;
    version = step.version;
  }
  return version === event.dataversion ? event : { ...event, data, dataversion: version };
}
