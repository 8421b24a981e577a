/**
 * A view as one component sees it: live over the shared connection, or, when
 * the header's time control is set to a past moment, fetched over REST with
 * `?asOf=`. Create it during component setup: its effect subscribes with the
 * component's life and follows the filter as it changes.
 */
import { untrack } from 'svelte';
import { canonicalFilter } from '../../../shared/live.ts';
import type { ViewFilter, ViewName, ViewSnapshot } from '../../../shared/views.ts';
import { fetchView, type Problem } from './api.ts';
import { liveConnection, type LiveConnection, type LiveView } from './live.svelte.ts';
import { timeControl, type TimeControl } from './time-control.svelte.ts';

/** Drops empty values: "any warehouse" is no filter at all, and the hub must see one form of it. */
export function cleanFilter(filter: Record<string, string | null | undefined>): ViewFilter {
  return Object.fromEntries(Object.entries(filter).filter((entry): entry is [string, string] => !!entry[1]));
}

export class ViewFeed<V extends ViewName> {
  #live = $state.raw<LiveView<V> | null>(null);
  #rest = $state.raw<{ snapshot: ViewSnapshot<V> | null; problem: Problem | null; loading: boolean }>({
    snapshot: null, problem: null, loading: false,
  });

  constructor(
    readonly view: V,
    filter: () => Record<string, string | null | undefined> = () => ({}),
    connection: LiveConnection = liveConnection,
    time: TimeControl = timeControl,
  ) {
    // The filter's canonical text: a parent that hands over an equal but new object
    // (any re-render of an inline `{...}`) must not unsubscribe and subscribe again.
    const filterKey = $derived(canonicalFilter(cleanFilter(filter())));
    $effect(() => {
      const current: ViewFilter = Object.fromEntries(JSON.parse(filterKey) as Array<[string, string]>);
      const asOf = time.asOf;
      if (asOf !== null) {
        this.#live = null;
        return this.#fetch(current, asOf, time);
      }
      // acquire reads no state we want to follow: only the filter and the mode re-run this.
      const live = untrack(() => connection.acquire(view, current));
      this.#live = live;
      return () => connection.release(live);
    });
  }

  /**
   * Hands every new state to the listener a parent passed (read afresh each
   * time, it may change). Only the state is followed: whatever the listener
   * reads is its own business. Call during component setup, like the constructor.
   */
  reportStates(listener: () => ((state: ViewSnapshot<V>['state']) => void) | undefined): void {
    $effect(() => {
      const state = this.state;
      if (state) untrack(() => listener()?.(state));
    });
  }

  get snapshot(): ViewSnapshot<V> | null {
    return this.#live ? this.#live.snapshot : this.#rest.snapshot;
  }

  get state(): ViewSnapshot<V>['state'] | null {
    return this.snapshot?.state ?? null;
  }

  get version(): number | null {
    return this.snapshot?.version ?? null;
  }

  /** Why there is nothing (or nothing new) to show, in words for the screen. */
  get error(): string | null {
    return this.#live ? this.#live.error : (this.#rest.problem?.detail ?? null);
  }

  get loading(): boolean {
    return this.#live ? this.#live.snapshot === null && this.#live.error === null : this.#rest.loading;
  }

  #fetch(filter: ViewFilter, asOf: string, time: TimeControl): () => void {
    const abort = new AbortController();
    this.#rest = { snapshot: null, problem: null, loading: true };
    fetchView(this.view, filter, asOf, abort.signal).then(
      (answer) => {
        if (answer.ok) this.#rest = { snapshot: answer.value, problem: null, loading: false };
        else {
          this.#rest = { snapshot: null, problem: answer.problem, loading: false };
          time.report(answer.problem);
        }
      },
      () => undefined, // AbortError: the filter or the time changed, a newer fetch is on its way
    );
    return () => abort.abort();
  }
}
