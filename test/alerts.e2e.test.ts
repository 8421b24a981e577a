import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './support/browser.ts';
import { postEvents } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { inventoryReceived, inventoryReserved } from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let server: EventDeckProcess;
let browser: Browser;
/** Two sessions (separate storage, separate sockets): the one who acknowledges, and a colleague watching. */
let operatorContext: BrowserContext;
let colleagueContext: BrowserContext;
let operator: Page;
let colleague: Page;
const now = () => new Date().toISOString();
/** Screenshots for people to look at (git-ignored, kept by CI as artifacts). */
const SCREENSHOTS = path.resolve('test-results/screenshots');
const WAREHOUSE = 'w-alerts';

async function publish(...events: unknown[]): Promise<void> {
  const response = await postEvents(server.url, events);
  expect(response.status).toBe(202);
}

/** The low-stock alert's row of one sku, as a page shows it. */
const lowStockRow = (page: Page, sku: string): Locator => page.locator(`tr[data-rule="low-stock"][data-key="${WAREHOUSE}/${sku}"]`);
const stateOf = (row: Locator) => row.getAttribute('data-state', { timeout: 1_000 }).catch(() => null);

async function openAlerts(page: Page, url = '/alerts'): Promise<void> {
  await page.goto(`${server.url}${url}`);
  await expect.poll(() => page.getAttribute('[data-testid="connection-status"]', 'data-state'), { timeout: 15_000 }).toBe('live');
  await expect.poll(() => page.locator('[data-testid="alerts-table"]').count(), { timeout: 10_000 }).toBe(1);
  // Marks this document: if the page reloaded to show a change, the mark would be gone.
  await page.evaluate('window.__sameDocument = true');
}

const sameDocument = (page: Page) => page.evaluate<boolean>('window.__sameDocument === true');

beforeAll(async () => {
  redis = await startTestRedis();
  server = await startEventDeckProcess({
    REDIS_URL: redis.url, EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_LEASE_TTL_MS: '1000', EVENTDECK_ALERTS_EVERY_MS: '300',
  });
  browser = await launchBrowser();
  operatorContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  colleagueContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  operator = await operatorContext.newPage();
  colleague = await colleagueContext.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  await redis?.stop();
});

describe('the Alerts page in a browser', () => {
  it('shows a low-stock alert appear live, with its value and a ticking age', async () => {
    await openAlerts(operator);
    await openAlerts(colleague);
    const row = lowStockRow(operator, 'sku-low');
    expect(await row.count()).toBe(0);

    // 12 received, 5 reserved: 7 available, under the reorder level of 10.
    await publish(
      inventoryReceived({ warehouseId: WAREHOUSE, sku: 'sku-low', qty: 12 }, { time: now() }),
      inventoryReserved({ orderId: 'o-alerts-1', warehouseId: WAREHOUSE, items: [{ sku: 'sku-low', qty: 5 }] }, { time: now() }),
    );

    await expect.poll(() => stateOf(row), { timeout: 15_000 }).toBe('firing');
    await expect.poll(() => row.locator('[data-testid="alert-value"]').innerText(), { timeout: 10_000 }).toBe('7');
    expect(await row.locator('td').first().innerText()).toMatch(/warning/i);
    expect(await row.locator('[data-testid="alert-message"]').innerText()).toContain('7 available');
    expect(await operator.locator('[data-testid="alert-count-firing"] strong').innerText()).toBe('1');
    const age = await row.locator('[data-testid="alert-age"]').innerText();
    await expect.poll(() => row.locator('[data-testid="alert-age"]').innerText(), { timeout: 5_000 }).not.toBe(age);
    expect(await sameDocument(operator)).toBe(true);
  });

  it('acknowledges the alert from the page with a name and a note, and a second session sees it live', async () => {
    const row = lowStockRow(operator, 'sku-low');
    // By keyboard: the row's button, Enter, then the dialog asks for the name first (none remembered yet).
    await row.locator('[data-testid="ack-button"]').focus();
    await operator.keyboard.press('Enter');
    const dialog = operator.locator('[data-testid="ack-dialog"]');
    await expect.poll(() => dialog.isVisible(), { timeout: 5_000 }).toBe(true);
    await expect.poll(() => operator.evaluate<string | null>('document.activeElement?.dataset.testid ?? null')).toBe('ack-name');
    await operator.keyboard.type('Dana Ops');
    await operator.keyboard.press('Tab');
    await operator.keyboard.type('Restock ordered from the supplier');
    await dialog.locator('[data-testid="ack-submit"]').click();

    await expect.poll(() => dialog.isVisible(), { timeout: 5_000 }).toBe(false);
    await expect.poll(() => stateOf(row), { timeout: 10_000 }).toBe('acknowledged');
    expect(await row.locator('[data-testid="ack-button"]').count()).toBe(0);
    expect(await operator.locator('[data-testid="ack-outcome"]').innerText()).toContain('Acknowledged low-stock');

    // The colleague's session: the same row, acknowledged, with who and why, without a reload.
    const seen = lowStockRow(colleague, 'sku-low');
    await expect.poll(() => stateOf(seen), { timeout: 10_000 }).toBe('acknowledged');
    const ack = await seen.locator('[data-testid="alert-ack"]').innerText();
    expect(ack).toContain('Dana Ops');
    expect(ack).toContain('Restock ordered from the supplier');
    expect(await colleague.locator('[data-testid="alert-count-firing"] strong').innerText()).toBe('0');
    expect(await colleague.locator('[data-testid="alert-count-acknowledged"] strong').innerText()).toBe('1');
    expect(await sameDocument(colleague)).toBe(true);

    // The name is remembered in the operator's browser: the next dialog offers it.
    expect(await operator.evaluate<string | null>("localStorage.getItem('eventdeck:operator-name')")).toBe('Dana Ops');
  });

  it("shows the server's reason when the alert was acknowledged by someone else meanwhile", async () => {
    await publish(inventoryReceived({ warehouseId: WAREHOUSE, sku: 'sku-two', qty: 3 }, { time: now() }));
    const row = lowStockRow(colleague, 'sku-two');
    await expect.poll(() => stateOf(row), { timeout: 15_000 }).toBe('firing');
    await row.locator('[data-testid="ack-button"]').click();
    const dialog = colleague.locator('[data-testid="ack-dialog"]');
    await expect.poll(() => dialog.isVisible(), { timeout: 5_000 }).toBe(true);
    await dialog.locator('[data-testid="ack-name"]').fill('Sam');
    await dialog.locator('[data-testid="ack-note"]').fill('Looking');

    // Someone else is quicker, over the API.
    const id = await row.getAttribute('data-alert-id');
    const response = await fetch(`${server.url}/api/alerts/${id}/ack`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ by: 'Lee', note: 'on it' }),
    });
    expect(response.status).toBe(200);
    await expect.poll(() => stateOf(row), { timeout: 10_000 }).toBe('acknowledged');

    await dialog.locator('[data-testid="ack-submit"]').click();
    const error = dialog.locator('[data-testid="ack-error"]');
    await expect.poll(() => error.isVisible(), { timeout: 5_000 }).toBe(true);
    const words = await error.innerText();
    expect(words).toContain('409');
    expect(words).toContain('only a firing alert can be acknowledged');
    expect(await dialog.isVisible()).toBe(true);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await colleague.screenshot({ path: path.join(SCREENSHOTS, 'alerts-ack-refused-1280x800.png') });
    await colleague.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible(), { timeout: 5_000 }).toBe(false);
    expect(await row.locator('[data-testid="alert-ack"]').innerText()).toContain('Lee');
  });

  it('shows the alert resolved on both pages after a restock', async () => {
    await publish(inventoryReceived({ warehouseId: WAREHOUSE, sku: 'sku-low', qty: 40 }, { time: now() }));
    for (const page of [operator, colleague]) {
      const row = lowStockRow(page, 'sku-low');
      await expect.poll(() => stateOf(row), { timeout: 15_000 }).toBe('resolved');
      expect(await row.locator('[data-testid="alert-ack"]').innerText()).toContain('Dana Ops');
      expect(await sameDocument(page)).toBe(true);
    }
    // Resolved ones come after those still open.
    const order = await operator.locator('[data-testid="alerts-table"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
    expect(order).toEqual(['acknowledged', 'resolved']);
  });

  it('filters by state and rule, kept in the URL', async () => {
    await openAlerts(operator, '/alerts?state=resolved');
    const rows = operator.locator('[data-testid="alerts-table"] tbody tr[data-alert-id]');
    await expect.poll(() => rows.evaluateAll((list) => list.map((r) => r.getAttribute('data-key'))), { timeout: 10_000 })
      .toEqual([`${WAREHOUSE}/sku-low`]);
    await operator.selectOption('[data-testid="filter-state"]', 'acknowledged');
    await expect.poll(() => rows.evaluateAll((list) => list.map((r) => r.getAttribute('data-key'))), { timeout: 10_000 })
      .toEqual([`${WAREHOUSE}/sku-two`]);
    expect(new URL(operator.url()).searchParams.get('state')).toBe('acknowledged');
    await operator.selectOption('[data-testid="filter-rule"]', 'stuck-order');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(0);
    expect(await operator.locator('[data-testid="alerts-table"] tbody').innerText()).toContain('No alerts match');
  });

  it('lays out the Alerts page and its embed without overflow, in both themes, at laptop and wall-screen sizes', async () => {
    // One more, so the screenshots show every state.
    await publish(inventoryReceived({ warehouseId: WAREHOUSE, sku: 'sku-three', qty: 2 }, { time: now() }));
    await expect.poll(async () => (await fetch(`${server.url}/api/alerts?state=firing`).then((r) => r.json()) as { alerts: unknown[] }).alerts.length,
      { timeout: 15_000 }).toBe(1);
    const pages = { alerts: '/alerts', 'embed-alerts': '/embed/alerts' };
    mkdirSync(SCREENSHOTS, { recursive: true });
    const overflowing: string[] = [];
    for (const colorScheme of ['dark', 'light'] as const) {
      // A fresh session follows the system's scheme until the toggle is used.
      const context = await browser.newContext({ colorScheme });
      const page = await context.newPage();
      for (const size of [{ width: 1280, height: 800 }, { width: 1920, height: 1080 }]) {
        await page.setViewportSize(size);
        for (const [name, url] of Object.entries(pages)) {
          await page.goto(`${server.url}${url}`);
          await expect.poll(() => page.locator('[aria-busy="true"], [data-testid="view-error"]').count(), { timeout: 10_000 }).toBe(0);
          await expect.poll(() => page.locator('[data-testid="alerts-table"] tbody tr[data-alert-id]').count(), { timeout: 10_000 }).toBe(3);
          expect(await page.evaluate<string | undefined>('document.documentElement.dataset.theme')).toBe(colorScheme);
          // A string, evaluated in the page: the tests are type-checked without the DOM library.
          const width = await page.evaluate<number>('document.documentElement.scrollWidth');
          if (width > size.width) overflowing.push(`${name} (${colorScheme}) at ${size.width}×${size.height}: ${width} px wide`);
          await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${colorScheme}-${size.width}x${size.height}.png`), fullPage: true });
        }
      }
      await context.close();
    }
    expect(overflowing).toEqual([]);
  });
});
