/**
 * The REST side (same origin): views for the as-of mode, one order's detail,
 * and acknowledging an alert. Expected failures are values carrying the
 * server's RFC 9457 `detail`, so a page can show exactly what the server said
 * (e.g. the 501 of `?asOf=`, the 409 of acknowledging an alert that resolved).
 * Every request carries this page's credential (credentials.svelte.ts), and a
 * 401 is reported there: that is what asks the user to sign in.
 */
import type { Me } from '../../../shared/access.ts';
import type { Alert } from '../../../shared/alerts.ts';
import type { ViewFilter, ViewName, ViewSnapshot, OrderDetail } from '../../../shared/views.ts';
import { credentials } from './credentials.svelte.ts';

export interface Problem {
  /** HTTP status, or 0 when the server could not be reached. */
  status: number;
  title: string;
  detail: string;
}

export type Fetched<T> = { ok: true; value: T } | { ok: false; problem: Problem };

const ACCEPT = 'application/json, application/problem+json';

export const getJson = <T>(url: string, signal?: AbortSignal): Promise<Fetched<T>> =>
  request<T>(url, { headers: { accept: ACCEPT } }, signal);

export const postJson = <T>(url: string, body: unknown, signal?: AbortSignal): Promise<Fetched<T>> =>
  request<T>(url, { method: 'POST', headers: { accept: ACCEPT, 'content-type': 'application/json' }, body: JSON.stringify(body) }, signal);

export const deleteJson = <T>(url: string, signal?: AbortSignal): Promise<Fetched<T>> =>
  request<T>(url, { method: 'DELETE', headers: { accept: ACCEPT } }, signal);

/**
 * GET /api/me: who this page's credential is, or, with `candidate`, who that
 * credential would be (a sign-in attempt: its 401 is the dialog's to show, not a refusal of the page).
 */
export const fetchMe = (candidate?: string) =>
  candidate === undefined
    ? getJson<Me>('/api/me')
    : request<Me>('/api/me', { headers: { accept: ACCEPT } }, undefined, { token: candidate, report: false });

async function request<T>(
  url: string,
  init: RequestInit,
  signal?: AbortSignal,
  { token = credentials.token, report = true }: { token?: string | null; report?: boolean } = {},
): Promise<Fetched<T>> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (signal?.aborted) throw error; // the caller moved on; nobody waits for this answer
    return { ok: false, problem: { status: 0, title: 'Server unreachable', detail: 'The EventDeck server could not be reached.' } };
  }
  if (response.ok) return { ok: true, value: (await response.json()) as T };
  const problem = await readProblem(response);
  if (problem.status === 401 && report) credentials.refuse(problem.status, problem.detail, token);
  return { ok: false, problem };
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

/** POST /api/alerts/:id/ack: 200 with the alert as acknowledged; 409 when it is no longer firing, 404 when unknown. */
/** POST /api/orders/:orderId/compensate: the events EventDeck sent for it. */
export interface Compensation {
  events: Array<{ id: string; type: string }>;
  accepted: number;
  duplicates: number;
}

export const compensateOrder = (orderId: string, reason: string, signal?: AbortSignal) =>
  postJson<Compensation>(`/api/orders/${encodeURIComponent(orderId)}/compensate`, { reason }, signal);

export const acknowledgeAlert = (id: string, by: string, note: string, signal?: AbortSignal) =>
  postJson<Alert>(`/api/alerts/${encodeURIComponent(id)}/ack`, { by, note }, signal);
