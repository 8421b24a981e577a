/**
 * The dead-letter workbench: the queues (one per live projection, plus the
 * history group's and the alert webhooks'), their dead letters masked, and the
 * two actions on them, re-drive and discard, each recorded in the action log.
 * Expected refusals (unknown queue or entry, a queue that cannot be re-driven)
 * are ProblemErrors, which the HTTP funnel renders as RFC 9457 documents.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import type {
  DeadLetterAction, DeadLetterActionEntry, DeadLetterDetail, DeadLetterOverview, DeadLetterQueue, DeadLetterQueueKind, DeadLetterSelector,
} from '../../shared/dead-letters.ts';
import type { Registry } from '../../shared/registry.ts';
import { CONSUMER_GROUPS } from '../../shared/streams.ts';
import { ProblemError } from '../http/problem.ts';
import { ActionLog } from './action-log.ts';
import { DeadLetterReader, type DeadLetter, type Selection } from './dead-letter-reader.ts';
import { blotOut } from '../registry/mask-sensitive.ts';
import type { DeadLetterRedrivePort } from './redrive-port.ts';

/** The queue of the alert webhooks' dead letters (server/alerts/webhooks.ts). */
export const WEBHOOKS_QUEUE = 'webhooks';

const NOT_REDRIVABLE: Record<Exclude<DeadLetterQueueKind, 'projection'>, string> = {
  history:
    'History dead letters are events ClickHouse cannot store as they are (not JSON, a time outside 1970–2106) or whose data does not fit ' +
    'their type, so their analytic rows are missing. They are not re-driven from here: correct the event and send it again from its ' +
    'producer (with a new id), or rebuild the analytic tables; then discard these.',
  webhooks:
    'A webhook dead letter is an alert change a receiver refused. It is not re-sent from here: the alert itself is current on the Alerts ' +
    'page. Discard it once the receiver is fixed.',
};

export interface WorkbenchOptions {
  redis: RedisClient;
  registry: Registry;
  /** Re-drives into the live projections; its `projections` are the projection queues. */
  redrive: DeadLetterRedrivePort;
  now: () => number;
}

export interface ActionRequest {
  selector: DeadLetterSelector;
  reason?: string;
  by?: string;
}

export class DeadLetterWorkbench {
  readonly #reader: DeadLetterReader;
  readonly #log: ActionLog;
  readonly #queues: ReadonlyMap<string, DeadLetterQueueKind>;

  constructor(private readonly options: WorkbenchOptions) {
    this.#reader = new DeadLetterReader(options.redis, options.registry);
    this.#log = new ActionLog(options.redis);
    this.#queues = new Map<string, DeadLetterQueueKind>([
      ...options.redrive.projections.map((name) => [name, 'projection'] as const),
      [CONSUMER_GROUPS.history, 'history'],
      [WEBHOOKS_QUEUE, 'webhooks'],
    ]);
  }

  get actions(): ActionLog {
    return this.#log;
  }

  /** Every queue with its count and its groups by error. */
  async overview(): Promise<DeadLetterOverview> {
    const queues = await Promise.all([...this.#queues].map(async ([name, kind]): Promise<DeadLetterQueue> => ({
      name, kind, redrive: kind === 'projection' ? { supported: true } : { supported: false, reason: NOT_REDRIVABLE[kind] },
      ...(await this.#reader.groups(name)),
    })));
    return { queues };
  }

  page(queue: string, options: { error?: string; after?: string; limit: number }) {
    this.#kind(queue);
    return this.#reader.page(queue, options);
  }

  async entry(queue: string, id: string): Promise<DeadLetterDetail> {
    this.#kind(queue);
    const letter = await this.#reader.get(queue, id);
    if (!letter) throw new ProblemError('notFound', 404, `No dead letter ${id} in ${queue}.`);
    return this.#reader.detail(queue, letter);
  }

  /** Re-drives the selected dead letters into the queue's projection, one by one, oldest first. */
  async redrive(queue: string, request: ActionRequest): Promise<DeadLetterAction> {
    const kind = this.#kind(queue);
    if (kind !== 'projection') throw new ProblemError('notImplemented', 501, NOT_REDRIVABLE[kind], { queue });
    const selection = await this.#select(queue, request.selector);
    const entries: DeadLetterActionEntry[] = [];
    for (const letter of selection.letters) {
      const { summary } = letter;
      const result = summary.partition === null
        ? { outcome: 'failed' as const, error: 'the dead letter does not say which partition its event came from' }
        : await this.options.redrive.redrive(queue, { entryId: summary.id, event: letter.raw, partition: summary.partition, streamId: summary.streamId });
      entries.push({
        ...identity(letter), outcome: result.outcome,
        ...('error' in result ? { error: blotOut(result.error, letter.hidden) } : {}),
      });
    }
    return this.#log.record({ ...this.#about('redrive', queue, request, selection), entries });
  }

  /** Removes the selected dead letters, with a reason, in one step with its record. */
  async discard(queue: string, request: ActionRequest & { reason: string }): Promise<DeadLetterAction> {
    this.#kind(queue);
    const selection = await this.#select(queue, request.selector);
    const entries = selection.letters.map((letter): DeadLetterActionEntry => ({ ...identity(letter), outcome: 'discarded' }));
    return this.#log.discard({ ...this.#about('discard', queue, request, selection), entries });
  }

  #about(action: 'redrive' | 'discard', queue: string, request: ActionRequest, selection: Selection) {
    return {
      action, queue, selector: request.selector, more: selection.more,
      reason: request.reason ?? null, by: request.by ?? null, at: new Date(this.options.now()).toISOString(),
    };
  }

  async #select(queue: string, selector: DeadLetterSelector): Promise<Selection> {
    const selection = await this.#reader.select(queue, selector);
    if (selection.missing.length > 0) {
      throw new ProblemError('notFound', 404, `No dead letter ${selection.missing.join(', ')} in ${queue}: nothing was done.`, { missing: selection.missing });
    }
    if (selection.letters.length === 0) {
      const what = 'error' in selector ? ` with the error "${selector.error}"` : '';
      throw new ProblemError('notFound', 404, `No dead letters${what} in ${queue}: nothing was done.`);
    }
    return selection;
  }

  #kind(queue: string): DeadLetterQueueKind {
    const kind = this.#queues.get(queue);
    if (!kind) throw new ProblemError('notFound', 404, `No dead-letter queue "${queue}". Queues: ${[...this.#queues.keys()].join(', ')}.`);
    return kind;
  }
}

const identity = (letter: DeadLetter) => ({ id: letter.summary.id, source: letter.summary.source, eventId: letter.summary.eventId });

