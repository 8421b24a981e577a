/** Composition root of an EventDeck process: config, start, and graceful stop. */
import { ConfigError, loadConfig } from './config.ts';
import { startEventDeck } from './eventdeck.ts';
import { RedisUnavailableError } from './redis/local-redis.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const running = await startEventDeck(config);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping EventDeck…`);
    await running.stop();
    console.log('EventDeck stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof RedisUnavailableError) {
    console.error(error.message);
  } else {
    console.error('EventDeck failed to start:', error);
  }
  process.exit(1);
});
