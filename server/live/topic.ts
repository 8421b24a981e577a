/**
 * One (view, filter) with subscribers. Changes are conflated: one read at a
 * time, at most one per interval, and a change that comes during a read or
 * the interval after it is read once that interval ends, so the last change is
 * never lost and each push carries the newest state. A read is never cancelled:
 * under load a slow view gets fewer pushes, never none.
 */
import { catchError, concat, defer, EMPTY, exhaustMap, ignoreElements, interval, merge, repeat, Subject, tap, timer, type Subscription } from 'rxjs';
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
    // A read, pushed when it differs, then the rest of the interval; again while changes came meanwhile.
    const readAndRest = defer(() => {
      const started = Date.now();
      return concat(
        defer(() => this.#read()).pipe(
          tap((changed) => changed && this.#updates.next(changed)),
          catchError((error: Error) => {
            log(`live: reading ${id} failed: ${error.message}`);
            return EMPTY;
          }),
        ),
        defer(() => timer(Math.max(0, started + conflationMs - Date.now()))),
      ).pipe(ignoreElements());
    }).pipe(repeat({ delay: () => (this.#stale ? timer(0) : EMPTY) }));
    // exhaustMap: while a read (or its interval) runs, new changes only mark the topic stale.
    this.#subscription = merge(this.#changes, ticks).pipe(exhaustMap(() => readAndRest)).subscribe();
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
