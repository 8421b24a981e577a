/**
 * A Lua script run by its SHA1, loaded again when Redis answers NOSCRIPT
 * (after a restart or SCRIPT FLUSH).
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './client.ts';

export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, { keys, arguments: args });
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, { keys, arguments: args });
    }
  }
}
