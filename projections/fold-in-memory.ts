/**
 * Every projection's read models folded in memory from a list of events, with
 * the same pure projections as the live pipeline: the state as of a past time,
 * from the event store, without touching the live keys. The fold is
 * order-free (projections/permutation.property.test.ts), so the events may come
 * in any order; an event a projection throws on is left out of that projection,
 * as the live pipeline would dead-letter it.
 */
import type { CloudEvent } from '../shared/cloudevent.ts';
import { readModelKeys } from '../shared/read-models.ts';
import { applyChanges, emptyReadModels, type InMemoryReadModels } from './apply-changes.ts';
import type { Delivery } from './engine/decode.ts';
import { planBatch } from './engine/plan-batch.ts';
import type { Projection } from './projection.ts';

export interface FoldedReadModels extends InMemoryReadModels {
  /** Documents (JSON) and view versions, as Redis strings. */
  strings: Map<string, string>;
}

export function foldInMemory(projections: readonly Projection[], events: readonly CloudEvent[]): FoldedReadModels {
  const deliveries: Delivery[] = events.map((event, i) => ({ streamId: `0-${i + 1}`, raw: '', acceptedAt: 0, event }));
  const strings = new Map<string, string>();
  let models = emptyReadModels();
  for (const projection of projections) {
    const plan = planBatch(projection, deliveries);
    for (const document of plan.documents) strings.set(document.key, document.json);
    models = applyChanges(models, plan.changes);
    // A view's version counts changes; as of a past time, the events folded stand for them.
    for (const view of projection.views) strings.set(readModelKeys.viewVersion(view), String(events.length));
  }
  return { strings, ...models };
}
