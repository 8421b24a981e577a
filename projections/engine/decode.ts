/** Stream entries to events the projections see: parsed and upcast to the newest version. */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { upcast, type Registry } from '../../shared/registry.ts';
import { ENTRY_FIELDS } from '../../shared/streams.ts';

export interface StreamEntry {
  id: string;
  message: Record<string, string>;
}

export type Delivery =
  | { streamId: string; raw: string; acceptedAt: number; event: CloudEvent }
  | { streamId: string; raw: string; acceptedAt: number; decodeError: string };

export function decode(entry: StreamEntry, registry: Registry): Delivery {
  const raw = entry.message[ENTRY_FIELDS.event] ?? '';
  const acceptedAt = Number(entry.message[ENTRY_FIELDS.acceptedAt] ?? 0);
  try {
    const event = JSON.parse(raw) as CloudEvent;
    return { streamId: entry.id, raw, acceptedAt, event: upcast(registry, event) };
  } catch (error) {
    return { streamId: entry.id, raw, acceptedAt, decodeError: `cannot decode the entry: ${(error as Error).message}` };
  }
}
