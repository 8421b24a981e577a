/**
 * One (view, filter) with subscribers. Changes are conflated: at most one read
 * per interval (leading and trailing, so the last change is never lost), and a
 * read that a newer change overtakes is dropped: pushes always carry the newest state.
 */
import { asyncScheduler, EMPTY, from, interval, merge, Subject, switchMap, throttleTime, catchError, type Subscription } from 'rxjs';
import { canonicalFilter } from '../../shared/live.ts';
import type { ViewSnapshot } from '../../shared/views.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import { readSnapshot, type ViewDefinition } from '../views/definitions.ts';

export function topicId(view: string, rawFilter: unknown): string {
  const filter = typeof rawFilter === 'object' && rawFilter !== null ? (rawFilter as Record<string, string>) : {};
  return `${view}:${canonicalFilter(filter)}`;
}

export class Topic {
  /** Socket ids subscribed to this topic. */
  readonly subscribers = new Set<string>();
  readonly #changes = new Subject<void>();
  readonly #updates = new Subject<ViewSnapshot>();
  /** Every new snapshot worth pushing. */
  readonly updates$ = this.#updates.asObservable();
  readonly #subscription: Subscription;
  /** The newest snapshot and whether a change came after it (then it cannot be handed out as it is). */
  #latest: { snapshot: ViewSnapshot; json: string } | undefined;
  #stale = true;

  constructor(
    readonly id: string,
    readonly view: string,
    readonly filter: Record<string, unknown>,
    private readonly definition: ViewDefinition,
    private readonly redis: RedisClient,
    conflationMs: number,
    log: (line: string) => void,
  ) {
    const ticks = definition.refreshMs ? interval(definition.refreshMs) : EMPTY;
    this.#subscription = merge(this.#changes, ticks).pipe(
      throttleTime(conflationMs, asyncScheduler, { leading: true, trailing: true }),
      switchMap(() => from(this.#read()).pipe(catchError((error: Error) => {
        log(`live: reading ${id} failed: ${error.message}`);
        return EMPTY;
      }))),
    ).subscribe((changed) => changed && this.#updates.next(changed));
  }

  dependsOn(view: string): boolean {
    return view === this.view;
  }

  changed(): void {
    this.#stale = true;
    this.#changes.next();
  }

  /** The snapshot for a new subscriber: shared with the others unless a change came since. */
  async snapshot(): Promise<ViewSnapshot> {
    if (this.#latest && !this.#stale) return this.#latest.snapshot;
    await this.#read();
    return this.#latest!.snapshot;
  }

  close(): void {
    this.#subscription.unsubscribe();
    this.#updates.complete();
  }

  /** Reads the view; returns the snapshot when it differs from the last one, else undefined. */
  async #read(): Promise<ViewSnapshot | undefined> {
    this.#stale = false;
    const snapshot = await readSnapshot(this.redis, this.view, this.definition, this.filter);
    const json = JSON.stringify(snapshot);
    if (this.#latest && (snapshot.version < this.#latest.snapshot.version || json === this.#latest.json)) return undefined;
    this.#latest = { snapshot, json };
    return snapshot;
  }
}
