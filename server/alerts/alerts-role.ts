/**
 * The alerts role: evaluates every rule on a timer (absence and lag need time
 * to pass) and soon after any read model changes (throttled), one evaluation
 * at a time. Rules read the read models, which are exactly once and order-free,
 * so redelivered events cannot fire an alert twice; several processes with
 * this role are safe too, since the store's transitions are atomic. Beside
 * the evaluation, the role delivers the webhooks of the rules that have one.
 */
import os from 'node:os';
import { auditTime, catchError, defer, EMPTY, exhaustMap, filter, interval, merge, Subject, type Subscription } from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { BackoffPolicy } from '../../platform/retry/backoff.ts';
import { VIEW_CHANGED_CHANNEL, type InFlightStage } from '../../shared/read-models.ts';
import type { ReorderLevels } from '../views/inventory-view.ts';
import { ALERTS_VIEW } from './alert-keys.ts';
import { AlertStore } from './alert-store.ts';
import { readReadings } from './readings.ts';
import { evaluate, type AlertRule } from './rules.ts';
import { WebhookDelivery } from './webhooks.ts';

export interface AlertsOptions {
  redis: RedisClient;
  /** This process's name among consumers of the changes (webhook deliveries). */
  consumer?: string;
  /** Retries of a webhook delivery. */
  webhookRetry?: BackoffPolicy & { attempts: number };
  rules: readonly AlertRule[];
  levels: ReorderLevels;
  stageLimitsMs: Readonly<Record<InFlightStage, number>>;
  partitions: number;
  /** Evaluate at least this often. */
  everyMs: number;
  now: () => number;
  log: (line: string) => void;
}

/** After a change, wait this long for more before evaluating: a burst of commits costs one evaluation. */
const AFTER_CHANGE_MS = 250;
/** About 15 s of retries (0.5, 1, 2, 4, 8 s) before a notification is dead-lettered. */
const WEBHOOK_RETRY = { baseMs: 500, factor: 2, capMs: 10_000, attempts: 6 };

export class AlertEvaluator {
  readonly store: AlertStore;
  readonly #webhooks: WebhookDelivery;
  readonly #changes = new Subject<string>();
  #running: Subscription | undefined;
  #subscriber: RedisClient | undefined;

  constructor(private readonly options: AlertsOptions) {
    this.store = new AlertStore(options.redis);
    this.#webhooks = new WebhookDelivery({
      redis: options.redis, rules: options.rules, retry: options.webhookRetry ?? WEBHOOK_RETRY, now: options.now, random: Math.random, log: options.log,
      consumer: options.consumer ?? `${os.hostname()}-${process.pid}`,
    });
  }

  /** Reads once and applies every rule's verdicts; returns how many alerts changed. */
  async evaluateOnce(now = this.options.now()): Promise<number> {
    const { redis, rules, levels, stageLimitsMs, partitions } = this.options;
    const readings = await readReadings(redis, { rules, levels, stageLimitsMs, partitions }, now);
    let changed = 0;
    for (const rule of rules) changed += await this.store.apply(evaluate(rule, readings, stageLimitsMs), now);
    return changed;
  }

  async start(): Promise<void> {
    const { redis, everyMs, log } = this.options;
    this.#subscriber = redis.duplicate();
    this.#subscriber.on('error', () => {});
    await this.#subscriber.connect();
    await this.#subscriber.subscribe(VIEW_CHANGED_CHANNEL, (view) => this.#changes.next(view));
    this.#running = merge(
      interval(everyMs),
      // Its own changes announce the alerts view: those need no evaluation.
      this.#changes.pipe(filter((view) => view !== ALERTS_VIEW), auditTime(AFTER_CHANGE_MS)),
    ).pipe(
      exhaustMap(() => defer(() => this.evaluateOnce()).pipe(catchError((error: Error) => {
        log(`alerts: evaluation failed (${error.message}); next round in ${everyMs} ms`);
        return EMPTY;
      }))),
    ).subscribe();
    await this.#webhooks.start();
  }

  async stop(): Promise<void> {
    this.#running?.unsubscribe();
    await this.#webhooks.stop();
    await this.#subscriber?.close().catch(() => undefined);
  }
}
