/**
 * One flow's lineage over REST. The event store lags the bus by the history
 * group's batch wait, so a flow just seen on the order page may not be stored
 * yet: a 404 is asked again a few times before it is shown.
 */
import type { Lineage } from '../../../shared/lineage.ts';
import type { Problem } from './api.ts';
import { fetchLineage } from './lineage.ts';

const NOT_YET_MS = 1_000;
const NOT_YET_TRIES = 5;

export class LineageFeed {
  lineage = $state.raw<Lineage | null>(null);
  problem = $state.raw<Problem | null>(null);
  loading = $state(true);
  /** Bumped to fetch again (the Refresh button). */
  #round = $state(0);

  constructor(correlationId: () => string) {
    $effect(() => {
      const id = correlationId();
      void this.#round;
      const abort = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let tries = 0;
      this.loading = true;
      const load = async () => {
        try {
          const answer = await fetchLineage(id, abort.signal);
          if (answer.ok) [this.lineage, this.problem] = [answer.value, null];
          else if (answer.problem.status === 404 && tries++ < NOT_YET_TRIES) return void (timer = setTimeout(() => void load(), NOT_YET_MS));
          else [this.lineage, this.problem] = [null, answer.problem];
          this.loading = false;
        } catch {
          // AbortError: the page moved to another flow
        }
      };
      void load();
      return () => {
        abort.abort();
        clearTimeout(timer);
      };
    });
  }

  refresh(): void {
    this.#round += 1;
  }
}
