/**
 * What the workbench needs of projections/engine/redrive.ts: re-drive one dead
 * letter into its projection, exactly once. server/ may not import projections/
 * (.dependency-cruiser.cjs), so the composition root (server/eventdeck.ts)
 * hands it over through this port; the shapes match the engine's structurally.
 */

export interface DeadLetterToRedrive {
  /** Its id in `eventdeck:dlq:<projection>`. */
  entryId: string;
  /** The stored event text, unmasked. */
  event: string;
  partition: number;
  streamId: string;
}

export type RedriveOutcome =
  | { outcome: 'applied' }
  | { outcome: 'already-applied' }
  | { outcome: 'failed'; error: string }
  | { outcome: 'gone' }
  | { outcome: 'busy'; error: string };

export interface DeadLetterRedrivePort {
  /** The projections it can re-drive into, by name. */
  readonly projections: readonly string[];
  redrive(projection: string, letter: DeadLetterToRedrive): Promise<RedriveOutcome>;
}
