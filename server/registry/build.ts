/**
 * Builds the registry from the built-in types and the types of the config
 * file. A config entry for an existing type adds versions to it, or changes
 * the status of one it has (e.g. deprecates version 1).
 */
import { orderFulfilmentTypes } from '../../shared/event-types/order-fulfilment.ts';
import { createRegistry, type EventTypeDefinition, type Registry, type TypeVersion } from '../../shared/registry.ts';
import { ConfigError, type UserTypeDefinition } from '../config.ts';

export function buildRegistry(userTypes: readonly UserTypeDefinition[] = []): Registry {
  const types = new Map<string, EventTypeDefinition>(
    orderFulfilmentTypes.map((t) => [t.type, structuredClone(t)]),
  );
  for (const user of userTypes) {
    const existing = types.get(user.type);
    const versions = new Map<number, TypeVersion>((existing?.versions ?? []).map((v) => [v.version, v]));
    for (const v of user.versions) {
      const before = versions.get(v.version);
      const schema = v.schema ?? before?.schema;
      if (!schema) {
        throw new ConfigError(`registry: ${user.type} version ${v.version} is new and needs a "schema"`);
      }
      versions.set(v.version, {
        version: v.version,
        status: v.status,
        schema,
        ...(v.upcast ?? before?.upcast ? { upcast: v.upcast ?? before?.upcast } : {}),
        ...(v.deprecatedAt ? { deprecatedAt: v.deprecatedAt } : {}),
      });
    }
    const numbers = [...versions.keys()].sort((a, b) => a - b);
    if (numbers.some((n, i) => n !== i + 1)) {
      throw new ConfigError(`registry: versions of ${user.type} must run 1, 2, 3… without gaps; got ${numbers.join(', ')}`);
    }
    const partitionKey = user.partitionKey ?? existing?.partitionKey;
    if (!partitionKey) {
      throw new ConfigError(`registry: ${user.type} needs a "partitionKey" rule such as "{orderId}"`);
    }
    types.set(user.type, {
      type: user.type,
      description: user.description ?? existing?.description ?? '',
      partitionKey,
      versions: [...versions.values()],
    });
  }
  return createRegistry(types.values());
}
