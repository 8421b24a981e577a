/**
 * Why a rebuild stopped: one small class per failure mode, each with a stable
 * code (it is what `GET /api/projections/:name/rebuild` reports in `error.code`).
 */
export class RebuildError extends Error {
  override name = 'RebuildError';
  readonly code: string = 'EVENTDECK_REBUILD_FAILED';
}

/** A partition stream lost entries (trimmed or deleted) that the event store does not hold yet: they would be missing. */
export class StreamTrimmedError extends RebuildError {
  override name = 'StreamTrimmedError';
  override readonly code = 'EVENTDECK_REBUILD_STREAM_TRIMMED';
}

/** The live projector moved past what the rebuild read on every try of the switch. */
export class SwitchContendedError extends RebuildError {
  override name = 'SwitchContendedError';
  override readonly code = 'EVENTDECK_REBUILD_SWITCH_CONTENDED';
}

/** A live checkpoint went back (the read models were reset meanwhile): what was folded no longer matches. */
export class CheckpointWentBackError extends RebuildError {
  override name = 'CheckpointWentBackError';
  override readonly code = 'EVENTDECK_REBUILD_CHECKPOINT_WENT_BACK';
}

/** The rebuild's lock expired or was taken (the process stalled past its TTL): another rebuild may be running. */
export class RebuildLockLostError extends RebuildError {
  override name = 'RebuildLockLostError';
  override readonly code = 'EVENTDECK_REBUILD_LOCK_LOST';
}

/** The projection wrote a key its declared key patterns do not cover: a later rebuild could not find it to remove it. */
export class KeyOutsidePatternsError extends RebuildError {
  override name = 'KeyOutsidePatternsError';
  override readonly code = 'EVENTDECK_REBUILD_KEY_OUTSIDE_PATTERNS';
}

/** EventDeck is stopping: the rebuild ends, the live read model stays as it was. */
export class RebuildStoppedError extends RebuildError {
  override name = 'RebuildStoppedError';
  override readonly code = 'EVENTDECK_REBUILD_STOPPED';
}
