/**
 * Declarative upcasters: a version's data is made from the previous version's
 * by renaming, defaulting and removing fields. Being data, an upcaster can be
 * written in the JSON config and runs the same in every process.
 */
import type { JsonObject } from './cloudevent.ts';

export interface Upcaster {
  /** old field name → new field name (top level of data). */
  rename?: Record<string, string>;
  /** fields added with this value when absent. */
  defaults?: Record<string, unknown>;
  /** fields dropped. */
  remove?: string[];
}

export function upcastData(upcaster: Upcaster, data: JsonObject): JsonObject {
  const next: JsonObject = { ...data };
  for (const [from, to] of Object.entries(upcaster.rename ?? {})) {
    if (from in next) {
      next[to] = next[from];
      delete next[from];
    }
  }
  for (const field of upcaster.remove ?? []) delete next[field];
  for (const [field, value] of Object.entries(upcaster.defaults ?? {})) {
    if (!(field in next)) next[field] = structuredClone(value);
  }
  return next;
}
