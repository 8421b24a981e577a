/** Positions on a partition stream, as rebuilds bound them. Ids are "ms-seq"; '' means none. */
import { compareStreamIds } from '../../shared/streams.ts';

/**
 * The smallest id after `id`: what "everything up to and including `id`" is
 * below. After '' (nothing) comes '0-0', below which no entry lies (the first
 * possible entry id is 0-1).
 */
export function idAfter(id: string): string {
  if (id === '') return '0-0';
  const dash = id.indexOf('-');
  if (dash < 0) return `${id}-1`;
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}

export function earlierId(a: string, b: string): string {
  return compareStreamIds(a, b) <= 0 ? a : b;
}

/** ms and seq of an id, for the event store's filter. */
export function idParts(id: string): { ms: number; seq: bigint } {
  const dash = id.indexOf('-');
  return dash < 0 ? { ms: Number(id), seq: 0n } : { ms: Number(id.slice(0, dash)), seq: BigInt(id.slice(dash + 1)) };
}
