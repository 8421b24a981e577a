/**
 * `npm run demo`: EventDeck in this process, fed by the simulated shop.
 * Settings as for `npm start`, plus DEMO_RATE (events/s, default 20),
 * DEMO_SEED (default 1), DEMO_DUPLICATE_RATE and DEMO_REORDER_RATE (0…1).
 */
import { ConfigError, loadConfig } from '../server/config.ts';
import { startEventDeck } from '../server/eventdeck.ts';
import { RedisUnavailableError } from '../server/redis/local-redis.ts';
import { runSimulator, type SimulatorCounters } from './simulator.ts';

const PROGRESS_EVERY_MS = 5_000;

function demoSetting(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}; got "${text}"`);
  }
  return value;
}

async function main(): Promise<void> {
  const ratePerSecond = demoSetting('DEMO_RATE', 20, 0.1, 100_000);
  const seed = demoSetting('DEMO_SEED', 1, 0, 2 ** 32 - 1);
  const duplicateRate = demoSetting('DEMO_DUPLICATE_RATE', 0.01, 0, 1);
  const reorderRate = demoSetting('DEMO_REORDER_RATE', 0.02, 0, 1);
  const config = loadConfig();
  const running = await startEventDeck(config);

  const controller = new AbortController();
  const started = Date.now();
  let latest: Readonly<SimulatorCounters> = { sent: 0, accepted: 0, duplicates: 0, requests: 0, failedRequests: 0 };
  const simulator = runSimulator({
    url: running.url, ratePerSecond, seed, duplicateRate, reorderRate, signal: controller.signal,
    onProgress: (counters) => (latest = { ...counters }),
  });
  console.log(`demo: sending about ${ratePerSecond} events/s (seed ${seed}); open ${running.url}/ — Ctrl+C stops`);
  let sentBefore = 0;
  const progress = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    // The rate over the last interval: flows take a minute to ramp up to the asked rate.
    const rate = (latest.sent - sentBefore) / (PROGRESS_EVERY_MS / 1000);
    sentBefore = latest.sent;
    console.log(
      `demo: ${seconds.toFixed(0)} s, sent ${latest.sent} (${rate.toFixed(1)}/s), ` +
      `accepted ${latest.accepted}, duplicates ${latest.duplicates}, failed requests ${latest.failedRequests}`,
    );
  }, PROGRESS_EVERY_MS);

  let stopping = false;
  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the demo…`);
    controller.abort();
    const final = await simulator.catch(() => latest);
    clearInterval(progress);
    await running.stop();
    console.log(`demo stopped: sent ${final.sent}, accepted ${final.accepted}, duplicates ${final.duplicates}, failed requests ${final.failedRequests}`);
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // A bug in the simulator must still stop EventDeck (and a redis-server it started).
  simulator.catch((error: unknown) => {
    console.error('demo: the simulator failed:', error);
    void shutdown('simulator failed', 1);
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof RedisUnavailableError) {
    console.error(error.message);
  } else {
    console.error('The demo failed to start:', error);
  }
  process.exit(1);
});
