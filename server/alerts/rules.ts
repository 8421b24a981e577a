/**
 * Alert rules: four kinds (DESIGN.md section 4, Alerts), each a pure function
 * from what was read (Readings) to a verdict per key: fire, clear, or hold
 * (between the fire and resolve bounds: keep whatever state the alert has,
 * which is the hysteresis that stops flapping). No I/O and no clock here: the
 * evaluator reads, the alert store applies.
 */
import { z } from 'zod';
import type { AlertSeverity } from '../../shared/alerts.ts';
import { IN_FLIGHT_STAGES, KPI_COUNT_FIELDS, type InFlightStage, type InventoryRow, type KpiMinute } from '../../shared/read-models.ts';

/** What one evaluation reads; see readings.ts. */
export interface Readings {
  now: number;
  inventory: readonly InventoryRow[];
  /** KPI minutes by event time, newest last, covering the widest rate window. */
  kpiMinutes: readonly KpiMinute[];
  /** In-flight orders that wait longer than the smallest stage limit of any absence rule. */
  waiting: ReadonlyArray<{ orderId: string; stage: InFlightStage; lastEventMs: number }>;
  /** False when there were more waiting orders than were read: unread ones are not cleared. */
  waitingComplete: boolean;
  /** Dead-letter stream lengths, by projection or group. */
  deadLetters: Readonly<Record<string, number>>;
  /** Age in seconds of the oldest entry not yet acknowledged, by consumer group. */
  lagSeconds: Readonly<Record<string, number>>;
}

export type Verdict = 'fire' | 'clear' | 'hold';

export interface Observation {
  key: string;
  verdict: Verdict;
  value: number;
  message: string;
}

export interface Evaluation {
  rule: string;
  severity: AlertSeverity;
  observations: Observation[];
  /** Whether every key of the rule was looked at: then an open alert on a key not observed is cleared. */
  complete: boolean;
}

const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule names are lower-case words joined by "-", e.g. "low-stock"');
const severity = z.enum(['info', 'warning', 'critical']);
/** Where each change of the rule's alerts is POSTed (fired, acknowledged, resolved), with retries. */
const webhook = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** Extra request headers, e.g. an authorization the receiver expects. */
  headers: z.record(z.string(), z.string()).default({}),
});

const stageLimits = z.strictObject(Object.fromEntries(IN_FLIGHT_STAGES.map((s) => [s, z.number().int().min(1).optional()])) as
  Record<InFlightStage, z.ZodOptional<z.ZodNumber>>);

export const ruleSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('threshold'), name, webhook: webhook.optional(), severity: severity.default('warning'),
    /** Fires when available stock is below this; by default each sku's reorder level (the low-stock flag). */
    below: z.number().int().optional(),
    warehouseId: z.string().min(1).optional(),
    sku: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal('rate'), name, webhook: webhook.optional(), severity: severity.default('critical'),
    failures: z.enum(KPI_COUNT_FIELDS), successes: z.enum(KPI_COUNT_FIELDS),
    windowMinutes: z.number().int().min(1).max(60).default(5),
    fireAbove: z.number().min(0).max(1), resolveBelow: z.number().min(0).max(1),
    minVolume: z.number().int().min(1).default(20),
  }).refine((r) => r.resolveBelow <= r.fireAbove, { message: 'resolveBelow must not be above fireAbove' }),
  z.strictObject({
    kind: z.literal('absence'), name, webhook: webhook.optional(), severity: severity.default('warning'),
    /** Per stage; unset stages use the fulfilment stage limits. */
    limitsMs: stageLimits.default({}),
  }),
  z.strictObject({
    kind: z.literal('pipeline'), name, webhook: webhook.optional(), severity: severity.default('warning'),
    measure: z.enum(['deadLetters', 'lagSeconds']),
    above: z.number().min(0),
    /** Resolves at or below this (default: `above`). */
    resolveAtOrBelow: z.number().min(0).optional(),
  }),
]);

export type AlertRule = z.infer<typeof ruleSchema>;

/** The built-in rules of DESIGN.md section 4; config adds more of the same kinds. */
export const BUILT_IN_RULES: readonly AlertRule[] = [
  { kind: 'threshold', name: 'low-stock', severity: 'warning' },
  {
    kind: 'rate', name: 'payment-failure-rate', severity: 'critical', failures: 'paymentsFailed', successes: 'paymentsAuthorized',
    windowMinutes: 5, fireAbove: 0.05, resolveBelow: 0.04, minVolume: 20,
  },
  { kind: 'absence', name: 'stuck-order', severity: 'warning', limitsMs: {} },
  { kind: 'pipeline', name: 'dead-letters', severity: 'critical', measure: 'deadLetters', above: 0 },
  { kind: 'pipeline', name: 'consumer-lag', severity: 'warning', measure: 'lagSeconds', above: 10, resolveAtOrBelow: 5 },
];

export function evaluate(rule: AlertRule, readings: Readings, stageLimitsMs: Readonly<Record<InFlightStage, number>>): Evaluation {
  const base = { rule: rule.name, severity: rule.severity };
  switch (rule.kind) {
    case 'threshold':
      return { ...base, complete: true, observations: lowStock(rule, readings.inventory) };
    case 'rate':
      return { ...base, complete: true, observations: [failureRate(rule, readings)] };
    case 'absence':
      return { ...base, complete: readings.waitingComplete, observations: stuck({ ...stageLimitsMs, ...rule.limitsMs }, readings) };
    case 'pipeline':
      return { ...base, complete: true, observations: pipeline(rule, readings) };
  }
}

function lowStock(rule: Extract<AlertRule, { kind: 'threshold' }>, rows: readonly InventoryRow[]): Observation[] {
  return rows
    .filter((r) => (rule.warehouseId === undefined || r.warehouseId === rule.warehouseId) && (rule.sku === undefined || r.sku === rule.sku))
    .map((r) => {
      const low = rule.below === undefined ? r.lowStock : r.available < rule.below;
      return {
        key: `${r.warehouseId}/${r.sku}`, verdict: low ? 'fire' : 'clear', value: r.available,
        message: `${r.sku} in ${r.warehouseId}: ${r.available} available${rule.below === undefined ? '' : ` (below ${rule.below})`}`,
      };
    });
}

function failureRate(rule: Extract<AlertRule, { kind: 'rate' }>, readings: Readings): Observation {
  const from = readings.now - (readings.now % 60_000) - (rule.windowMinutes - 1) * 60_000;
  let failures = 0;
  let successes = 0;
  for (const minute of readings.kpiMinutes) {
    if (Date.parse(minute.minute) < from) continue;
    failures += minute[rule.failures];
    successes += minute[rule.successes];
  }
  const volume = failures + successes;
  const rate = volume > 0 ? failures / volume : 0;
  const verdict: Verdict = volume >= rule.minVolume && rate > rule.fireAbove ? 'fire' : rate < rule.resolveBelow ? 'clear' : 'hold';
  const percent = (n: number) => `${(n * 100).toFixed(1)} %`;
  return {
    key: 'all', verdict, value: Math.round(rate * 10_000) / 10_000,
    message: `${percent(rate)} of ${volume} over the last ${rule.windowMinutes} min (fires above ${percent(rule.fireAbove)} with at least ${rule.minVolume}, resolves below ${percent(rule.resolveBelow)})`,
  };
}

function stuck(limits: Readonly<Record<InFlightStage, number>>, readings: Readings): Observation[] {
  return readings.waiting
    .filter((o) => readings.now - o.lastEventMs > limits[o.stage])
    .map((o) => {
      const waitingS = Math.floor((readings.now - o.lastEventMs) / 1000);
      return {
        key: o.orderId, verdict: 'fire', value: waitingS,
        message: `order ${o.orderId} ${o.stage} for ${waitingS} s (limit ${limits[o.stage] / 1000} s)`,
      };
    });
}

function pipeline(rule: Extract<AlertRule, { kind: 'pipeline' }>, readings: Readings): Observation[] {
  const values = rule.measure === 'deadLetters' ? readings.deadLetters : readings.lagSeconds;
  const resolveAtOrBelow = rule.resolveAtOrBelow ?? rule.above;
  return Object.entries(values).map(([key, value]) => ({
    key, value,
    verdict: value > rule.above ? 'fire' : value <= resolveAtOrBelow ? 'clear' : 'hold',
    message: rule.measure === 'deadLetters' ? `${value} dead letter(s) of ${key}` : `${key} is ${value} s behind`,
  }));
}
