/**
 * A projection's key patterns (shared/read-models.ts `readModelKeyPatterns`):
 * which keys belong to it. The switch removes the live keys they find; every
 * key of the new model must match them too, or a later rebuild would leave it behind.
 */
import type { ReadModelKeyPattern } from '../../shared/read-models.ts';
import { KeyOutsidePatternsError } from './errors.ts';

export type RedisType = ReadModelKeyPattern['types'][number];

/** A Redis MATCH glob as a RegExp: `*`, `?` and `\` escapes (the patterns use no classes). */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) source += escape(glob[++i]!);
    else source += escape(c);
  }
  return new RegExp(`^${source}$`);
}

const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export class KeyPatterns {
  readonly #compiled: Array<{ regex: RegExp; types: ReadonlySet<string> }>;

  constructor(readonly projection: string, readonly patterns: readonly ReadModelKeyPattern[]) {
    this.#compiled = patterns.map((p) => ({ regex: globToRegExp(p.match), types: new Set(p.types) }));
  }

  /** Whether a key of this Redis type belongs to the projection. */
  covers(key: string, type: string): boolean {
    return this.#compiled.some((p) => p.types.has(type) && p.regex.test(key));
  }

  /** Refuses a key of the new model that the patterns do not cover. */
  check(key: string, type: RedisType): void {
    if (!this.covers(key, type)) {
      throw new KeyOutsidePatternsError(
        `projection ${this.projection} writes the ${type} key "${key}", which none of its key patterns ` +
        `(${this.patterns.map((p) => `${p.match} [${p.types.join(', ')}]`).join('; ')}) covers: declare it in readModelKeyPatterns`);
    }
  }
}
