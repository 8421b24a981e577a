/**
 * The dead-letter workbench's contract (`/api/dlq`, docs/dead-letters.md): the
 * shapes the server answers and the web app reads. Event data in these shapes
 * is masked: fields a schema marks `x-sensitive` read "•••".
 */

/** Append-only stream of what was done to dead letters: one entry per re-drive or discard. */
export const DEAD_LETTER_ACTIONS_KEY = 'eventdeck:dlq-actions';

/** Where a dead-letter stream comes from: a live projection, the history group, or alert webhooks. */
export type DeadLetterQueueKind = 'projection' | 'history' | 'webhooks';

/** Dead letters that failed with the same (masked) error text. */
export interface DeadLetterGroup {
  error: string;
  count: number;
  /** RFC 3339: when the first and the last of them failed. */
  firstFailedAt: string;
  lastFailedAt: string;
  /** The event types among them, sorted. */
  types: string[];
}

/** One dead-letter stream (`eventdeck:dlq:<name>`). */
export interface DeadLetterQueue {
  name: string;
  kind: DeadLetterQueueKind;
  /** Entries in the stream. */
  count: number;
  /** Whether its dead letters can be re-driven here; `reason` says why not. */
  redrive: { supported: true } | { supported: false; reason: string };
  /** Most first. */
  groups: DeadLetterGroup[];
  /** True when the stream held more than the workbench groups (the newest are grouped). */
  partial: boolean;
}

/** `GET /api/dlq`. */
export interface DeadLetterOverview {
  queues: DeadLetterQueue[];
}

/** One dead letter in a list. */
export interface DeadLetterSummary {
  /** Its id in the dead-letter stream. */
  id: string;
  /** Masked, like the event. */
  error: string;
  attempts: number;
  /** The event's id in its partition stream (webhooks: in the alert changes stream). */
  streamId: string;
  partition: number | null;
  /** RFC 3339. */
  failedAt: string;
  /** The event's type, source, id and subject, when it could be read. */
  type: string | null;
  source: string | null;
  eventId: string | null;
  subject: string | null;
  /** Webhooks only: the receiver that refused. */
  url?: string;
}

/** `GET /api/dlq/:queue` (oldest first). */
export interface DeadLetterPage {
  queue: string;
  /** The error the list is filtered by, if any. */
  error: string | null;
  /** Entries in the stream, whatever the filter. */
  count: number;
  entries: DeadLetterSummary[];
  /** Pass as `after` for the next page; null on the last. */
  next: string | null;
}

/** `GET /api/dlq/:queue/:entryId`. */
export interface DeadLetterDetail extends DeadLetterSummary {
  queue: string;
  /** The event, its sensitive fields masked; null when it is not JSON (then it is not shown at all). */
  event: unknown;
  /** Characters of the stored event text. */
  eventLength: number;
  /** Whether any field was masked. */
  masked: boolean;
}

/** Which dead letters an action is about: chosen ids, every one with an error text, or all of a queue. */
export type DeadLetterSelector = { ids: string[] } | { error: string } | { all: true };

/** What an action did to one dead letter. */
export type DeadLetterOutcome = 'applied' | 'already-applied' | 'failed' | 'busy' | 'gone' | 'discarded';

export interface DeadLetterActionEntry {
  id: string;
  /** The event's source and id, when it could be read. */
  source: string | null;
  eventId: string | null;
  outcome: DeadLetterOutcome;
  /** Why it failed (masked). */
  error?: string;
}

/** One recorded action (`POST /api/dlq/:queue/redrive|discard` answers it; `GET /api/dlq/actions` lists them). */
export interface DeadLetterAction {
  /** Its id in the actions stream. */
  id: string;
  action: 'redrive' | 'discard';
  queue: string;
  selector: DeadLetterSelector;
  entries: DeadLetterActionEntry[];
  counts: Partial<Record<DeadLetterOutcome, number>>;
  /** Dead letters the selector matched beyond what one action takes: send it again for them. */
  more: number;
  reason: string | null;
  /** Who did it, as they said (until the security issue takes it from their identity). */
  by: string | null;
  /** RFC 3339. */
  at: string;
}

/** `GET /api/dlq/actions` (newest first). */
export interface DeadLetterActionPage {
  actions: DeadLetterAction[];
  /** Pass as `before` for the next page; null on the last. */
  next: string | null;
}
