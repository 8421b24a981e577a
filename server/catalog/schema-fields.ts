/**
 * A data schema as a table of fields for people: each property, nested ones
 * by path (`items[].sku`), with its type, whether it is required, its
 * constraints in words, and whether it is sensitive. Pure.
 */
import type { CatalogField } from '../../shared/catalog.ts';

/** Nesting deeper than this is shown as its type only (and stops $ref cycles). */
const MAX_DEPTH = 8;

export function schemaFields(schema: Record<string, unknown>): CatalogField[] {
  const fields: CatalogField[] = [];
  addProperties(resolve(schema, schema), schema, '', 0, fields);
  return fields;
}

function addProperties(schema: Record<string, unknown>, root: Record<string, unknown>, prefix: string, depth: number, out: CatalogField[]): void {
  if (depth > MAX_DEPTH || !isObject(schema.properties)) return;
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
  for (const [name, raw] of Object.entries(schema.properties)) {
    const field = resolve(raw, root);
    const path = `${prefix}${name}`;
    out.push(describeField(path, field, required.has(name), root));
    addChildren(field, root, path, depth, out);
  }
}

/** The fields inside an object field (`address.city`) or inside an array's items (`items[].sku`). */
function addChildren(field: Record<string, unknown>, root: Record<string, unknown>, path: string, depth: number, out: CatalogField[]): void {
  if (isObject(field.properties)) addProperties(field, root, `${path}.`, depth + 1, out);
  const items = resolve(field.items, root);
  if (isObject(field.items)) {
    if (isObject(items.properties)) addProperties(items, root, `${path}[].`, depth + 1, out);
    else if (isObject(items.items)) {
      // An array of arrays: show the inner array as a field of its own.
      out.push(describeField(`${path}[]`, items, true, root));
      addChildren(items, root, `${path}[]`, depth + 1, out);
    }
  }
}

function describeField(name: string, field: Record<string, unknown>, required: boolean, root: Record<string, unknown>): CatalogField {
  return {
    name,
    type: typeOf(field, root),
    required,
    constraints: constraintsOf(field),
    sensitive: field['x-sensitive'] === true,
    description: typeof field.description === 'string' ? field.description : null,
  };
}

function typeOf(field: Record<string, unknown>, root: Record<string, unknown>): string {
  if (Array.isArray(field.enum)) return 'enum';
  if ('const' in field) return 'const';
  const type = field.type;
  if (type === 'array' && isObject(field.items)) return `array of ${typeOf(resolve(field.items, root), root)}`;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.join(' | ');
  for (const combinator of ['oneOf', 'anyOf', 'allOf'] as const) {
    const branches = field[combinator];
    if (Array.isArray(branches)) {
      return branches.map((b) => typeOf(resolve(b, root), root)).join(combinator === 'allOf' ? ' & ' : ' | ');
    }
  }
  if (isObject(field.properties)) return 'object';
  return 'any';
}

/** The usual JSON Schema keywords, in words; anything else stays readable in the raw schema. */
function constraintsOf(field: Record<string, unknown>): string[] {
  const out: string[] = [];
  const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  if (Array.isArray(field.enum)) out.push(`one of: ${field.enum.map(show).join(', ')}`);
  if ('const' in field) out.push(`always ${show(field.const)}`);
  if (typeof field.format === 'string') out.push(`format ${field.format}`);
  if (typeof field.pattern === 'string') out.push(`pattern ${field.pattern}`);
  const bounds: Array<[string, string]> = [
    ['minimum', '≥'], ['exclusiveMinimum', '>'], ['maximum', '≤'], ['exclusiveMaximum', '<'], ['multipleOf', 'multiple of'],
    ['minLength', 'minLength'], ['maxLength', 'maxLength'], ['minItems', 'minItems'], ['maxItems', 'maxItems'],
    ['minProperties', 'minProperties'], ['maxProperties', 'maxProperties'],
  ];
  for (const [keyword, words] of bounds) {
    if (typeof field[keyword] === 'number') out.push(`${words} ${field[keyword]}`);
  }
  if (field.uniqueItems === true) out.push('unique items');
  if (field.additionalProperties === false) out.push('no other fields');
  if ('default' in field) out.push(`default ${show(field.default)}`);
  return out;
}

/** Follows a local `$ref` (`#/$defs/address`); anything else is taken as it is. */
function resolve(schema: unknown, root: Record<string, unknown>, seen = 0): Record<string, unknown> {
  if (!isObject(schema)) return {};
  if (typeof schema.$ref !== 'string' || !schema.$ref.startsWith('#') || seen > MAX_DEPTH) return schema;
  let node: unknown = root;
  for (const raw of schema.$ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : undefined;
  }
  // Keywords beside the $ref (a description, x-sensitive) are kept over the target's.
  const { $ref: _ref, ...beside } = schema;
  return { ...resolve(node, root, seen + 1), ...beside };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
