import { describe, expect, it } from 'vitest';
import { emptyKpiMinute, inventoryRow, type KpiMinute } from '../../shared/read-models.ts';
import { BUILT_IN_RULES, evaluate, ruleSchema, type AlertRule, type Readings } from './rules.ts';

const NOW = Date.parse('2026-11-26T10:04:30.000Z');
const LIMITS = { placed: 120_000, reserved: 300_000, paid: 1_800_000 };
const rule = (name: string): AlertRule => BUILT_IN_RULES.find((r) => r.name === name)!;

const readings = (over: Partial<Readings> = {}): Readings => ({
  now: NOW, inventory: [], kpiMinutes: [], waiting: [], waitingComplete: true, deadLetters: {}, lagSeconds: {}, ...over,
});

/** One KPI minute `minutesAgo` before NOW's minute with these payments. */
function payments(minutesAgo: number, paymentsFailed: number, paymentsAuthorized: number): KpiMinute {
  const start = NOW - (NOW % 60_000) - minutesAgo * 60_000;
  return { ...emptyKpiMinute(new Date(start).toISOString()), paymentsFailed, paymentsAuthorized };
}

describe('low stock (threshold on a read-model value)', () => {
  it('fires for a row whose available stock is below its reorder level, and clears the others', () => {
    // given two rows with reorder level 10: 7 available, and 10 available
    const inventory = [inventoryRow({ warehouseId: 'w1', sku: 'a', onHand: 12, reserved: 5 }, 10), inventoryRow({ warehouseId: 'w1', sku: 'b', onHand: 10, reserved: 0 }, 10)];
    // when
    const result = evaluate(rule('low-stock'), readings({ inventory }), LIMITS);
    // then
    expect(result.observations).toEqual([
      { key: 'w1/a', verdict: 'fire', value: 7, message: 'a in w1: 7 available' },
      { key: 'w1/b', verdict: 'clear', value: 10, message: 'b in w1: 10 available' },
    ]);
    expect(result).toMatchObject({ rule: 'low-stock', severity: 'warning', complete: true });
  });

  it('a configured rule may use its own bound and look at one warehouse', () => {
    const custom = ruleSchema.parse({ kind: 'threshold', name: 'berlin-stock', below: 100, warehouseId: 'berlin' });
    const inventory = [inventoryRow({ warehouseId: 'berlin', sku: 'a', onHand: 50, reserved: 0 }, 10), inventoryRow({ warehouseId: 'w1', sku: 'a', onHand: 1, reserved: 0 }, 10)];
    expect(evaluate(custom, readings({ inventory }), LIMITS).observations.map((o) => [o.key, o.verdict])).toEqual([['berlin/a', 'fire']]);
  });
});

describe('payment failure rate (rate over a sliding event-time window, with minimum volume and hysteresis)', () => {
  const verdict = (kpiMinutes: KpiMinute[]) => evaluate(rule('payment-failure-rate'), readings({ kpiMinutes }), LIMITS).observations[0]!;

  it('does not fire above 5 % without at least 20 payments', () => {
    // given 19 payments of which 5 failed (26 %)
    expect(verdict([payments(1, 5, 14)])).toMatchObject({ key: 'all', verdict: 'hold', value: 0.2632 });
  });

  it('fires above 5 % with 20 payments or more in the last 5 minutes', () => {
    // given 2 failed of 20 (10 %), spread over the window
    expect(verdict([payments(4, 1, 9), payments(0, 1, 9)]).verdict).toBe('fire');
  });

  it('counts only the last 5 minutes: older failures have left the window', () => {
    expect(verdict([payments(5, 10, 10), payments(0, 0, 20)])).toMatchObject({ verdict: 'clear', value: 0 });
  });

  it('holds between 4 % and 5 % (no flapping) and clears below 4 %', () => {
    expect(verdict([payments(0, 9, 191)]).verdict).toBe('hold'); // 4.5 %
    expect(verdict([payments(0, 7, 193)]).verdict).toBe('clear'); // 3.5 %
  });
});

describe('stuck order (absence past the stage limit)', () => {
  it('fires per order waiting longer than its stage limit; the rest are not observed, so their alerts clear', () => {
    const waiting = [
      { orderId: 'o-1', stage: 'placed' as const, lastEventMs: NOW - 121_000 },
      { orderId: 'o-2', stage: 'reserved' as const, lastEventMs: NOW - 121_000 },
    ];
    const result = evaluate(rule('stuck-order'), readings({ waiting }), LIMITS);
    expect(result.observations).toEqual([{ key: 'o-1', verdict: 'fire', value: 121, message: 'order o-1 placed for 121 s (limit 120 s)' }]);
    expect(result.complete).toBe(true);
  });

  it('does not clear what it could not read', () => {
    expect(evaluate(rule('stuck-order'), readings({ waitingComplete: false }), LIMITS).complete).toBe(false);
  });
});

describe('pipeline health', () => {
  it('dead letters present fire per projection and clear when none are left', () => {
    const observations = evaluate(rule('dead-letters'), readings({ deadLetters: { orders: 2, inventory: 0 } }), LIMITS).observations;
    expect(observations.map((o) => [o.key, o.verdict, o.value])).toEqual([['orders', 'fire', 2], ['inventory', 'clear', 0]]);
  });

  it('consumer lag fires above 10 s, holds down to 5 s and clears at 5 s or less', () => {
    const lag = (seconds: number) => evaluate(rule('consumer-lag'), readings({ lagSeconds: { live: seconds } }), LIMITS).observations[0]!.verdict;
    expect([lag(10.5), lag(7), lag(5)]).toEqual(['fire', 'hold', 'clear']);
  });
});

describe('configured rules', () => {
  it('refuse a rate rule that would resolve above where it fires', () => {
    const parsed = ruleSchema.safeParse({ kind: 'rate', name: 'x', failures: 'paymentsFailed', successes: 'paymentsAuthorized', fireAbove: 0.1, resolveBelow: 0.2 });
    expect(parsed.success).toBe(false);
  });
});
