/**
 * The three answers of POST /api/query and how a request picks one: the body's
 * "format" wins; without it the Accept header decides (by q-value, then
 * order); without either, or when Accept names none of them, JSON.
 */
import type { OutputFormat } from './analyst-sql.ts';

export const QUERY_FORMATS = ['json', 'csv', 'ndjson'] as const;
export type QueryFormat = (typeof QUERY_FORMATS)[number];

/** The media type of each answer and the ClickHouse format that writes it. */
export const FORMAT_OUTPUT: Readonly<Record<QueryFormat, { contentType: string; clickhouse: OutputFormat }>> = {
  // ClickHouse's JSON: {meta: [{name, type}], data: [{column: value}], rows, rows_before_limit_at_least?, statistics}
  json: { contentType: 'application/json; charset=utf-8', clickhouse: 'JSON' },
  // RFC 4180 with a header row of column names.
  csv: { contentType: 'text/csv; charset=utf-8; header=present', clickhouse: 'CSVWithNames' },
  // One JSON object per row and line.
  ndjson: { contentType: 'application/x-ndjson', clickhouse: 'JSONEachRow' },
};

const BY_MEDIA_TYPE: Readonly<Record<string, QueryFormat>> = {
  'application/json': 'json',
  'application/*': 'json',
  '*/*': 'json',
  'text/csv': 'csv',
  'text/*': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
};

export function chooseFormat(bodyFormat: QueryFormat | undefined, accept: string | undefined): QueryFormat {
  if (bodyFormat) return bodyFormat;
  const ranges = (accept ?? '').split(',').map((range, order) => {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { type, q: q ? Number(q.slice(2)) : 1, order };
  });
  const best = ranges
    .filter((r) => BY_MEDIA_TYPE[r.type] !== undefined && r.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order)[0];
  return best ? BY_MEDIA_TYPE[best.type]! : 'json';
}
