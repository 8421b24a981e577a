/**
 * What the Dead letters page shows, kept fresh: the queues with their groups,
 * the entries of the selected queue (and error), the selected entry, and the
 * action log. Fetched over REST when the selection changes, after each action,
 * and every few seconds while the page is open (dead letters are rare and
 * their streams are not pushed live). One refresh runs at a time; asks during
 * one are folded into one more.
 */
import type {
  DeadLetterAction, DeadLetterDetail, DeadLetterOverview, DeadLetterPage,
} from '../../../shared/dead-letters.ts';
import type { Problem } from './api.ts';
import { fetchDeadLetter, fetchDeadLetterActions, fetchDeadLetterOverview, fetchDeadLetters } from './dead-letters.ts';

const POLL_MS = 5_000;
const ACTIONS_SHOWN = 25;

export interface DeadLetterSelection {
  /** The queue whose entries are listed ('' for none yet). */
  queue: string;
  /** The error the entries are filtered by ('' for all). */
  error: string;
  /** The entry being inspected ('' for none). */
  entry: string;
  /** Entries listed at most. */
  limit: number;
}

export class DeadLetterFeed {
  overview = $state.raw<DeadLetterOverview | null>(null);
  page = $state.raw<DeadLetterPage | null>(null);
  detail = $state.raw<DeadLetterDetail | null>(null);
  /** The inspected entry is no longer there (re-driven or discarded). */
  detailGone = $state(false);
  actions = $state.raw<DeadLetterAction[] | null>(null);
  problem = $state.raw<Problem | null>(null);
  loading = $state(true);

  #selection: () => DeadLetterSelection;
  #inFlight = false;
  #again = false;
  #closed = false;
  #abort = new AbortController();

  constructor(selection: () => DeadLetterSelection) {
    this.#selection = selection;
    $effect(() => {
      // A new selection loads at once; reading it here makes this effect follow it.
      const { queue, error, entry, limit } = this.#selection();
      void [queue, error, entry, limit];
      void this.refresh();
    });
    $effect(() => {
      this.#closed = false;
      const timer = setInterval(() => void this.refresh(), POLL_MS);
      return () => {
        this.#closed = true;
        clearInterval(timer);
        this.#abort.abort();
      };
    });
  }

  /** Everything again (after an action, or on the poll). */
  async refresh(): Promise<void> {
    if (this.#inFlight) return void (this.#again = true);
    this.#inFlight = true;
    try {
      do {
        this.#again = false;
        await this.#load(this.#selection());
      } while (this.#again && !this.#closed);
    } finally {
      this.#inFlight = false;
    }
  }

  async #load({ queue, error, entry, limit }: DeadLetterSelection): Promise<void> {
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    try {
      const [overview, actions, page, detail] = await Promise.all([
        fetchDeadLetterOverview(signal),
        fetchDeadLetterActions(ACTIONS_SHOWN, signal),
        queue ? fetchDeadLetters(queue, { error: error || undefined, limit }, signal) : Promise.resolve(null),
        queue && entry ? fetchDeadLetter(queue, entry, signal) : Promise.resolve(null),
      ]);
      if (this.#closed) return;
      const failed = [overview, actions, page].find((answer) => answer && !answer.ok);
      this.problem = failed && !failed.ok ? failed.problem : null;
      if (overview.ok) this.overview = overview.value;
      if (actions.ok) this.actions = actions.value.actions;
      if (page?.ok) this.page = page.value;
      else if (!queue) this.page = null;
      if (!detail) [this.detail, this.detailGone] = [null, false];
      else if (detail.ok) [this.detail, this.detailGone] = [detail.value, false];
      else if (detail.problem.status === 404) [this.detail, this.detailGone] = [null, true];
      this.loading = false;
    } catch {
      // AbortError: the page closed while loading; nobody waits for the answer.
    }
  }
}
