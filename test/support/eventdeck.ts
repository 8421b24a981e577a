/**
 * Starts a real EventDeck (in this process) against a private Redis, with
 * config given as the environment would give it.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startEventDeck, type RunningEventDeck } from '../../server/eventdeck.ts';

export interface TestDeckOptions {
  redisUrl: string;
  env?: Record<string, string>;
  now?: () => number;
}

export async function startTestDeck(options: TestDeckOptions): Promise<RunningEventDeck> {
  const config = loadConfig({
    PORT: '0',
    EVENTDECK_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'eventdeck-data-')),
    REDIS_URL: options.redisUrl,
    ...options.env,
  });
  const lines: string[] = [];
  return startEventDeck(config, { log: (line) => lines.push(line), ...(options.now ? { now: options.now } : {}) });
}

/** POST to /api/events with a content type and a body (object bodies are JSON-encoded). */
export async function postEvents(
  url: string,
  body: unknown,
  contentType = 'application/cloudevents-batch+json',
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The JSON body of a response, typed loosely for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function jsonOf(response: Response): Promise<any> {
  return response.json();
}

/** Polls `read` until `done` holds (for set-up code, where expect.poll is not allowed); bounded by a timeout. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
