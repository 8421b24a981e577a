/**
 * The overview: KPI tiles and the last 60 minutes of KPIs per minute (by event time).
 * Tiles: orders placed this minute, GMV and payment success rate of the last 60
 * minutes, in-flight orders, low-stock rows, firing alerts.
 */
import { z } from 'zod';
import { emptyKpiMinute, parseKpiHash, readModelKeys } from '../../shared/read-models.ts';
import type { OverviewState } from '../../shared/views.ts';
import { countFiring } from '../alerts/alerts-view.ts';
import type { ReadModelSource } from './read-model-source.ts';
import { readFulfilment, type StageLimits } from './fulfilment-view.ts';
import { readInventory, type ReorderLevels } from './inventory-view.ts';

export const overviewFilter = z.strictObject({});

const WINDOW_MINUTES = 60;

export async function readOverview(
  source: ReadModelSource,
  context: { now: number; levels: ReorderLevels; limits: StageLimits },
): Promise<OverviewState> {
  const currentMinute = context.now - (context.now % 60_000);
  const starts = Array.from({ length: WINDOW_MINUTES }, (_, i) => currentMinute - (WINDOW_MINUTES - 1 - i) * 60_000);
  const [hashes, inventory, fulfilment, firingAlerts] = await Promise.all([
    Promise.all(starts.map((ms) => source.hGetAll(readModelKeys.kpiMinute(new Date(ms).toISOString())))),
    readInventory(source, {}, context.levels),
    readFulfilment(source, { limit: 1 }, context.limits, context.now),
    countFiring(source),
  ]);
  const minutes = starts.map((ms, i) => {
    const minute = new Date(ms).toISOString();
    return Object.keys(hashes[i]!).length > 0 ? parseKpiHash(minute, hashes[i]!) : emptyKpiMinute(minute);
  });
  const gmv: Record<string, number> = {};
  let authorized = 0;
  let failed = 0;
  for (const m of minutes) {
    for (const [currency, amount] of Object.entries(m.gmv)) gmv[currency] = round((gmv[currency] ?? 0) + amount);
    authorized += m.paymentsAuthorized;
    failed += m.paymentsFailed;
  }
  return {
    tiles: {
      ordersPerMinute: minutes[minutes.length - 1]!.ordersPlaced,
      gmv,
      paymentSuccessRate: authorized + failed > 0 ? authorized / (authorized + failed) : null,
      inFlight: fulfilment.inFlight.placed + fulfilment.inFlight.reserved + fulfilment.inFlight.paid,
      stuck: fulfilment.stuck,
      lowStock: inventory.rows.filter((r) => r.lowStock).length,
      firingAlerts,
    },
    minutes,
  };
}

/** Money of minutes added up, rounded to the stored precision so sums do not show float noise. */
const round = (amount: number) => Math.round(amount * 10_000) / 10_000;
