import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './support/browser.ts';
import { postEvents } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { inventoryReceived, inventoryReserved, orderPlaced, paymentAuthorized, paymentFailed } from './support/events.ts';
import { freePort } from '../platform/net/free-port.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let server: EventDeckProcess;
let port: number;
let browser: Browser;
let page: Page;
const now = () => new Date().toISOString();
/** Screenshots of each page, for people to look at (git-ignored, kept by CI as artifacts). */
const SCREENSHOTS = path.resolve('test-results/screenshots');

function startServer(): Promise<EventDeckProcess> {
  return startEventDeckProcess({ REDIS_URL: redis.url, PORT: String(port), EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_LEASE_TTL_MS: '1000' });
}

async function publish(...events: unknown[]): Promise<void> {
  const response = await postEvents(server.url, events);
  expect(response.status).toBe(202);
}

beforeAll(async () => {
  redis = await startTestRedis();
  port = await freePort();
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  await redis?.stop();
});

const text = (selector: string) => page.locator(selector).first().innerText();
/** The big number of a KPI tile, as shown. */
const tile = (name: string) => text(`[data-testid="tile-${name}"] .value`);

describe('the dashboard in a browser', () => {
  it('shows KPI tiles that change as orders arrive', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getAttribute('[data-testid="connection-status"]', 'data-state'), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => tile('ordersPerMinute'), { timeout: 10_000 }).toBe('0');
    await publish(
      orderPlaced({ orderId: 'o-e2e-1', warehouseId: 'w-e2e', items: [{ sku: 'mug', qty: 2, unitPrice: 10 }], total: 20 }, { time: now() }),
      orderPlaced({ orderId: 'o-e2e-2', warehouseId: 'w-e2e', items: [{ sku: 'mug', qty: 1, unitPrice: 10 }], total: 10 }, { time: now() }),
    );
    // The two orders may land in different partitions, committed one after the other.
    await expect.poll(() => tile('ordersPerMinute'), { timeout: 10_000 }).toBe('2');
    await expect.poll(() => tile('inFlight'), { timeout: 10_000 }).toBe('2');
  });

  it('shows the orders table change live, and an order with the timeline of its saga', async () => {
    await page.goto(`${server.url}/orders`);
    const status = page.locator('[data-order-id="o-e2e-1"] [data-testid="order-status"]');
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toMatch(/placed/i);
    await publish(
      inventoryReserved({ orderId: 'o-e2e-1', warehouseId: 'w-e2e', items: [{ sku: 'mug', qty: 2 }] }, { time: now() }),
      paymentFailed({ orderId: 'o-e2e-1', amount: 20 }, { time: now() }),
      paymentAuthorized({ orderId: 'o-e2e-1', amount: 20 }, { time: now() }),
    );
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toMatch(/paid/i);

    await page.goto(`${server.url}/orders/o-e2e-1`);
    const entries = page.locator('[data-testid="order-timeline"] [data-testid="timeline-entry"]');
    await expect.poll(() => entries.evaluateAll((list) => list.map((e) => e.getAttribute('data-type'))), { timeout: 10_000 })
      .toEqual(['order.placed', 'inventory.reserved', 'payment.failed', 'payment.authorized']);
  });

  it('shows the inventory grid change live, with low stock marked', async () => {
    await publish(inventoryReceived({ warehouseId: 'w-e2e', sku: 'mug', qty: 5 }, { time: now() }));
    await page.goto(`${server.url}/inventory`);
    const cell = page.locator('[data-testid="stock-w-e2e-mug"]');
    // 5 received, 2 reserved: 3 available, under the reorder level of 10.
    await expect.poll(() => cell.innerText(), { timeout: 10_000 }).toContain('3');
    expect(await cell.getAttribute('data-low-stock')).toBe('true');
    await publish(inventoryReceived({ warehouseId: 'w-e2e', sku: 'mug', qty: 40 }, { time: now() }));
    await expect.poll(() => cell.innerText(), { timeout: 10_000 }).toContain('43');
    expect(await cell.getAttribute('data-low-stock')).toBe('false');
  });

  it('recovers the right state after the server restarts under it', async () => {
    const cell = page.locator('[data-testid="stock-w-e2e-mug"]');
    await server.kill('SIGTERM');
    await expect.poll(() => page.getAttribute('[data-testid="connection-status"]', 'data-state'), { timeout: 15_000 }).not.toBe('live');
    server = await startServer();
    await publish(inventoryReceived({ warehouseId: 'w-e2e', sku: 'mug', qty: 100 }, { time: now() }));
    await expect.poll(() => page.getAttribute('[data-testid="connection-status"]', 'data-state'), { timeout: 20_000 }).toBe('live');
    await expect.poll(() => cell.innerText(), { timeout: 15_000 }).toContain('143');
  });

  it('lets an operator release a stuck order\'s stock and cancel it from the order page', async () => {
    await publish(
      orderPlaced({ orderId: 'o-e2e-stuck', warehouseId: 'w-e2e' }, { time: now() }),
      inventoryReserved({ orderId: 'o-e2e-stuck', warehouseId: 'w-e2e', items: [{ sku: 'mug', qty: 4 }] }, { time: now() }),
    );
    await page.goto(`${server.url}/orders/o-e2e-stuck`);
    const status = page.locator('[data-testid="order-status"]');
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toMatch(/reserved/i);
    await page.click('[data-testid="compensate"]');
    await page.fill('[data-testid="compensate-reason"]', 'customer unreachable for 3 days');
    await page.click('[data-testid="compensate-submit"]');
    await expect.poll(() => page.locator('[data-testid="compensated"]').innerText(), { timeout: 10_000 })
      .toContain('inventory.released and order.cancelled');
    await page.reload();
    await expect.poll(() => status.innerText(), { timeout: 10_000 }).toMatch(/cancelled/i);
    expect(await page.locator('[data-testid="compensate"]').count()).toBe(0);
  });

  it('lays out every page without overflow at laptop and wall-screen sizes (screenshots kept as artifacts)', async () => {
    const pages = {
      overview: '/', orders: '/orders', order: '/orders/o-e2e-1', inventory: '/inventory', fulfilment: '/fulfilment',
      alerts: '/alerts', 'embed-inventory': '/embed/inventory?warehouseId=w-e2e', 'embed-overview': '/embed/overview',
    };
    mkdirSync(SCREENSHOTS, { recursive: true });
    const overflowing: string[] = [];
    for (const size of [{ width: 1280, height: 800 }, { width: 1920, height: 1080 }]) {
      await page.setViewportSize(size);
      for (const [name, url] of Object.entries(pages)) {
        await page.goto(`${server.url}${url}`);
        // Every widget has its data: nothing loading, no error.
        await expect.poll(() => page.locator('[aria-busy="true"], [data-testid="view-error"]').count(), { timeout: 10_000 }).toBe(0);
        // A string, evaluated in the page: the tests are type-checked without the DOM library.
        const width = await page.evaluate<number>('document.documentElement.scrollWidth');
        if (width > size.width) overflowing.push(`${name} at ${size.width}×${size.height}: ${width} px wide`);
        await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${size.width}x${size.height}.png`), fullPage: true });
      }
    }
    expect(overflowing).toEqual([]);
  });
});
