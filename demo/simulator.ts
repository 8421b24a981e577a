/**
 * Sends the demo flows to a running EventDeck: every tick (~100 ms) it starts
 * enough new flows to keep about `ratePerSecond` events coming, and posts what
 * is due as one batch. One request at a time, awaited before the next tick, and
 * a cap on planned events: a slow or absent server lowers the rate instead of
 * growing a queue. A failed request is logged and its events are dropped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createFlows } from './flows.ts';

export interface SimulatorOptions {
  /** Base URL of EventDeck, e.g. http://127.0.0.1:8080 */
  url: string;
  ratePerSecond: number;
  seed: number;
  signal: AbortSignal;
  onProgress?: (counters: Readonly<SimulatorCounters>) => void;
  duplicateRate?: number;
  reorderRate?: number;
  tickMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export interface SimulatorCounters {
  /** Events posted (duplicates sent on purpose included). */
  sent: number;
  accepted: number;
  duplicates: number;
  requests: number;
  failedRequests: number;
}

/** The ingest default of events per request. */
const MAX_BATCH = 1000;
const REQUEST_TIMEOUT_MS = 10_000;
const ERROR_LOG_EVERY_MS = 5_000;

export async function runSimulator(options: SimulatorOptions): Promise<SimulatorCounters> {
  const { url, ratePerSecond, signal } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? ((line: string) => console.error(line));
  const tickMs = options.tickMs ?? 100;
  const counters: SimulatorCounters = { sent: 0, accepted: 0, duplicates: 0, requests: 0, failedRequests: 0 };
  const startAt = now();
  const flows = createFlows({
    seed: options.seed, startAt,
    ...(options.duplicateRate !== undefined ? { duplicateRate: options.duplicateRate } : {}),
    ...(options.reorderRate !== undefined ? { reorderRate: options.reorderRate } : {}),
  });
  // Flows last about a minute; two minutes of events planned ahead is plenty, more means we are not keeping up.
  const maxPending = Math.max(10_000, ratePerSecond * 120);
  let budget = 0;
  let last = startAt;
  let lastErrorLog = -Infinity;

  const post = async (batch: unknown[]) => {
    counters.requests++;
    counters.sent += batch.length;
    try {
      const response = await fetch(`${url}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(batch),
        // Not tied to `signal`: a stop lets the request in flight finish, so the counters match what Redis holds.
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = (await response.json()) as { accepted?: number; duplicates?: number; detail?: string; errors?: unknown[] };
      if (response.status !== 202) throw new Error(`${response.status} ${body.detail ?? ''} ${JSON.stringify(body.errors?.slice(0, 3) ?? [])}`);
      counters.accepted += body.accepted ?? 0;
      counters.duplicates += body.duplicates ?? 0;
    } catch (error) {
      counters.failedRequests++;
      if (now() - lastErrorLog >= ERROR_LOG_EVERY_MS) {
        lastErrorLog = now();
        const { message, cause } = error as Error;
        // fetch puts the reason (e.g. ECONNREFUSED) in the cause.
        const reason = cause instanceof Error ? `${message}: ${cause.message}` : message;
        log(`demo: a batch of ${batch.length} events failed (${counters.failedRequests} failed requests so far): ${reason}`);
      }
    }
  };

  while (!signal.aborted) {
    const tickStart = now();
    // Catch up at most one second after a stall, so a slow server is not then flooded.
    budget += (Math.min(tickStart - last, 1_000) * ratePerSecond) / 1_000;
    last = tickStart;
    while (budget > 0 && flows.pending < maxPending) budget -= flows.startFlow(tickStart);
    budget = Math.min(budget, ratePerSecond); // no credit piles up while the cap holds

    const batch = flows.takeDue(tickStart, MAX_BATCH);
    if (batch.length > 0) {
      await post(batch);
      options.onProgress?.(counters);
    }
    const wait = tickMs - (now() - tickStart);
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
  }
  return counters;
}
