/**
 * What the views read their state from: the few Redis commands they use. The
 * live read models in Redis are one source; the read models folded in memory
 * from the event store up to a past time (`?asOf=`) are another, so one set of
 * view readers answers both. A node-redis client is one as it is.
 */
export interface ReadModelSource {
  get(key: string): Promise<string | null>;
  mGet(keys: string[]): Promise<Array<string | null>>;
  hGetAll(key: string): Promise<Record<string, string>>;
  sMembers(key: string): Promise<string[]>;
  zCard(key: string): Promise<number>;
  /** Members with min ≤ score ≤ max; bounds as Redis writes them ('-inf', '+inf', '(' for exclusive). */
  zCount(key: string, min: string, max: string): Promise<number>;
  /** By rank, lowest score first, or highest first with REV. */
  zRange(key: string, start: number, stop: number, options?: { REV: true }): Promise<string[]>;
  zRangeWithScores(key: string, start: number, stop: number): Promise<Array<{ value: string; score: number }>>;
}
