/** The fulfilment view: in-flight orders by stage, stuck ones first (DESIGN.md section 4, Fulfilment). */
import { z } from 'zod';
import { IN_FLIGHT_STAGES, readModelKeys, type InFlightStage } from '../../shared/read-models.ts';
import type { FulfilmentState, InFlightOrder } from '../../shared/views.ts';
import type { ReadModelSource } from './read-model-source.ts';

export const fulfilmentFilter = z.strictObject({
  warehouseId: z.string().min(1).optional(),
  stage: z.enum(IN_FLIGHT_STAGES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type FulfilmentFilter = z.infer<typeof fulfilmentFilter>;

export type StageLimits = Readonly<Record<InFlightStage, number>>;

/**
 * Without a warehouse filter the read costs the same however many orders are in
 * flight (the overview reads it on every change): counts by ZCARD, stuck ones by
 * ZCOUNT under the stage's limit, and only the oldest `limit` of each stage,
 * since within a stage the oldest are the stuck ones and the longest waiting.
 * The stage sets do not know warehouses, so a warehouse filter reads them whole.
 */
export async function readFulfilment(
  source: ReadModelSource,
  filter: FulfilmentFilter,
  limits: StageLimits,
  now: number,
): Promise<FulfilmentState> {
  const stages = filter.stage ? [filter.stage] : [...IN_FLIGHT_STAGES];
  const inFlight = Object.fromEntries(IN_FLIGHT_STAGES.map((s) => [s, 0])) as Record<InFlightStage, number>;
  if (filter.warehouseId) return readOneWarehouse(source, filter, stages, inFlight, limits, now);

  const [counts, stuckCounts, oldest] = await Promise.all([
    Promise.all(stages.map((s) => source.zCard(readModelKeys.fulfilmentStage(s)))),
    // Stuck: waiting strictly longer than the limit, that is a score below now − limit.
    Promise.all(stages.map((s) => source.zCount(readModelKeys.fulfilmentStage(s), '-inf', `(${now - limits[s]}`))),
    Promise.all(stages.map((s) => source.zRangeWithScores(readModelKeys.fulfilmentStage(s), 0, filter.limit - 1))),
  ]);
  stages.forEach((s, i) => (inFlight[s] = counts[i]!));
  const candidates = stages.flatMap((stage, s) => oldest[s]!.map((m) => ({ stage, orderId: m.value, score: m.score })));
  const orders = firstToShow(candidates.map((c) => inFlightOrder(c, null, limits, now)), filter.limit);
  const warehouses = await warehousesOf(source, orders.map((o) => o.orderId));
  for (const order of orders) order.warehouseId = warehouses.get(order.orderId) ?? null;
  return { inFlight, stuck: stuckCounts.reduce((sum, n) => sum + n, 0), orders };
}

async function readOneWarehouse(
  source: ReadModelSource,
  filter: FulfilmentFilter,
  stages: readonly InFlightStage[],
  inFlight: Record<InFlightStage, number>,
  limits: StageLimits,
  now: number,
): Promise<FulfilmentState> {
  const members = await Promise.all(stages.map((s) => source.zRangeWithScores(readModelKeys.fulfilmentStage(s), 0, -1)));
  const warehouses = await warehousesOf(source, members.flatMap((list) => list.map((m) => m.value)));
  const orders = stages
    .flatMap((stage, s) => members[s]!.map((m) => inFlightOrder({ stage, orderId: m.value, score: m.score }, warehouses.get(m.value) ?? null, limits, now)))
    .filter((o) => o.warehouseId === filter.warehouseId);
  for (const o of orders) inFlight[o.stage]++;
  return { inFlight, stuck: orders.filter((o) => o.stuck).length, orders: firstToShow(orders, filter.limit) };
}

function inFlightOrder(
  entry: { stage: InFlightStage; orderId: string; score: number },
  warehouseId: string | null,
  limits: StageLimits,
  now: number,
): InFlightOrder {
  const waitingMs = Math.max(0, now - entry.score);
  return {
    orderId: entry.orderId, warehouseId, stage: entry.stage, lastEventAt: new Date(entry.score).toISOString(),
    waitingMs, limitMs: limits[entry.stage], stuck: waitingMs > limits[entry.stage],
  };
}

/** Stuck first, then the longest waiting. */
function firstToShow(orders: InFlightOrder[], limit: number): InFlightOrder[] {
  return orders.sort((a, b) => Number(b.stuck) - Number(a.stuck) || b.waitingMs - a.waitingMs).slice(0, limit);
}

async function warehousesOf(source: ReadModelSource, orderIds: readonly string[]): Promise<Map<string, string | null>> {
  if (orderIds.length === 0) return new Map();
  const documents = await source.mGet(orderIds.map((id) => readModelKeys.fulfilment(id)));
  return new Map(orderIds.map((id, i) => [id, parseWarehouse(documents[i])]));
}

function parseWarehouse(json: string | null | undefined): string | null {
  if (!json) return null;
  return (JSON.parse(json) as { warehouseId?: string | null }).warehouseId ?? null;
}
