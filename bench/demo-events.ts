/**
 * Realistic events for the ingest and projection parts, prepared before any
 * clock runs.
 */
import { createFlows, type DemoEvent } from '../demo/flows.ts';
import { validateEvents } from '../server/ingest/validate-events.ts';
import { buildRegistry } from '../server/registry/build.ts';
import { createValidator } from '../server/registry/validator.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';

/**
 * `count` events of the demo flows (seed 42, no duplicates, no reordering; ids
 * prefixed with `prefix` when given), dated an hour in the past so that the
 * future-time check never rejects one: as producers send them, and as ingest
 * stores them (dataversion and partition key set).
 */
export function prepareDemoEvents(count: number, prefix?: string): { sent: DemoEvent[]; stored: CloudEvent[] } {
  const startAt = Date.now() - 60 * 60_000;
  const flows = createFlows({ seed: 42, startAt, duplicateRate: 0, reorderRate: 0 });
  let planned = 0;
  for (let i = 0; planned < count && i < count; i++) planned += flows.startFlow(startAt);
  const due = flows.takeDue(Number.MAX_SAFE_INTEGER, count);
  const sent = prefix === undefined ? due : due.map((e) => ({ ...e, id: `${prefix}-${e.id}` }));
  if (sent.length !== count) throw new Error(`the demo flows gave ${sent.length} events, not ${count}`);
  const registry = buildRegistry();
  const validation = validateEvents(sent, { registry, validator: createValidator(registry), maxFutureMs: 0, now: Date.now() });
  if (!validation.ok) throw new Error(`the prepared events are invalid: ${JSON.stringify(validation.problems.slice(0, 3))}`);
  return { sent, stored: validation.events };
}
