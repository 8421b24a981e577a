/**
 * The event catalog and a flow's lineage in a browser, against a real
 * EventDeck process (every role, embedded chDB): what the pages show is
 * checked against what the API answers, after live events went in.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../shared/catalog.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import type { Lineage } from '../shared/lineage.ts';
import { launchBrowser } from './support/browser.ts';
import { eventually, jsonOf, postEvents } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { inventoryReleased, inventoryReserved, orderCancelled, orderPlaced, paymentFailed } from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const SCREENSHOTS = path.resolve('test-results/screenshots');
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const FLOW = 'saga-e2e-lineage';
const ORDER = 'o-e2e-lineage';

let redis: TestRedis;
let server: EventDeckProcess;
let browser: Browser;
let page: Page;

/** A saga that fails to pay and compensates, each step caused by the one before, ending a few seconds ago. */
function saga(): CloudEvent[] {
  const start = Date.now() - 60_000;
  const at = (ms: number) => new Date(start + ms).toISOString();
  const flow = { correlationid: FLOW, subject: ORDER };
  const placed = orderPlaced({ orderId: ORDER, customerId: 'cust-e2e-secret' },
    { ...flow, id: `${FLOW}-1`, time: at(0), source: '/shop', traceparent: `00-${TRACE}-00f067aa0ba902b7-01` });
  const reserved = inventoryReserved({ orderId: ORDER }, { ...flow, id: `${FLOW}-2`, time: at(900), source: '/stock', causationid: placed.id });
  const failed = paymentFailed({ orderId: ORDER }, { ...flow, id: `${FLOW}-3`, time: at(3_400), source: '/payments', causationid: reserved.id });
  const released = inventoryReleased({ orderId: ORDER }, { ...flow, id: `${FLOW}-4`, time: at(4_000), source: '/stock', causationid: failed.id });
  const cancelled = orderCancelled({ orderId: ORDER }, { ...flow, id: `${FLOW}-5`, time: at(5_250), source: '/shop', causationid: released.id });
  return [placed, reserved, failed, released, cancelled];
}

const api = async <T>(url: string): Promise<T> => (await jsonOf(await fetch(`${server.url}${url}`))) as T;

beforeAll(async () => {
  redis = await startTestRedis();
  server = await startEventDeckProcess({ REDIS_URL: redis.url, EVENTDECK_BATCH_WAIT_MS: '10', EVENTDECK_HISTORY_BATCH_WAIT_MS: '50' });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  expect((await postEvents(server.url, saga())).status).toBe(202);
  await eventually(async () => (await api<Lineage>(`/api/lineage/${FLOW}`)).nodes?.length, (n) => n === 5);
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  await redis?.stop();
});

const texts = (selector: string) => page.locator(selector).evaluateAll((list) => list.map((e) => (e.textContent ?? '').trim()));

describe('the event catalog page', () => {
  it('shows every registered type with its versions, partition key, consumers and last hour, as the API says', async () => {
    await page.goto(`${server.url}/catalog`);
    const rows = page.locator('[data-testid="catalog-row"]');
    const catalog = await api<Catalog>('/api/catalog');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(catalog.types.length);
    expect(await rows.evaluateAll((list) => list.map((e) => e.getAttribute('data-type')))).toEqual(catalog.types.map((t) => t.type));

    for (const type of catalog.types) {
      const row = page.locator(`[data-testid="catalog-row"][data-type="${type.type}"]`);
      expect(await row.locator('[data-testid="catalog-partition-key"]').innerText()).toBe(type.partitionKey);
      expect(await row.locator('[data-testid="catalog-consumers"]').innerText()).toBe(type.consumers.map((c) => c.projection).join(', ') || '—');
      expect(await row.locator('[data-testid="version-badge"]').allInnerTexts()).toEqual(type.versions.map((v) => `v${v.version} ${v.status}`));
      const events = type.producers!.reduce((sum, p) => sum + p.events, 0);
      expect(await row.locator('[data-testid="catalog-events"]').innerText()).toBe(String(events));
    }
    // Our saga: one order.placed from /shop within the last hour.
    const placedRow = page.locator('[data-testid="catalog-row"][data-type="order.placed"]');
    expect(await placedRow.locator('[data-testid="catalog-events"]').innerText()).toBe('1');
    expect(await placedRow.locator('[data-testid="catalog-sources"]').innerText()).toBe('/shop');

    // One type in detail, picked from the table: its schema, readably; customerId is the one field marked as personal data.
    await placedRow.locator('th a').click();
    await expect.poll(() => page.evaluate<string>('location.search')).toBe('?type=order.placed');
    const placedFields = page.locator('[data-testid="catalog-type"][data-type="order.placed"] [data-testid="catalog-fields"]');
    expect(await placedFields.locator('tr[data-sensitive="true"]').evaluateAll((list) => list.map((e) => e.getAttribute('data-field'))))
      .toEqual(['customerId']);
    expect(await placedFields.locator('tr[data-field="items[].qty"]').innerText()).toMatch(/integer\s+required\s+≥ 1/);
  });
});

describe('the lineage page', () => {
  it('is linked from the order, and draws the flow by causation with the compensation marked, as the API says', async () => {
    await page.goto(`${server.url}/orders/${ORDER}`);
    const link = page.locator('[data-testid="order-lineage"] a');
    await expect.poll(() => link.innerText(), { timeout: 10_000 }).toBe(FLOW);
    await link.click();
    await expect.poll(() => page.evaluate<string>('location.pathname')).toBe(`/lineage/${FLOW}`);

    const lineage = await api<Lineage>(`/api/lineage/${FLOW}`);
    const nodes = page.locator('[data-testid="lineage-node"]');
    await expect.poll(() => nodes.count(), { timeout: 10_000 }).toBe(lineage.nodes.length);
    // Left to right by time: columns in the API's order; a chain stays in one lane.
    const shown = await nodes.evaluateAll((list) => list.map((e) => ({
      id: e.getAttribute('data-id'), type: e.getAttribute('data-type'), kind: e.getAttribute('data-kind'),
      column: Number(e.getAttribute('data-column')), lane: Number(e.getAttribute('data-lane')),
    })));
    expect(shown.map((n) => n.id)).toEqual(lineage.nodes.map((n) => n.id));
    expect(shown.map((n) => n.column)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(shown.map((n) => n.lane))).toEqual(new Set([0]));
    expect(shown.map((n) => [n.type, n.kind])).toEqual([
      ['order.placed', 'step'], ['inventory.reserved', 'step'], ['payment.failed', 'failure'],
      ['inventory.released', 'compensation'], ['order.cancelled', 'compensation'],
    ]);
    // Arrows by causation, and the ones into a compensation are styled apart.
    const edges = await page.locator('[data-testid="lineage-edge"]').evaluateAll((list) => list.map((e) => `${e.getAttribute('data-from')}→${e.getAttribute('data-to')}:${e.getAttribute('data-kind')}`));
    expect(edges).toEqual(lineage.edges.map((e) => `${e.from.id}→${e.to.id}:${['inventory.released', 'order.cancelled'].includes(lineage.nodes.find((n) => n.id === e.to.id)!.type) ? 'compensation' : e.to.id.endsWith('-3') ? 'failure' : 'step'}`));
    // A string, evaluated in the page: the tests are type-checked without the DOM library.
    const dashed = await page.evaluate<string>(`getComputedStyle(document.querySelector('[data-testid="lineage-edge"][data-kind="compensation"]')).strokeDasharray`);
    expect(dashed).not.toBe('none');
    // The gaps since each cause, as the API measured them.
    expect(await texts('[data-testid="lineage-gap"]')).toEqual(['start', '+900 ms after cause', '+2.5 s after cause', '+600 ms after cause', '+1.25 s after cause']);
    expect(lineage.nodes.map((n) => n.gapMs)).toEqual([null, 900, 2_500, 600, 1_250]);
    expect(await texts('[data-testid="lineage-row-gap"]')).toEqual(['—', '+900 ms', '+2.5 s', '+600 ms', '+1.25 s']);

    // The first event is selected: its data with the personal field masked.
    const data = page.locator('[data-testid="lineage-data"]');
    expect(await data.innerText()).toContain('"customerId": "•••"');
    expect(await page.content()).not.toContain('cust-e2e-secret');
    // Selecting another event by keyboard shows its data.
    await page.locator(`[data-testid="lineage-node"][data-id="${FLOW}-3"]`).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => data.innerText()).toContain('card declined');
  });

  it('finds the flow from its trace id', async () => {
    await page.goto(`${server.url}/lineage`);
    await page.locator('[data-testid="lineage-search"]').fill(TRACE.toUpperCase());
    await page.keyboard.press('Enter');
    const flowLink = page.locator('[data-testid="trace-flows"] a');
    await expect.poll(() => flowLink.allInnerTexts(), { timeout: 10_000 }).toEqual([FLOW]);
    expect(await page.evaluate<string>('location.search')).toBe(`?traceId=${TRACE}`);
  });

  it('lays out the catalog and the lineage without overflow at laptop and wall-screen sizes (screenshots kept)', async () => {
    const pages = { catalog: '/catalog?type=order.placed', lineage: `/lineage/${FLOW}`, 'lineage-search': `/lineage?traceId=${TRACE}` };
    mkdirSync(SCREENSHOTS, { recursive: true });
    const overflowing: string[] = [];
    for (const size of [{ width: 1280, height: 800 }, { width: 1920, height: 1080 }]) {
      await page.setViewportSize(size);
      for (const [name, url] of Object.entries(pages)) {
        await page.goto(`${server.url}${url}`);
        await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 10_000 }).toBe(0);
        const width = await page.evaluate<number>('document.documentElement.scrollWidth');
        if (width > size.width) overflowing.push(`${name} at ${size.width}×${size.height}: ${width} px wide`);
        await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${size.width}x${size.height}.png`), fullPage: true });
      }
    }
    expect(overflowing).toEqual([]);
  });
});
