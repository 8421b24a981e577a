/**
 * The dead-letter workbench's REST calls (`/api/dlq`, docs/dead-letters.md).
 * Failures are values carrying the server's problem document, as in api.ts.
 */
import type {
  DeadLetterAction, DeadLetterActionPage, DeadLetterDetail, DeadLetterOverview, DeadLetterPage, DeadLetterSelector,
} from '../../../shared/dead-letters.ts';
import { getJson, postJson } from './api.ts';

const queuePath = (queue: string) => `/api/dlq/${encodeURIComponent(queue)}`;

export const fetchDeadLetterOverview = (signal?: AbortSignal) => getJson<DeadLetterOverview>('/api/dlq', signal);

export function fetchDeadLetters(queue: string, options: { error?: string; after?: string; limit?: number }, signal?: AbortSignal) {
  const query = new URLSearchParams();
  if (options.error) query.set('error', options.error);
  if (options.after) query.set('after', options.after);
  if (options.limit) query.set('limit', String(options.limit));
  const search = query.toString();
  return getJson<DeadLetterPage>(`${queuePath(queue)}${search ? `?${search}` : ''}`, signal);
}

export const fetchDeadLetter = (queue: string, id: string, signal?: AbortSignal) =>
  getJson<DeadLetterDetail>(`${queuePath(queue)}/${encodeURIComponent(id)}`, signal);

export const fetchDeadLetterActions = (limit: number, signal?: AbortSignal) =>
  getJson<DeadLetterActionPage>(`/api/dlq/actions?limit=${limit}`, signal);

export interface ActionOptions {
  reason?: string;
  by?: string;
}

/** POST /api/dlq/:queue/redrive: 200 with the recorded action (each entry's outcome); 501 for history and webhooks. */
export const redriveDeadLetters = (queue: string, selector: DeadLetterSelector, options: ActionOptions = {}) =>
  postJson<DeadLetterAction>(`${queuePath(queue)}/redrive`, { ...selector, ...definedOnly(options) });

/** POST /api/dlq/:queue/discard: a reason is required. */
export const discardDeadLetters = (queue: string, selector: DeadLetterSelector, options: ActionOptions & { reason: string }) =>
  postJson<DeadLetterAction>(`${queuePath(queue)}/discard`, { ...selector, ...definedOnly(options) });

function definedOnly(options: ActionOptions): ActionOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => typeof v === 'string' && v.trim() !== '').map(([k, v]) => [k, v.trim()]));
}

/** An action's outcome in words: "2 applied, 1 failed". */
export function describeCounts(counts: DeadLetterAction['counts']): string {
  const words: Record<string, string> = {
    applied: 'applied', 'already-applied': 'already applied', failed: 'failed', busy: 'busy (try again)', gone: 'already gone', discarded: 'discarded',
  };
  const parts = Object.entries(counts).filter(([, n]) => n).map(([outcome, n]) => `${n} ${words[outcome] ?? outcome}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

/** Which dead letters a selector names, in words. */
export function describeSelector(selector: DeadLetterSelector): string {
  if ('ids' in selector) return selector.ids.length === 1 ? `entry ${selector.ids[0]}` : `${selector.ids.length} entries`;
  if ('error' in selector) return `error “${selector.error}”`;
  return 'all';
}
