/** The engine's expected failures, one class each, with a stable code. */
import type { Failure } from './plan-batch.ts';

/** Another process holds the partition's lease now: stop, do not retry. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'EVENTDECK_LEASE_LOST';
}

/** The checkpoint changed between planning and committing: plan the batch again. */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
  readonly code = 'EVENTDECK_CHECKPOINT_MOVED';
}

/** A projection threw on some events of a batch: retry with backoff, then dead-letter them. */
export class ProjectionFailedError extends Error {
  override readonly name = 'ProjectionFailedError';
  readonly code = 'EVENTDECK_PROJECTION_FAILED';
  constructor(readonly projection: string, readonly failures: Failure[]) {
    super(`${projection}: ${failures.length} event(s) failed, first: ${failures[0]?.error}`);
  }
}
