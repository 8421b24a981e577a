/**
 * A steady load on POST /api/events: request bodies sent on a fixed schedule
 * (body k is due at start + k × interval; a late one goes out at once), which
 * never waits for answers, so a slow server cannot lower the load and hide its
 * latency (an open loop). Too many requests unanswered at once stop it with an
 * error: the server, or this process, is then hopelessly behind.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { postEvents } from './post-events.ts';

/** 50 events every 10 ms: the 5,000 events/s of the latency targets, 3 s of warm-up, then 15 s measured. */
export const STEADY_LOAD = { batch: 50, intervalMs: 10, warmUpMs: 3_000, measureMs: 15_000, progressMs: 5_000 } as const;
export const STEADY_RATE = (STEADY_LOAD.batch * 1000) / STEADY_LOAD.intervalMs;
/** More requests than this (10 s of load) unanswered at once stop the run. */
const MAX_IN_FLIGHT = 1_000;

export interface OpenLoopOptions {
  url: string;
  bodies: readonly string[];
  /** Bodies before this index are the warm-up: their schedule lag is not reported. */
  warmUpBatches: number;
  signal: AbortSignal;
  /** Called just before body k goes out, with when it was due and when it went (performance.now()). */
  onSend?(k: number, due: number, sentAt: number): void;
  /** Called after body k went out, every `STEADY_LOAD.progressMs` of schedule and at the end of the warm-up. */
  onProgress?(elapsedMs: number, accepted: number): void;
  /** What to say when the run stops for too many unanswered requests. */
  describeBacklog?(): string;
}

export interface OpenLoopResult {
  accepted: number;
  maxInFlight: number;
  /** How late a measured body went out at worst (ms). */
  maxLagMs: number;
  /** performance.now() when the first measured body and the last body went out. */
  firstMeasuredAt: number;
  lastSentAt: number;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { url, bodies, warmUpBatches, signal } = options;
  const { intervalMs, warmUpMs, progressMs } = STEADY_LOAD;
  let accepted = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let failure: Error | undefined;
  // Connections are opened as requests need them and kept alive.
  const agent = new http.Agent({ keepAlive: true });
  const target = new URL('/api/events', url);
  const post = async (body: string) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    try {
      // No abort signal per request (hundreds may be in flight; each would add a listener): on Ctrl+C
      // the server is stopped, which ends them.
      const result = await postEvents(target, body, agent);
      if (result.duplicates !== 0) throw new Error(`POST /api/events found ${result.duplicates} duplicates`);
      accepted += result.accepted;
    } catch (error) {
      failure ??= new Error(`POST /api/events: ${(error as Error).message}`);
    } finally {
      inFlight--;
    }
  };

  const posts: Promise<void>[] = [];
  let maxLagMs = 0;
  let firstMeasuredAt = NaN;
  let lastSentAt = NaN;
  const start = performance.now();
  try {
    for (let k = 0; k < bodies.length && !failure; k++) {
      signal.throwIfAborted();
      const due = start + k * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight >= MAX_IN_FLIGHT) {
        throw new Error(`${inFlight} requests unanswered after ${((k * intervalMs) / 1000).toFixed(1)} s ` +
          `(${accepted} events accepted${options.describeBacklog ? `, ${options.describeBacklog()}` : ''}): ` +
          'the server or this process does not keep up with the load');
      }
      const sentAt = performance.now();
      options.onSend?.(k, due, sentAt);
      if (k >= warmUpBatches) {
        maxLagMs = Math.max(maxLagMs, sentAt - due);
        if (Number.isNaN(firstMeasuredAt)) firstMeasuredAt = sentAt;
      }
      lastSentAt = sentAt;
      posts.push(post(bodies[k]!));
      const elapsed = (k + 1) * intervalMs;
      if (elapsed === warmUpMs || (elapsed > warmUpMs && (elapsed - warmUpMs) % progressMs === 0)) options.onProgress?.(elapsed, accepted);
    }
    await Promise.all(posts);
  } finally {
    agent.destroy();
  }
  if (failure) throw failure;
  return { accepted, maxInFlight, maxLagMs, firstMeasuredAt, lastSentAt };
}
