/**
 * The time now, for what ages on screen (an alert's age): reading `now` in a
 * template or effect re-runs it every tick, and the timer runs only while
 * something reads it (createSubscriber), so a page without ages costs nothing.
 */
import { createSubscriber } from 'svelte/reactivity';

export class Clock {
  readonly #subscribe: () => void;

  constructor(everyMs = 1_000, private readonly read: () => number = Date.now) {
    this.#subscribe = createSubscriber((tick) => {
      const timer = setInterval(tick, everyMs);
      return () => clearInterval(timer);
    });
  }

  get now(): number {
    this.#subscribe();
    return this.read();
  }
}

/** Ticks each second: ages are shown to the second. */
export const clock = new Clock();
