/**
 * Masks the fields a type's schemas mark `"x-sensitive": true` (DESIGN.md
 * section 3) in data about to leave the server: for readers without the
 * `pii:read` right in views and order details (server/views/mask-views.ts),
 * and for everyone in lineage and the dead-letter workbench, which show whole
 * events to people debugging a flow.
 *
 * A field counts as sensitive when ANY version of its type marks it: stored
 * events keep the version they were sent in, and a later version that drops
 * the mark (or renames the field) must not unmask older events. The values
 * masked are handed back too, to blot them out of free text about the event
 * (a projection's error message may quote them).
 */
import { MASKED, type CloudEvent, type JsonObject } from '../../shared/cloudevent.ts';
import type { EventTypeDefinition, Registry } from '../../shared/registry.ts';

export { MASKED };

/** Every key of an object, or every item of an array. */
const ANY = Symbol('any');
type Segment = string | typeof ANY;
export type SensitivePath = readonly Segment[];

/** Schemas nest deeper than any sane one; past this, a cycle of $refs is assumed and not followed. */
const MAX_DEPTH = 32;

/** The paths of the sensitive fields of a type, over all its versions (deduplicated). */
export function sensitivePaths(definition: EventTypeDefinition): SensitivePath[] {
  const found = new Map<string, SensitivePath>();
  for (const { schema } of definition.versions) {
    walk(schema, schema, [], 0, (path) => found.set(JSON.stringify(path.map((s) => (s === ANY ? null : s))), path));
  }
  return [...found.values()];
}

function walk(schema: unknown, root: unknown, path: Segment[], depth: number, found: (path: SensitivePath) => void): void {
  if (!isObject(schema) || depth > MAX_DEPTH) return;
  if (schema['x-sensitive'] === true) return found(path);
  const next = (child: unknown, segment?: Segment) => walk(child, root, segment === undefined ? path : [...path, segment], depth + 1, found);
  if (typeof schema.$ref === 'string') next(resolveLocalRef(root, schema.$ref));
  if (isObject(schema.properties)) for (const [name, child] of Object.entries(schema.properties)) next(child, name);
  if (isObject(schema.patternProperties)) for (const child of Object.values(schema.patternProperties)) next(child, ANY);
  next(schema.additionalProperties, ANY);
  for (const items of [schema.items, schema.prefixItems, schema.additionalItems]) {
    if (Array.isArray(items)) for (const child of items) next(child, ANY);
    else next(items, ANY);
  }
  for (const branches of [schema.allOf, schema.anyOf, schema.oneOf]) {
    if (Array.isArray(branches)) for (const child of branches) next(child);
  }
  next(schema.then);
  next(schema.else);
}

/** `#/$defs/x`-style references within the same schema; any other is not followed. */
function resolveLocalRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : undefined;
  }
  return node;
}

export interface MaskedData {
  data: Record<string, unknown>;
  /** JSON pointers into data of the values replaced, sorted. */
  masked: string[];
  /** The scalar values replaced, as text. */
  hidden: string[];
}

/**
 * A copy of data with the values at those paths replaced by MASKED. Data of a
 * type the registry does not know (any more) is withheld whole: nobody can
 * tell which of its fields are personal.
 */
export function maskSensitive(data: unknown, definition: EventTypeDefinition | undefined): MaskedData {
  if (!definition || !isObject(data)) return { data: {}, masked: [''], hidden: collect(data) };
  const copy = structuredClone(data);
  const masked = new Set<string>();
  const hidden: string[] = [];
  for (const path of sensitivePaths(definition)) maskAt(copy, path, '', masked, hidden);
  return { data: copy, masked: [...masked].sort(), hidden };
}

/** An event with its data masked, and the values hidden. */
export function maskEvent(registry: Registry, event: CloudEvent): { value: CloudEvent; hidden: string[] } {
  const { data, hidden } = maskSensitive(event.data, registry.get(event.type));
  return { value: { ...event, data: data as JsonObject }, hidden };
}

/**
 * Text with the hidden values replaced by MASKED, longest first. Values shorter
 * than 3 characters are left alone: blotting every "1" out of a message would
 * hide more than it protects.
 */
export function blotOut(text: string, hidden: readonly string[]): string {
  let out = text;
  for (const value of [...new Set(hidden)].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(value).join(MASKED);
  }
  return out;
}

/** Every scalar in a value, as text. */
function collect(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') into.push(String(value));
  else if (Array.isArray(value)) for (const item of value) collect(item, into);
  else if (isObject(value)) for (const item of Object.values(value)) collect(item, into);
  return into;
}

function maskAt(node: unknown, path: SensitivePath, pointer: string, masked: Set<string>, hidden: string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !(isObject(node) || Array.isArray(node))) return;
  const container = node as Record<string, unknown>;
  const keys = head === ANY ? Object.keys(container) : Object.hasOwn(container, head) ? [head] : [];
  for (const key of keys) {
    const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (rest.length > 0) maskAt(container[key], rest, at, masked, hidden);
    else if (container[key] !== undefined && container[key] !== null && container[key] !== MASKED) {
      collect(container[key], hidden);
      container[key] = MASKED;
      masked.add(at);
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
