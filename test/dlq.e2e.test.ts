/**
 * The Dead letters page in a browser, against the real server: a legacy order
 * (its lines under `lines`, not `items`) is dead-lettered by the orders
 * projection; the page shows it grouped by error with the customer masked; a
 * re-drive fails until the fix (an upcaster in the registry) is deployed (a
 * second process runs the fixed release), then applies it; garbage is discarded with a reason; the action log shows it all.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../platform/redis/client.ts';
import { orderFulfilmentTypes } from '../shared/event-types/order-fulfilment.ts';
import { deadLetterKey, ENTRY_FIELDS, partitionOf, streamKey } from '../shared/streams.ts';
import { launchBrowser } from './support/browser.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const SECRET = 'cust-e2e-secret';
const ORDER = 'o-e2e-legacy';
const SCREENSHOTS = path.resolve('test-results/screenshots');

let redis: TestRedis;
let client: RedisClient;
/** The release before the fix (projector and api), and the fixed one's api process. */
let server: EventDeckProcess;
let fixed: EventDeckProcess;
let browser: Browser;
let page: Page;

function startServer(env: Record<string, string> = {}): Promise<EventDeckProcess> {
  return startEventDeckProcess({
    REDIS_URL: redis.url, EVENTDECK_ROLES: 'api,projector', EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_LEASE_TTL_MS: '1000',
    EVENTDECK_RETRY_ATTEMPTS: '2', EVENTDECK_RETRY_BASE_MS: '5', EVENTDECK_RETRY_CAP_MS: '20', ...env,
  });
}

/** The fix: order.placed v2, whose upcaster fills `items` from the legacy `lines`. */
function fixedRegistryConfig(): string {
  const schema = orderFulfilmentTypes.find((t) => t.type === 'order.placed')!.versions[0]!.schema;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'eventdeck-dlq-e2e-')), 'config.json');
  writeFileSync(file, JSON.stringify({ registry: { types: [{ type: 'order.placed', versions: [{ version: 2, schema, upcast: { rename: { lines: 'items' } } }] }] } }));
  return file;
}

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectRedis(redis.url);
  // Both at once: a process starts in seconds here. The fixed release runs the api role only: the re-drive runs there.
  [server, fixed, browser] = await Promise.all([
    startServer(), startServer({ EVENTDECK_ROLES: 'api', EVENTDECK_CONFIG: fixedRegistryConfig() }), launchBrowser(),
  ]);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  await fixed?.kill();
  await client?.close();
  await redis?.stop();
});

const outcome = () => page.locator('[data-testid="dlq-outcome"]').innerText();

describe('the Dead letters page', () => {
  it('shows a dead letter grouped by its error, and inspects it with the customer masked', async () => {
    const raw = JSON.stringify({
      specversion: '1.0', id: 'legacy-e2e-1', source: '/legacy-writer', type: 'order.placed', time: new Date().toISOString(), dataversion: 1,
      partitionkey: ORDER, subject: ORDER,
      data: { orderId: ORDER, customerId: SECRET, warehouseId: 'w-e2e', channel: 'web', currency: 'EUR', lines: [{ sku: 'mug', qty: 3, unitPrice: 4 }], total: 12 },
    });
    for (const event of [raw, '{not json']) {
      await client.xAdd(streamKey(partitionOf(ORDER, 16)), '*', { [ENTRY_FIELDS.event]: event, [ENTRY_FIELDS.acceptedAt]: String(Date.now()) });
    }
    await expect.poll(() => client.xLen(deadLetterKey('orders')), { timeout: 15_000 }).toBe(2);

    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const orders = page.locator('[data-testid="dlq-queue-orders"]');
    await expect.poll(() => orders.getAttribute('data-count'), { timeout: 10_000 }).toBe('2');
    const group = orders.locator('[data-testid="dlq-group"]', { hasText: 'reduce' });
    expect(await group.locator('[data-testid="dlq-group-count"]').innerText()).toBe('1×');
    await group.locator('button', { hasText: 'reduce' }).click();
    await expect.poll(() => page.locator('[data-testid="dlq-entry"]').count(), { timeout: 10_000 }).toBe(1);

    await page.locator('[data-testid="dlq-entry"] [data-testid="dlq-inspect"]').click();
    const event = page.locator('[data-testid="dlq-inspector"] [data-testid="dlq-event"]');
    await expect.poll(() => event.innerText(), { timeout: 10_000 }).toContain('"customerId": "•••"');
    expect(await event.innerText()).toContain(ORDER);
    expect(await page.locator('body').innerText()).not.toContain(SECRET);
    expect(await page.locator('[data-testid="dlq-inspector-error"]').innerText()).toContain('reduce');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dead-letters-inspector-1280x800.png') });
  });

  it('says why a re-drive fails while the cause is there, and applies it once the fix is deployed', async () => {
    await page.locator('[data-testid="dlq-inspector-redrive"]').click();
    await expect.poll(outcome, { timeout: 10_000 }).toMatch(/1 failed.*reduce/);
    expect(await page.locator('[data-testid="dlq-entry"]').count()).toBe(1);

    // The fix deployed: the same page, served by the fixed release.
    await page.goto(page.url().replace(server.url, fixed.url));
    await page.locator('[data-testid="dlq-inspector-redrive"]').click();
    await expect.poll(outcome, { timeout: 10_000 }).toContain('1 applied');
    await expect.poll(() => page.locator('[data-testid="dlq-entry"]').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator('[data-testid="dlq-inspector-gone"]').count()).toBe(1);
    const order = await (await fetch(`${fixed.url}/api/orders/${ORDER}`)).json() as { order: { itemCount: number } };
    expect(order.order.itemCount).toBe(3);
    const log = page.locator('[data-testid="dlq-action"]');
    await expect.poll(() => log.count(), { timeout: 10_000 }).toBe(2);
    expect(await log.first().locator('[data-testid="dlq-action-outcome"]').innerText()).toContain('1 applied');
  });

  it('discards a group with the reason it asks for, and logs it', async () => {
    const orders = page.locator('[data-testid="dlq-queue-orders"]');
    await expect.poll(() => orders.getAttribute('data-count'), { timeout: 10_000 }).toBe('1');
    await orders.locator('[data-testid="dlq-discard-group"]').click();
    const dialog = page.locator('[data-testid="dlq-discard-dialog"]');
    await dialog.locator('[data-testid="dlq-discard-reason"]').fill('garbage from a broken test writer');
    await dialog.locator('[data-testid="dlq-discard-name"]').fill('ops-e2e');
    await dialog.locator('[data-testid="dlq-discard-submit"]').click();
    await expect.poll(outcome, { timeout: 10_000 }).toContain('1 discarded');
    await expect.poll(() => orders.getAttribute('data-count'), { timeout: 10_000 }).toBe('0');
    const newest = page.locator('[data-testid="dlq-action"]').first();
    await expect.poll(() => newest.innerText(), { timeout: 10_000 }).toContain('garbage from a broken test writer');
    expect(await newest.innerText()).toContain('ops-e2e');
  });

  it('lays out without overflow in both themes at laptop and wall-screen sizes (screenshots kept)', async () => {
    // Something in each part of the page: a dead letter of inventory (not JSON), inspected.
    const [letter] = await client.xRange(deadLetterKey('inventory'), '-', '+', { COUNT: 1 });
    mkdirSync(SCREENSHOTS, { recursive: true });
    const overflowing: string[] = [];
    for (const colorScheme of ['dark', 'light'] as const) {
      const context = await browser.newContext({ colorScheme });
      const themed = await context.newPage();
      for (const size of [{ width: 1280, height: 800 }, { width: 1920, height: 1080 }]) {
        await themed.setViewportSize(size);
        await themed.goto(`${fixed.url}/dead-letters?queue=inventory&entry=${letter!.id}`);
        await expect.poll(() => themed.locator('[data-testid="dlq-inspector"]').count(), { timeout: 10_000 }).toBe(1);
        await expect.poll(() => themed.locator('[aria-busy="true"], [data-testid="view-error"]').count(), { timeout: 10_000 }).toBe(0);
        expect(await themed.evaluate<string | undefined>('document.documentElement.dataset.theme')).toBe(colorScheme);
        const width = await themed.evaluate<number>('document.documentElement.scrollWidth');
        if (width > size.width) overflowing.push(`dead-letters (${colorScheme}) at ${size.width}×${size.height}: ${width} px wide`);
        await themed.screenshot({ path: path.join(SCREENSHOTS, `dead-letters-${colorScheme}-${size.width}x${size.height}.png`), fullPage: true });
      }
      await context.close();
    }
    expect(overflowing).toEqual([]);
  });
});
