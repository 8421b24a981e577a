/**
 * Webhook notifications: every change of an alert whose rule names a webhook
 * is POSTed to it, from the changes stream (the outbox the alert store writes
 * in the same step as the change) through the consumer group "webhooks". A
 * change is acknowledged after its delivery succeeded or gave up, so a crash
 * delivers it again later (receivers get an `Idempotency-Key`), and a process
 * that dies holding changes has them claimed by another after a while.
 *
 * Deliveries run beside the evaluation, never in it: a receiver that is down
 * costs retries with backoff here, and never delays an alert. After the retry
 * budget the change goes to the dead-letter stream `eventdeck:dlq:webhooks`,
 * where the dead-letters rule sees it.
 */
import { catchError, concatMap, defer, EMPTY, finalize, from, ignoreElements, mergeMap, of, repeat, retry, type Subscription, timer } from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import { backoffMs, type BackoffPolicy } from '../../platform/retry/backoff.ts';
import { deadLetterKey } from '../../shared/streams.ts';
import { waitAfterFailure } from '../../platform/retry/wait-after-failure.ts';
import { ensureStreamGroup, GroupReader, type GroupEntry } from '../pipeline/group-reader.ts';
import { alertKeys } from './alert-keys.ts';
import { alertFromFields } from './alerts-view.ts';
import type { AlertRule } from './rules.ts';

const GROUP = 'webhooks';
export const WEBHOOK_DEAD_LETTERS = deadLetterKey(GROUP);
/** Deliveries in flight at once, over all receivers. */
const CONCURRENCY = 8;
/**
 * A change held this long by a consumer that does not acknowledge it is taken over: well past the
 * longest delivery (every attempt timing out, with the backoffs between), so a live one is not.
 */
const CLAIM_IDLE_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface WebhookOptions {
  redis: RedisClient;
  rules: readonly AlertRule[];
  /** This process's consumer name in the group. */
  consumer: string;
  retry: BackoffPolicy & { attempts: number };
  now: () => number;
  random: () => number;
  log: (line: string) => void;
}

/** A receiver's answer that retrying may change (it was down or busy); others are final. */
class RetryableDeliveryError extends Error {}

type Change = GroupEntry;

export class WebhookDelivery {
  /** Changes this process is delivering: a claim of its own pending entries skips them. */
  readonly #inFlight = new Set<string>();
  #connection: RedisClient | undefined;
  #reader: GroupReader | undefined;
  #running: Subscription | undefined;
  #stopped = false;

  constructor(private readonly options: WebhookOptions) {}

  async start(): Promise<void> {
    if (!this.options.rules.some((r) => r.webhook)) return; // nobody to notify
    const { redis, log } = this.options;
    await ensureStreamGroup(redis, alertKeys.changes, GROUP);
    // Blocking reads need a connection of their own.
    this.#connection = redis.duplicate();
    this.#connection.on('error', () => {});
    await this.#connection.connect();
    this.#reader = new GroupReader(this.#connection, {
      stream: alertKeys.changes, group: GROUP, consumer: this.options.consumer, count: 50, blockMs: 1_000, claimIdleMs: CLAIM_IDLE_MS,
    });
    this.#running = defer(() => this.#read()).pipe(
      repeat({ delay: () => (this.#stopped ? EMPTY : of(0)) }),
      retry({ delay: (error: Error, count) =>
        waitAfterFailure('alerts: reading changes for webhooks', error, count, { policy: this.options.retry, log, random: this.options.random }) }),
      concatMap((changes) => from(changes)),
      mergeMap((change) => this.#deliver(change), CONCURRENCY),
      ignoreElements(),
    ).subscribe();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running?.unsubscribe();
    await this.#connection?.close().catch(() => undefined);
  }

  /** The next changes (see GroupReader for the order); those being delivered are not claimed again. */
  #read(): Promise<Change[]> {
    return this.#reader!.next(this.#inFlight);
  }

  /** Delivers one change (or not, if its rule has no webhook), then acknowledges it. */
  #deliver(change: Change) {
    const { redis, rules, retry: policy, random, now, log } = this.options;
    const alert = alertFromFields(change.message);
    const webhook = alert && rules.find((r) => r.name === alert.rule)?.webhook;
    const acknowledge = () => redis.xAck(alertKeys.changes, GROUP, change.id);
    // Redis away while acknowledging: the change stays pending and is claimed again later.
    if (!alert || !webhook) return defer(acknowledge).pipe(catchError(() => EMPTY));
    const id = `${alert.id}:${change.message.change}`;
    let attempts = 0;
    this.#inFlight.add(change.id);
    return defer(() => {
      attempts++;
      return post(webhook.url, webhook.headers, id, { id, change: change.message.change, alert });
    }).pipe(
      retry({
        count: policy.attempts - 1,
        delay: (error: Error, count) => {
          if (!(error instanceof RetryableDeliveryError)) throw error;
          return timer(backoffMs(policy, count, random));
        },
      }),
      concatMap(acknowledge),
      catchError((error: Error) => {
        log(`alerts: webhook ${webhook.url} refused ${id} after ${attempts} attempt(s): ${error.message}`);
        // The dead letter and the acknowledgement together: a crash cannot dead-letter it twice.
        return defer(() => redis.multi()
          .xAdd(WEBHOOK_DEAD_LETTERS, '*', {
            event: JSON.stringify({ id, change: change.message.change, alert }), error: error.message,
            attempts: String(attempts), streamId: change.id, url: webhook.url, failedAt: String(now()),
          })
          .xAck(alertKeys.changes, GROUP, change.id)
          .exec());
      }),
      catchError(() => EMPTY),
      finalize(() => this.#inFlight.delete(change.id)),
    );
  }
}

async function post(url: string, headers: Record<string, string>, id: string, body: unknown): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': id, 'user-agent': 'EventDeck alerts' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new RetryableDeliveryError(`no answer: ${(error as Error).message}`);
  }
  await response.body?.cancel();
  if (response.ok) return;
  const message = `answered ${response.status}`;
  throw response.status >= 500 || response.status === 408 || response.status === 429 ? new RetryableDeliveryError(message) : new Error(message);
}
