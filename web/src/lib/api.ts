/**
 * The REST side (same origin): views for the as-of mode and one order's detail.
 * Expected failures are values carrying the server's RFC 9457 `detail`, so a page
 * can show exactly what the server said (e.g. the 501 of `?asOf=`).
 */
import type { ViewFilter, ViewName, ViewSnapshot, OrderDetail } from '../../../shared/views.ts';

export interface Problem {
  /** HTTP status, or 0 when the server could not be reached. */
  status: number;
  title: string;
  detail: string;
}

export type Fetched<T> = { ok: true; value: T } | { ok: false; problem: Problem };

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<Fetched<T>> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json, application/problem+json' }, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (signal?.aborted) throw error; // the caller moved on; nobody waits for this answer
    return { ok: false, problem: { status: 0, title: 'Server unreachable', detail: 'The EventDeck server could not be reached.' } };
  }
  if (response.ok) return { ok: true, value: (await response.json()) as T };
  return { ok: false, problem: await readProblem(response) };
}

async function readProblem(response: Response): Promise<Problem> {
  const fallback = { status: response.status, title: response.statusText || `HTTP ${response.status}`, detail: `The server answered ${response.status}.` };
  // Only a problem document has the fields we show; anything else (a proxy's HTML page) gets the fallback.
  if (!response.headers.get('content-type')?.includes('json')) return fallback;
  try {
    const body = (await response.json()) as { title?: unknown; detail?: unknown };
    return {
      status: response.status,
      title: typeof body.title === 'string' ? body.title : fallback.title,
      detail: typeof body.detail === 'string' ? body.detail : fallback.detail,
    };
  } catch {
    return fallback; // SyntaxError: a body that is not JSON after all
  }
}

export function viewUrl(view: ViewName, filter: ViewFilter, asOf?: string | null): string {
  const query = new URLSearchParams(filter);
  if (asOf) query.set('asOf', asOf);
  const search = query.toString();
  return `/api/views/${encodeURIComponent(view)}${search ? `?${search}` : ''}`;
}

export const fetchView = <V extends ViewName>(view: V, filter: ViewFilter, asOf: string | null, signal?: AbortSignal) =>
  getJson<ViewSnapshot<V>>(viewUrl(view, filter, asOf), signal);

export const fetchOrder = (orderId: string, signal?: AbortSignal) =>
  getJson<OrderDetail>(`/api/orders/${encodeURIComponent(orderId)}`, signal);
