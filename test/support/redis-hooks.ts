import type { RedisClient } from '../../platform/redis/client.ts';

/**
 * The client, except that each call of `method` runs `hook` with the call's
 * first argument and its answer before the caller gets the answer: a way to
 * make something happen at an exact point between a component's commands.
 */
export function afterCall<M extends 'get' | 'mGet'>(
  client: RedisClient, method: M, hook: (argument: Parameters<RedisClient[M]>[0], answer: Awaited<ReturnType<RedisClient[M]>>) => Promise<void>,
): RedisClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== method) return Reflect.get(target, property, receiver);
      return async (argument: Parameters<RedisClient[M]>[0]) => {
        const answer = await (target[method] as (a: typeof argument) => Promise<Awaited<ReturnType<RedisClient[M]>>>)(argument);
        await hook(argument, answer);
        return answer;
      };
    },
  });
}
