/**
 * One order and its timeline, over REST, fetched again whenever the orders
 * view's version changes (any order changed, perhaps this one). At most one
 * request is in flight; changes during it are folded into one more request,
 * so a busy stream costs one request per round trip, not one per update.
 *
 * The timeline is written by its own projection, which bumps no view version:
 * an answer whose timeline ends before the order's last event is fetched again
 * shortly (a few times), or the page could stop one step behind on a quiet stream.
 */
import type { OrderDetail } from '../../../shared/views.ts';

const CATCH_UP_MS = 1_000;
const CATCH_UP_TRIES = 5;

/** Whether the timeline already holds the order's last event. */
export function timelineCaughtUp({ order, timeline }: OrderDetail): boolean {
  const newest = Math.max(...timeline.map((entry) => Date.parse(entry.time)));
  return timeline.length > 0 && newest >= Date.parse(order.lastEventAt);
}
import { fetchOrder, type Problem } from './api.ts';
import { ViewFeed } from './view-feed.svelte.ts';

export class OrderDetailFeed {
  detail = $state.raw<OrderDetail | null>(null);
  problem = $state.raw<Problem | null>(null);
  loading = $state(true);
  /** The live orders view, whose version says when to fetch again. */
  readonly orders = new ViewFeed('orders');

  constructor(orderId: () => string) {
    $effect(() => {
      const id = orderId();
      this.detail = null;
      this.problem = null;
      this.loading = true;
      let closed = false;
      let inFlight = false;
      let again = false;
      let abort = new AbortController();
      let catchUps = 0;
      let catchUpTimer: ReturnType<typeof setTimeout> | undefined;
      const load = async () => {
        if (inFlight) return void (again = true);
        inFlight = true;
        do {
          again = false;
          abort = new AbortController();
          try {
            const answer = await fetchOrder(id, abort.signal);
            if (closed) return;
            if (answer.ok) {
              [this.detail, this.problem] = [answer.value, null];
              clearTimeout(catchUpTimer);
              if (timelineCaughtUp(answer.value)) catchUps = 0;
              else if (catchUps++ < CATCH_UP_TRIES) catchUpTimer = setTimeout(() => void load(), CATCH_UP_MS);
            } else this.problem = answer.problem; // keep the last detail on a passing failure
            this.loading = false;
          } catch {
            return; // AbortError: this page moved to another order
          }
        } while (again && !closed);
        inFlight = false;
      };
      // The version is read by this child effect only: a new version fetches again without resetting the page.
      $effect(() => {
        void this.orders.version;
        void load();
      });
      return () => {
        closed = true;
        abort.abort();
        clearTimeout(catchUpTimer);
      };
    });
  }
}
