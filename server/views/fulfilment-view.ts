/** The fulfilment view: in-flight orders by stage, stuck ones first (DESIGN.md section 4, Fulfilment). */
import { z } from 'zod';
import { IN_FLIGHT_STAGES, readModelKeys, type InFlightStage } from '../../shared/read-models.ts';
import type { FulfilmentState, InFlightOrder } from '../../shared/views.ts';
import type { RedisClient } from '../../platform/redis/client.ts';

export const fulfilmentFilter = z.strictObject({
  warehouseId: z.string().min(1).optional(),
  stage: z.enum(IN_FLIGHT_STAGES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type FulfilmentFilter = z.infer<typeof fulfilmentFilter>;

export type StageLimits = Readonly<Record<InFlightStage, number>>;

export async function readFulfilment(
  redis: RedisClient,
  filter: FulfilmentFilter,
  limits: StageLimits,
  now: number,
): Promise<FulfilmentState> {
  const stages = filter.stage ? [filter.stage] : [...IN_FLIGHT_STAGES];
  const members = await Promise.all(stages.map((s) => redis.zRangeWithScores(readModelKeys.fulfilmentStage(s), 0, -1)));
  const ids = members.flatMap((list) => list.map((m) => m.value));
  const documents = ids.length > 0 ? await redis.mGet(ids.map((id) => readModelKeys.fulfilment(id))) : [];
  const warehouseOf = new Map(ids.map((id, i) => [id, parseWarehouse(documents[i])]));

  const orders: InFlightOrder[] = stages.flatMap((stage, s) => members[s]!.map(({ value: orderId, score }) => {
    const waitingMs = Math.max(0, now - score);
    return {
      orderId, warehouseId: warehouseOf.get(orderId) ?? null, stage, lastEventAt: new Date(score).toISOString(),
      waitingMs, limitMs: limits[stage], stuck: waitingMs > limits[stage],
    };
  })).filter((o) => !filter.warehouseId || o.warehouseId === filter.warehouseId);

  const inFlight = Object.fromEntries(IN_FLIGHT_STAGES.map((s) => [s, 0])) as Record<InFlightStage, number>;
  for (const o of orders) inFlight[o.stage]++;
  // Stuck first, then the longest waiting.
  orders.sort((a, b) => Number(b.stuck) - Number(a.stuck) || b.waitingMs - a.waitingMs);
  return { inFlight, stuck: orders.filter((o) => o.stuck).length, orders: orders.slice(0, filter.limit) };
}

function parseWarehouse(json: string | null | undefined): string | null {
  if (!json) return null;
  return (JSON.parse(json) as { warehouseId?: string | null }).warehouseId ?? null;
}
