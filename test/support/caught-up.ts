/** True when every built-in projection has committed up to the last entry of every partition stream. */
import { createClient } from 'redis';
import { builtInProjections } from '../../projections/index.ts';
import { checkpointKey, compareStreamIds, streamKey } from '../../shared/streams.ts';

export async function projectionsCaughtUp(redisUrl: string, partitions = 16): Promise<boolean> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    for (let p = 0; p < partitions; p++) {
      const [last] = await client.xRevRange(streamKey(p), '+', '-', { COUNT: 1 });
      if (!last) continue;
      for (const projection of builtInProjections) {
        const checkpoint = await client.get(checkpointKey(projection.name, p));
        if (!checkpoint || compareStreamIds(checkpoint, last.id) < 0) return false;
      }
    }
    return true;
  } finally {
    await client.close();
  }
}
