/** POST /api/events: validate every event, then append them once each. */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import type { Registry } from '../../shared/registry.ts';
import type { Config } from '../config.ts';
import { ProblemError } from '../http/problem.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { EventValidator } from '../registry/validator.ts';
import { appendEvents } from './append-events.ts';
import { readEvents } from './content-modes.ts';
import { validateEvents, type Deprecation } from './validate-events.ts';

export interface IngestDeps {
  redis: RedisClient;
  registry: Registry;
  validator: EventValidator;
  config: Pick<Config, 'partitions' | 'ingest'>;
  now: () => number;
  log: (line: string) => void;
  /** Told what each request did: metrics (server/metrics/ingest-metrics.ts), pipeline activity (server/pipeline/activity.ts). */
  observers?: readonly IngestObserver[];
  /** Whether the caller may publish these (valid) events; throws a 403 problem when not. Nothing is appended then. */
  authorize?: (c: Context, events: readonly CloudEvent[]) => void;
}

/** Why an event of a refused request was not appended: it was invalid, came with one, its batch was too long, the caller may not publish it (or one of its batch), or Redis failed. */
export type RejectReason = 'invalid' | 'with_invalid' | 'too_large' | 'forbidden' | 'unavailable';

export interface IngestObserver {
  /** A request starts; the function returned is called with the status it is answered with. */
  request?(): (status: number) => void;
  /** Events Redis holds now; `duplicate[i]` is true when it held events[i] already (not appended again). */
  appended?(events: readonly CloudEvent[], duplicate: readonly boolean[]): void;
  /** Events of a request that appended nothing (as parsed: maybe not events at all). */
  refused?(events: readonly unknown[], reason: (index: number) => RejectReason): void;
}

export function ingestRoutes(deps: IngestDeps): Hono {
  const { maxBodyBytes, maxBatchEvents, maxFutureMs, dedupTtlSeconds } = deps.config.ingest;
  const tooLarge = () => {
    const problem = new ProblemError('tooLarge', 413, `The body is over the limit of ${maxBodyBytes} bytes; split it into smaller batches.`, {
      maxBodyBytes,
    });
    // The rest of the body stays unread: the connection cannot carry another request.
    problem.headers = { connection: 'close' };
    throw problem;
  };
  const streamedBodyLimit = bodyLimit({ maxSize: maxBodyBytes, onError: tooLarge });
  const observers = deps.observers ?? [];
  const refused = (events: readonly unknown[], reason: (index: number) => RejectReason) => {
    for (const observer of observers) observer.refused?.(events, reason);
  };
  const app = new Hono();
  app.post(
    '/',
    async (c, next) => {
      const answered = observers.map((observer) => observer.request?.());
      await next(); // errors are answered by then (the app's error funnel): c.res holds the problem document
      for (const end of answered) end?.(c.res.status);
    },
    (c, next) => {
      // With a Content-Length the header decides, without touching c.req.raw.body: that would turn the
      // request into a web stream, which costs more than the rest of the request's parsing (see the ingest bench).
      const length = c.req.header('content-length');
      if (length === undefined || c.req.header('transfer-encoding')) return streamedBodyLimit(c, next);
      return Number(length) > maxBodyBytes ? tooLarge() : next();
    },
    async (c) => {
      const raw = readEvents(c.req.header('content-type'), c.req.raw.headers, Buffer.from(await c.req.arrayBuffer()));
      if (raw.events.length > maxBatchEvents) {
        refused(raw.events, () => 'too_large');
        throw new ProblemError('tooLarge', 413, `The batch has ${raw.events.length} events; at most ${maxBatchEvents} are accepted per request.`, {
          maxBatchEvents,
        });
      }
      if (raw.events.length === 0) throw new ProblemError('badRequest', 400, 'The request holds no events.');
      const now = deps.now();
      const validation = validateEvents(raw.events, { registry: deps.registry, validator: deps.validator, maxFutureMs, now });
      if (!validation.ok) {
        const invalid = new Set(validation.problems.map((p) => p.index));
        refused(raw.events, (i) => (invalid.has(i) ? 'invalid' : 'with_invalid'));
        throw new ProblemError('invalidEvents', 422,
          `${invalid.size} of ${raw.events.length} events are invalid; nothing was accepted.`, { errors: validation.problems });
      }
      try {
        deps.authorize?.(c, validation.events);
      } catch (refusal) {
        refused(validation.events, () => 'forbidden');
        throw refusal;
      }
      let result;
      try {
        result = await appendEvents(deps.redis, validation.events, {
          partitions: deps.config.partitions, dedupTtlSeconds, acceptedAt: now,
        });
      } catch (cause) {
        deps.log(`ingest: append to Redis failed: ${(cause as Error).message}`);
        refused(validation.events, () => 'unavailable');
        throw new ProblemError('unavailable', 503,
          'Redis did not confirm the events. Send the same request again: events already taken are recognised as duplicates.',
          { retryable: true });
      }
      for (const observer of observers) observer.appended?.(validation.events, result.duplicate);
      for (const [name, value] of Object.entries(deprecationHeaders(validation.deprecations))) c.header(name, value);
      return c.json({ received: raw.events.length, accepted: result.accepted, duplicates: result.duplicates }, 202);
    },
  );
  return app;
}

/** RFC 9745 Deprecation (the earliest date, or "true" when unknown) and Link to each type's schema. */
function deprecationHeaders(deprecations: Deprecation[]): Record<string, string> {
  if (deprecations.length === 0) return {};
  const dates = deprecations.map((d) => (d.deprecatedAt ? Date.parse(d.deprecatedAt) : NaN)).filter(Number.isFinite);
  return {
    Deprecation: dates.length > 0 ? `@${Math.floor(Math.min(...dates) / 1000)}` : 'true',
    Link: deprecations.map((d) => `</api/registry/${encodeURIComponent(d.type)}>; rel="deprecation"`).join(', '),
  };
}
