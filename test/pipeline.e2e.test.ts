/**
 * The pipeline page in a browser, against a real EventDeck process (every
 * role, embedded chDB, a private Redis): after realistic flows and one poison
 * event, what the page shows is checked against `GET /api/views/pipeline`, and
 * it keeps moving without a reload.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import type { PipelineState } from '../shared/pipeline.ts';
import { ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import type { ViewSnapshot } from '../shared/views.ts';
import { launchBrowser } from './support/browser.ts';
import { eventually, jsonOf, postEvents } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { orderPlaced } from './support/events.ts';
import { distinct, recentFlows } from './support/flows.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const SCREENSHOTS = path.resolve('test-results/screenshots');
const PARTITIONS = 4;
const POISONED = 'orders';

let redis: TestRedis;
let client: RedisClient;
let server: EventDeckProcess;
let browser: Browser;
let page: Page;

const pipeline = async (): Promise<PipelineState> => {
  const response = await fetch(`${server.url}/api/views/pipeline`);
  expect(response.status).toBe(200);
  return ((await jsonOf(response)) as ViewSnapshot<'pipeline'>).state;
};
const accepted = (state: PipelineState) => state.seconds.reduce((n, s) => n + s.accepted, 0);
const caughtUp = (state: PipelineState) => state.groups.every((g) => g.lagEntries === 0);

/** An order.placed whose lines are not under `items`, written straight into its partition as a writer that bypassed ingest would. */
async function poison(): Promise<void> {
  const orderId = 'o-pipeline-e2e-poison';
  const event = {
    specversion: '1.0', id: 'pipeline-e2e-poison', source: '/legacy', type: 'order.placed', time: new Date().toISOString(), dataversion: 1,
    partitionkey: orderId, data: { orderId, customerId: 'c', warehouseId: 'w', channel: 'web', currency: 'EUR', lines: [{ sku: 's', qty: 1, unitPrice: 1 }], total: 1 },
  };
  await client.xAdd(streamKey(partitionOf(orderId, PARTITIONS)), '*', { [ENTRY_FIELDS.event]: JSON.stringify(event), [ENTRY_FIELDS.acceptedAt]: String(Date.now()) });
}

let fresh = 0;
/** New orders placed now, each with an id never used before. */
function newOrders(count: number) {
  return Array.from({ length: count }, () => orderPlaced({ orderId: `o-pipeline-e2e-${++fresh}` }, { time: new Date().toISOString() }));
}

/**
 * Polls until the page shows what the API says at about the same moment: both
 * move each second, so one read of each may straddle a second; the last pair is
 * in the failure message.
 */
async function agree<T>(shown: () => Promise<T>, said: (state: PipelineState) => T, timeout = 15_000): Promise<void> {
  await expect.poll(async () => {
    const [onPage, state] = await Promise.all([shown(), pipeline()]);
    return { onPage, api: said(state) };
  }, { timeout }).toSatisfy(({ onPage, api }: { onPage: T; api: T }) => isDeepStrictEqual(onPage, api));
}

/** A count as the page formats it for the browser's locale, back to a number (group separators dropped). */
const digits = (text: string) => Number(text.replace(/\D/g, ''));

/** Bucket bounds (ms) as the page words them (format.ts formatDuration), below a minute. */
const latency = (ms: number | null) => (ms === null ? '—' : ms < 1000 ? `${ms} ms` : `${ms / 1000} s`);

/** The pipeline page, reached by its link in the header. */
async function openFromHeader(): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.locator('nav a', { hasText: 'Pipeline' }).click();
  await expect.poll(() => page.evaluate<string>('location.pathname')).toBe('/pipeline');
  expect(await page.locator('h1').innerText()).toBe('Pipeline');
  expect(await page.locator('nav a[aria-current="page"]').innerText()).toBe('Pipeline');
}

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  server = await startEventDeckProcess({
    REDIS_URL: redis.url, EVENTDECK_PARTITIONS: String(PARTITIONS), EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_HISTORY_BATCH_WAIT_MS: '50',
    EVENTDECK_RETRY_ATTEMPTS: '2', EVENTDECK_RETRY_BASE_MS: '5', EVENTDECK_RETRY_CAP_MS: '20',
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });

  const deliveries = recentFlows(40, 11);
  const sent = distinct(deliveries);
  for (let i = 0; i < deliveries.length; i += 100) expect((await postEvents(server.url, deliveries.slice(i, i + 100))).status).toBe(202);
  await poison();
  await eventually(pipeline, (s) => accepted(s) === sent.length && s.deadLetters.total > 0 && caughtUp(s), 30_000);
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  await client?.close();
  await redis?.stop();
});

describe('the pipeline page', () => {
  it('shows throughput per type, each group with its owners and their partitions, each partition\'s owners and the poisoned projection, as the API says', async () => {
    await openFromHeader();
    await expect.poll(() => page.getAttribute('[data-testid="connection-status"]', 'data-state'), { timeout: 15_000 }).toBe('live');

    // Busiest type first, with its count over the last minute.
    await agree(
      async () => (await page.locator('[data-testid="pipeline-type-row"]').evaluateAll((list) => list.map((row) =>
        [row.getAttribute('data-type'), row.querySelector('[data-testid="pipeline-type-last-minute"]').textContent] as [string, string])))
        .map(([type, count]) => [type, digits(count)]),
      (state) => state.throughput.map((t) => [t.type, t.lastMinute]),
    );

    // Each group's lag, and its owners with the partitions each holds.
    await agree(
      () => page.locator('[data-testid="pipeline-group-row"]').evaluateAll((list) => list.map((row) => ({
        group: row.getAttribute('data-group'),
        lag: row.querySelector('[data-testid="pipeline-group-lag"]').textContent.trim(),
        owners: [...row.querySelectorAll('[data-testid="pipeline-owner"]')].map((o) => o.textContent.replace(/\s+/g, ' ').trim()),
      }))),
      (state) => state.groups.map((g) => ({
        group: g.group, lag: String(g.lagEntries), owners: g.owners.map((o) => `${o.owner} partitions ${o.partitions.join(', ')}`),
      })),
    );
    const state = await pipeline();
    // One process holds every partition of each group: a different consumer per group.
    expect(state.groups.map((g) => [g.group, g.lagEntries, g.owners.map((o) => o.partitions)])).toEqual([
      ['live', 0, [[0, 1, 2, 3]]], ['history', 0, [[0, 1, 2, 3]]],
    ]);

    // Every partition: its stream length and, per group, its owner.
    await agree(
      async () => (await page.locator('[data-testid="pipeline-partition-row"]').evaluateAll((list) => list.map((row) => ({
        partition: Number(row.getAttribute('data-partition')),
        length: row.querySelector('[data-testid="pipeline-partition-length"]').textContent as string,
        owners: [...row.querySelectorAll('[data-testid="pipeline-partition-owner"]')].map((o) => [o.getAttribute('data-group'), o.textContent.trim()]),
      })))).map((row) => ({ ...row, length: digits(row.length) })),
      (s) => s.partitions.map((p) => ({ partition: p.partition, length: p.length, owners: p.groups.map((g) => [g.group, g.owner ?? 'no owner']) })),
    );

    // The poison event: one dead letter of orders, highlighted and linked; the history group's one is said below.
    expect(state.projections.map((p) => [p.name, p.deadLetters])).toContainEqual([POISONED, 1]);
    const projections = await page.locator('[data-testid="pipeline-projection-row"]').evaluateAll((list) => list.map((row) => {
      const cell = row.querySelector('[data-testid="pipeline-projection-dead-letters"]');
      return [row.getAttribute('data-projection'), cell.textContent.trim(), cell.classList.contains('bad'), cell.querySelector('a')?.getAttribute('href') ?? null];
    }));
    expect(projections).toEqual(state.projections.map((p) => (p.deadLetters > 0
      ? [p.name, String(p.deadLetters), true, `/dead-letters?queue=${p.name}`]
      : [p.name, '0', false, null])));
    expect(await page.locator('[data-testid="pipeline-history-dead-letters"]').innerText()).toMatch(/history group has 1 dead letter\b/);
    const deadLetters = page.locator('[data-testid="tile-deadLetters"]');
    expect(await deadLetters.locator('.value').innerText()).toBe(String(state.deadLetters.total));
    expect(state.deadLetters.total).toBe(2);
    expect(await deadLetters.getAttribute('data-tone')).toBe('bad');
    expect(await deadLetters.locator('a').getAttribute('href')).toBe('/dead-letters');
  });

  it('draws the events per second and the latency as charts whose summaries say the latest second\'s values', async () => {
    for (const chart of ['chart-pipeline-events', 'chart-pipeline-latency']) {
      await expect.poll(() => page.locator(`[data-testid="${chart}"] canvas`).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    }
    const summary = (chart: string) => page.locator(`[data-testid="${chart}"] [role="img"]`).getAttribute('aria-label');
    // Orders keep coming, so the latest second has something in it.
    const traffic = setInterval(() => void postEvents(server.url, newOrders(3)), 300);
    try {
      await agree(
        async () => (await summary('chart-pipeline-events'))?.split('): ')[1],
        (s) => {
          const last = s.seconds.at(-1)!;
          return last.accepted === 0 ? 'an idle second' : `Accepted ${last.accepted}, Applied ${last.applied}, Stored ${last.stored}`;
        },
      );
      await agree(
        async () => (await summary('chart-pipeline-latency'))?.split('): ')[1],
        (s) => {
          const last = s.seconds.at(-1)!;
          return last.latencyP50Ms === null ? 'an idle second' : `p50 ${latency(last.latencyP50Ms)}, p99 ${latency(last.latencyP99Ms)}`;
        },
      );
    } finally {
      clearInterval(traffic);
    }
    expect(await summary('chart-pipeline-events')).toMatch(/^Events per second, per second over the last 120 seconds\. Latest second \(/);
  });

  it('keeps counting live: new orders raise order.placed in the table without a reload', async () => {
    await page.evaluate('window.pipelineE2eMarker = true');
    const placed = page.locator('[data-testid="pipeline-type-row"][data-type="order.placed"]');
    const before = Number(await placed.getAttribute('data-last-minute'));
    expect((await postEvents(server.url, newOrders(25))).status).toBe(202);
    await expect.poll(async () => Number(await placed.getAttribute('data-last-minute')), { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 25);
    await agree(
      async () => digits(await placed.locator('[data-testid="pipeline-type-last-minute"]').innerText()),
      (s) => s.throughput.find((t) => t.type === 'order.placed')!.lastMinute,
    );
    expect(await page.evaluate('window.pipelineE2eMarker')).toBe(true);
  });

  it('stays live, and says so, when the header is set to a past time', async () => {
    await page.locator('[data-testid="time-control"] input[type="radio"]').nth(1).check();
    await expect.poll(() => page.locator('[data-testid="asof-banner"]').count()).toBe(1);
    expect(await page.locator('[data-testid="pipeline-live-only"]').innerText()).toMatch(/no past states: this shows now/);
    expect(await page.locator('[data-testid="view-error"]').count()).toBe(0);
    expect(await page.locator('[data-testid="pipeline-type-row"]').count()).toBeGreaterThan(0);
    await page.locator('[data-testid="asof-banner"] button').click();
    await expect.poll(() => page.locator('[data-testid="pipeline-live-only"]').count()).toBe(0);
  });

  it('renders the widget alone at /embed/pipeline, live even with an asOf', async () => {
    await page.goto(`${server.url}/embed/pipeline?asOf=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`);
    const embed = page.locator('[data-testid="embed"][data-view="pipeline"]');
    await expect.poll(() => embed.locator('[data-testid="pipeline-group-row"]').count(), { timeout: 10_000 }).toBe(2);
    expect(await embed.locator('[data-testid="pipeline-live-only"]').count()).toBe(1);
    expect(await embed.locator('[data-testid="chart-pipeline-events"] canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('nav').count()).toBe(0);
    expect(digits(await embed.locator('[data-testid="tile-deadLetters"] .value').innerText())).toBe((await pipeline()).deadLetters.total);
  });

  it('is served at /pipeline itself, for a bookmark or a reload', async () => {
    const response = await page.goto(`${server.url}/pipeline`);
    expect(response?.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Pipeline');
  });

  it('lays out without overflow at laptop and wall-screen sizes (screenshots kept)', async () => {
    const pages = { pipeline: openFromHeader, 'embed-pipeline': () => page.goto(`${server.url}/embed/pipeline`) };
    mkdirSync(SCREENSHOTS, { recursive: true });
    const overflowing: string[] = [];
    for (const size of [{ width: 1280, height: 800 }, { width: 1920, height: 1080 }]) {
      await page.setViewportSize(size);
      for (const [name, open] of Object.entries(pages)) {
        await open();
        await expect.poll(() => page.locator('[aria-busy="true"], [data-testid="view-error"]').count(), { timeout: 10_000 }).toBe(0);
        const width = await page.evaluate<number>('document.documentElement.scrollWidth');
        if (width > size.width) overflowing.push(`${name} at ${size.width}×${size.height}: ${width} px wide`);
        await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${size.width}x${size.height}.png`), fullPage: true });
      }
    }
    expect(overflowing).toEqual([]);
  });
});
