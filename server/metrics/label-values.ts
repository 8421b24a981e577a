/**
 * Label values that stay few whatever producers send: Prometheus keeps one
 * series per label combination, so a label fed from request data must not be
 * able to grow without bound (an order id in a source would make one series per order).
 */
import type { Registry } from '../../shared/registry.ts';

/** Control characters: kept out of labels, where they would only be escapes in the exposition. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** What every value outside the bounds becomes. */
export const OTHER = 'other';

/** Registered event types keep their name; anything else (unknown, missing, not a string) is OTHER. */
export function typeLabel(registry: Registry, type: unknown): string {
  return typeof type === 'string' && registry.has(type) ? type : OTHER;
}

/**
 * The first `maxValues` distinct strings of at most `maxLength` characters are
 * labels; later new ones, longer ones, ones with control characters and
 * non-strings are OTHER. The values
 * taken are kept for the life of the process, so a label never changes meaning.
 */
export class BoundedLabel {
  readonly #taken = new Set<string>();

  constructor(readonly maxValues: number, readonly maxLength: number) {}

  of(value: unknown): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > this.maxLength || CONTROL.test(value)) return OTHER;
    if (this.#taken.has(value)) return value;
    if (this.#taken.size >= this.maxValues) return OTHER;
    this.#taken.add(value);
    return value;
  }
}
