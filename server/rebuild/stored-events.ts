/**
 * The event store as projection rebuilds read it (the port is
 * projections/rebuild/event-store.ts; the shapes match structurally, as
 * server/ may not import projections/).
 *
 * Each event once: `events FINAL` collapses the copies of an event (a batch
 * stored again, an entry appended twice) to one, the last stored, as merges
 * keep it. Positions are per partition: an event belongs to a read when that
 * copy was stored from partition p with a stream id below `below[p]`
 * (ClickHouse applies a WHERE on a column outside the sorting key after FINAL).
 *
 * The read is streamed (AnalystSql: a connection of its own, the output as it
 * comes), unordered: FINAL merges as it reads, so memory stays at a batch. An
 * ORDER BY would cost chDB three to four times the CPU of the read itself.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { fromEventRow, type EventRow } from '../history/event-row.ts';
import { bindParams, type QueryParams } from '../history/sql-params.ts';
import type { HistoryStore } from '../history/store.ts';
import type { AnalystSql } from '../query/analyst-sql.ts';

export interface StoredEventsOptions {
  /** Events per batch handed to the fold. */
  batchSize?: number;
  /** Bounds of the streamed read (it reads the whole table). */
  timeoutMs?: number;
  maxMemoryBytes: number;
}

/** The port of projections/rebuild/event-store.ts. */
export interface StoredEvents {
  countRows(below: readonly string[]): Promise<number>;
  read(below: readonly string[], signal?: AbortSignal): AsyncIterable<CloudEvent[]>;
}

const COLUMNS = 'id, source, type, dataversion, time_unix_ms, subject, partitionkey, correlationid, causationid, extensions, data';

export function storedEvents(store: HistoryStore, analyst: AnalystSql, options: StoredEventsOptions): StoredEvents {
  const batchSize = options.batchSize ?? 2_000;
  const limits = { maxRows: Number.MAX_SAFE_INTEGER, timeoutMs: options.timeoutMs ?? 24 * 3_600_000, maxMemoryBytes: options.maxMemoryBytes };

  return {
    async countRows(below) {
      // Without FINAL: an estimate for progress, at a fraction of the cost.
      const [row] = await store.query<{ n: number }>(`SELECT count() AS n FROM events WHERE ${BELOW}`, belowParams(below));
      return Number(row?.n ?? 0);
    },

    async *read(below, signal) {
      const statement = bindParams(`SELECT ${COLUMNS} FROM events FINAL WHERE ${BELOW}`, belowParams(below));
      const chunks = analyst.run(statement, { format: 'JSONEachRow', limits, ...(signal ? { signal } : {}) })[Symbol.asyncIterator]();
      let carry: Buffer | undefined;
      let batch: CloudEvent[] = [];
      // The next chunk is asked for before this one is parsed, so ClickHouse produces while we parse.
      let next = chunks.next();
      try {
        for (;;) {
          const { value, done } = await next;
          if (done) break;
          next = chunks.next();
          next.catch(() => {}); // awaited above on the next round; a failure after ours must not go unhandled
          // Cut at the last newline (a newline byte never occurs inside a multi-byte character) and decode with
          // Buffer's UTF-8 decoder: TextDecoder's streaming decode costs several times more.
          let bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
          if (carry) bytes = Buffer.concat([carry, bytes]);
          const last = bytes.lastIndexOf(10);
          carry = last + 1 < bytes.length ? Buffer.from(bytes.subarray(last + 1)) : undefined;
          if (last < 0) continue;
          for (const line of bytes.toString('utf8', 0, last).split('\n')) {
            if (line === '') continue;
            batch.push(fromEventRow(JSON.parse(line) as EventRow));
            if (batch.length >= batchSize) {
              yield batch;
              batch = [];
            }
          }
        }
        const rest = carry?.toString('utf8') ?? '';
        if (rest.trim() !== '') batch.push(fromEventRow(JSON.parse(rest) as EventRow));
        if (batch.length > 0) yield batch;
      } finally {
        await chunks.return?.();
      }
    },
  };
}

/**
 * Rows stored from partition p below the stream id (ms, seq) given for p. Stream ids are
 * compared as numbers ("10-0" is after "9-0"); partitions without a bound (a changed
 * partition count) give nothing. ClickHouse 18.16 and chDB both have these functions.
 */
const STREAM_MS = "toUInt64OrZero(splitByChar('-', stream_id)[1])";
const STREAM_SEQ = "toUInt64OrZero(splitByChar('-', stream_id)[2])";
const BOUND_MS = 'arrayElement({belowMs:Array(UInt64)}, stream_partition + 1)';
const BOUND_SEQ = 'arrayElement({belowSeq:Array(UInt64)}, stream_partition + 1)';
const BELOW = `(${STREAM_MS} < ${BOUND_MS} OR (${STREAM_MS} = ${BOUND_MS} AND ${STREAM_SEQ} < ${BOUND_SEQ}))`;

function belowParams(below: readonly string[]): QueryParams {
  const parts = below.map((id) => {
    const dash = id.indexOf('-');
    return dash < 0 ? { ms: BigInt(id || 0), seq: 0n } : { ms: BigInt(id.slice(0, dash)), seq: BigInt(id.slice(dash + 1)) };
  });
  return { belowMs: parts.map((p) => p.ms), belowSeq: parts.map((p) => p.seq) };
}
