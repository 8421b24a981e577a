/**
 * What a client does with a `view:update`, given the version it holds
 * (DESIGN.md section 7). Pure, so the rules read in one place.
 *
 * - older than what we hold: ignore (it was overtaken, e.g. by a fresh snapshot);
 * - the same version: apply. The hub re-reads views with clock-derived fields
 *   (overview's 60-minute window, fulfilment's stuck flags) every few seconds and
 *   pushes them when they differ, without any event, so the version does not grow;
 * - the next version: apply;
 * - a gap: updates carry the whole state, so apply it at once (the screen never
 *   waits), and also ask for a fresh snapshot, as the contract says a client that
 *   sees a gap does (the connection spaces these out: see RESYNC_MIN_MS).
 */
export type UpdateDecision = 'ignore' | 'apply' | 'apply-and-resync';

export function decideUpdate(held: number | null, incoming: number): UpdateDecision {
  // Without a snapshot yet the subscribe ack is on its way and will bring one.
  if (held === null) return 'ignore';
  if (incoming < held) return 'ignore';
  if (incoming > held + 1) return 'apply-and-resync';
  return 'apply';
}

/** Whether a subscribe ack's snapshot should replace what we hold (never go back in time). */
export const ackIsNewer = (held: number | null, acked: number): boolean => held === null || acked >= held;
