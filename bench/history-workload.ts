/**
 * What the `history` bench part writes: realistic events as ingest stores them
 * on the partition streams, and the inserts the history writer makes of them
 * (planned with its own planHistoryBatch, in its batches and order), all built
 * before any clock runs.
 */
import { createFlows } from '../demo/flows.ts';
import type { ToAnalyticRows } from '../server/history/analytic-rows.ts';
import { planHistoryBatch } from '../server/history/history-batch.ts';
import { validateEvents } from '../server/ingest/validate-events.ts';
import { buildRegistry } from '../server/registry/build.ts';
import { createValidator } from '../server/registry/validator.ts';
import { ENTRY_FIELDS, partitionOf } from '../shared/streams.ts';

/** A flow starts every this many ms of a virtual clock; flows are planned and taken this many at a time. */
const FLOW_EVERY_MS = 2;
const FLOWS_PER_CHUNK = 200;

/** One ingest-shaped stream entry: the accepted event as JSON, for its partition's stream. */
export interface Entry {
  partition: number;
  json: string;
}

/** The inserts of one partition, in the writer's batches and order: each one store.insert. */
export type PartitionInserts = Array<{ table: string; rows: object[] }>;

export interface Workload {
  /** In delivery order, `perPartition` of every partition. */
  entries: Entry[];
  inserts: PartitionInserts[];
  /** The first `warmUpPerPartition` entries of every partition, and their inserts, to warm up on. */
  warmUp: Entry[];
  warmUpInserts: PartitionInserts[];
  /** Rows of every table (`events` and analytic) that `entries` make. */
  rows: number;
}

export interface WorkloadOptions {
  perPartition: number;
  warmUpPerPartition: number;
  partitions: number;
  batchSize: number;
  /** As the history role is given it; undefined writes `events` only. */
  analyticRows?: ToAnalyticRows;
}

/**
 * Events of the demo flows (seed 42, no duplicates or reordering), one flow
 * started every 2 ms of a virtual clock that starts an hour ago (orders,
 * restocks and counts, each flow's steps seconds apart as the flows plan
 * them), validated and normalised as ingest stores them, keeping the first
 * `perPartition` of each partition. Flows are planned and taken a chunk at a
 * time (the flows' queue is a sorted array: planning them all at once costs
 * O(n²)), so events are in delivery order within a chunk, and every flow's
 * events in its own order.
 */
export function prepareWorkload(options: WorkloadOptions): Workload {
  const { perPartition, warmUpPerPartition, partitions, batchSize, analyticRows } = options;
  const registry = buildRegistry();
  const validator = createValidator(registry);
  const startAt = Date.now() - 60 * 60_000;
  const flows = createFlows({ seed: 42, startAt, duplicateRate: 0, reorderRate: 0 });
  const taken = new Array<number>(partitions).fill(0);
  const entries: Entry[] = [];
  for (let now = startAt; entries.length < perPartition * partitions;) {
    for (let i = 0; i < FLOWS_PER_CHUNK; i++, now += FLOW_EVERY_MS) flows.startFlow(now);
    const sent = flows.takeDue(Number.MAX_SAFE_INTEGER);
    const validation = validateEvents(sent, { registry, validator, maxFutureMs: 0, now: Date.now() });
    if (!validation.ok) throw new Error(`the prepared events are invalid: ${JSON.stringify(validation.problems.slice(0, 3))}`);
    for (const event of validation.events) {
      const partition = partitionOf(event.partitionkey, partitions);
      if (taken[partition]! >= perPartition) continue;
      taken[partition]!++;
      entries.push({ partition, json: JSON.stringify(event) });
    }
  }
  const warmUpTaken = new Array<number>(partitions).fill(0);
  const warmUp = entries.filter((e) => warmUpTaken[e.partition]!++ < warmUpPerPartition);
  const inserts = plannedInserts(entries, partitions, batchSize, analyticRows);
  return {
    entries, inserts, warmUp,
    warmUpInserts: plannedInserts(warmUp, partitions, batchSize, analyticRows),
    rows: inserts.flat().reduce((sum, insert) => sum + insert.rows.length, 0),
  };
}

/** What the writer inserts for these entries: per partition, batches of batchSize planned by planHistoryBatch, in its order. */
function plannedInserts(
  entries: readonly Entry[], partitions: number, batchSize: number, analyticRows: ToAnalyticRows | undefined,
): PartitionInserts[] {
  const acceptedAt = String(Date.now());
  const byPartition = Array.from({ length: partitions }, () => [] as Array<{ id: string; message: Record<string, string> }>);
  for (const { partition, json } of entries) {
    const list = byPartition[partition]!;
    list.push({ id: `${acceptedAt}-${list.length}`, message: { [ENTRY_FIELDS.event]: json, [ENTRY_FIELDS.acceptedAt]: acceptedAt } });
  }
  return byPartition.map((list, p) => {
    const inserts: PartitionInserts = [];
    for (let i = 0; i < list.length; i += batchSize) {
      const batch = planHistoryBatch(p, list.slice(i, i + batchSize), analyticRows);
      if (batch.deadLetters.length > 0) throw new Error(`a prepared event cannot be stored: ${batch.deadLetters[0]!.error}`);
      // The writer's order: `events` per month, then the analytic tables per month.
      inserts.push(...batch.inserts.map(({ rows }) => ({ table: 'events', rows })), ...batch.analyticInserts);
    }
    return inserts;
  });
}
