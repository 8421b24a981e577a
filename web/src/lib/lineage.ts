/**
 * The lineage and catalog reads over REST (GET /api/lineage…, GET /api/catalog),
 * and how a flow's events read: times to the millisecond, as gaps between
 * steps of a saga are often under a second.
 */
import type { Catalog } from '../../../shared/catalog.ts';
import type { Lineage, TraceLineage } from '../../../shared/lineage.ts';
import { getJson } from './api.ts';
import { formatDuration } from './format.ts';

export const lineageHref = (correlationId: string): string => `/lineage/${encodeURIComponent(correlationId)}`;

export const fetchLineage = (correlationId: string, signal?: AbortSignal) =>
  getJson<Lineage>(`/api/lineage/${encodeURIComponent(correlationId)}`, signal);

export const fetchTrace = (traceId: string, signal?: AbortSignal) =>
  getJson<TraceLineage>(`/api/lineage?traceId=${encodeURIComponent(traceId)}`, signal);

export const fetchCatalog = (signal?: AbortSignal) => getJson<Catalog>('/api/catalog', signal);

/** A 32-hex-digit W3C trace id, or else a correlation id: what the lineage search box was given. */
export const isTraceId = (text: string): boolean => /^[0-9a-fA-F]{32}$/.test(text);

let timeFormat: Intl.DateTimeFormat | undefined;

/** Time of day to the millisecond, in the browser's locale and zone. */
export function formatPreciseTime(iso: string): string {
  timeFormat ??= new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 });
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : timeFormat.format(date);
}

let secondsFormat: Intl.NumberFormat | undefined;

/** A gap between two steps: milliseconds under a second, seconds to the millisecond under a minute, else minutes and seconds. */
export function formatGap(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) < 1_000 || Math.abs(ms) >= 60_000) return formatDuration(ms);
  secondsFormat ??= new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
  return `${ms < 0 ? '−' : ''}${secondsFormat.format(Math.abs(ms) / 1000)} s`;
}
