/**
 * Query parameters, bound on our side for both backends. ClickHouse 18.16
 * (Debian's server) predates server-side `{name:Type}` parameters, so each
 * placeholder becomes `CAST(<literal> AS Type)` in the SQL text; chDB gets the
 * very same text, so both backends parse and type the values alike.
 */

/** A value a placeholder can take. Dates bind as epoch seconds (time-zone free). */
export type ParamValue = string | number | bigint | boolean | Date | null | readonly ParamValue[];

export type QueryParams = Readonly<Record<string, ParamValue>>;

/** A placeholder names a parameter the caller did not give, or a value has no SQL literal. */
export class QueryParamError extends Error {
  override readonly name = 'QueryParamError';
  readonly code = 'EVENTDECK_HISTORY_BAD_PARAM';
}

// `{name:Type}`, as ClickHouse writes them; Type may nest, e.g. Array(String), but holds no braces.
const placeholder = /\{([A-Za-z_][A-Za-z0-9_]*):\s*([^{}]+?)\s*\}/g;

/** The SQL with every `{name:Type}` replaced by a typed literal. */
export function bindParams(sql: string, params: QueryParams = {}): string {
  return sql.replace(placeholder, (_, name: string, type: string) => {
    if (!Object.hasOwn(params, name)) throw new QueryParamError(`query parameter "${name}" has no value`);
    return `CAST(${literal(params[name]!, name)} AS ${type})`;
  });
}

function literal(value: ParamValue, name: string): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new QueryParamError(`query parameter "${name}" is not a finite number`);
    return String(value);
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new QueryParamError(`query parameter "${name}" is an invalid Date`);
    return String(Math.floor(ms / 1000));
  }
  return `[${value.map((item) => literal(item, name)).join(', ')}]`;
}

/** A ClickHouse string literal: backslash escapes, so only `\` and `'` need them. */
function quote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}
