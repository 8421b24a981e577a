/**
 * The web app with authentication on, in a browser, against a real EventDeck
 * process (every role, embedded chDB) with a bootstrap admin key, people's JWTs
 * and embed tokens: signing in, what each caller's rights show, the admin's
 * Keys and Audit pages, embed links (valid, tampered, expired) and the
 * `<eventdeck-view>` element in a portal page served from another origin.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApiKeyInfo, Me, MintedEmbedTokenInfo } from '../shared/access.ts';
import type { AuditPage } from '../shared/audit.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { launchBrowser } from './support/browser.ts';
import { eventually, jsonOf, postEvents } from './support/eventdeck.ts';
import { startEventDeckProcess, type EventDeckProcess } from './support/eventdeck-process.ts';
import { inventoryReceived } from './support/events.ts';
import { startTestRedis, type TestRedis } from './support/redis-server.ts';

const SCREENSHOTS = path.resolve('test-results/screenshots');
const ADMIN = `edk_${'e2e0'.repeat(10)}`;
const TIMEOUT = { timeout: 15_000 };

let redis: TestRedis;
let server: EventDeckProcess;
let browser: Browser;
/** The admin's tab: signed in once, kept for the admin pages. */
let admin: Page;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  server = await startEventDeckProcess({
    REDIS_URL: redis.url,
    EVENTDECK_AUTH_JWT_SECRET: 'e2e-people-jwt-secret-of-at-least-32-chars',
    EVENTDECK_EMBED_SECRET: 'e2e-embed-token-secret-of-at-least-32-chars',
    EVENTDECK_AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN,
    EVENTDECK_BATCH_WAIT_MS: '10',
    EVENTDECK_HISTORY_BATCH_WAIT_MS: '50',
  });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
  await publish(
    inventoryReceived({ warehouseId: 'w1', sku: 'mug', qty: 5 }, { time: new Date().toISOString() }),
    inventoryReceived({ warehouseId: 'w2', sku: 'mug', qty: 7 }, { time: new Date().toISOString() }),
  );
  await eventually(() => api<{ state: { rows: unknown[] } }>('/api/views/inventory'), (v) => v.state?.rows?.length === 2);
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await server?.kill();
  await redis?.stop();
});

async function publish(...events: CloudEvent[]): Promise<void> {
  expect((await postEvents(server.url, events, 'application/cloudevents-batch+json', { authorization: `Bearer ${ADMIN}` })).status).toBe(202);
}

async function api<T>(url: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
  const response = await fetch(`${server.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await jsonOf(response)) as T;
}

const mint = (filter: Record<string, string>, options: { ttlSeconds?: number; origins?: string[] } = {}) =>
  api<MintedEmbedTokenInfo>('/api/embed-tokens', { view: 'inventory', filter, ttlSeconds: options.ttlSeconds ?? 600, origins: options.origins ?? [] });

/** A tab of its own (its own sessionStorage: a credential signed in elsewhere is not here). */
async function freshPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  return context.newPage();
}

const dialogOpen = (page: Page) => page.locator('[data-testid="signin-dialog"]').evaluate((d) => (d as unknown as { open: boolean }).open);
const navLinks = (page: Page) => page.locator('nav[aria-label="Main"] a').allInnerTexts();

async function signIn(page: Page, credential: string): Promise<void> {
  await expect.poll(() => dialogOpen(page), TIMEOUT).toBe(true);
  await page.locator('[data-testid="signin-token"]').fill(credential);
  await page.keyboard.press('Enter');
  await expect.poll(() => dialogOpen(page), TIMEOUT).toBe(false);
}

/** The admin's tab, signed in by the first test that needs it. */
async function adminPage(): Promise<Page> {
  if (!admin) {
    admin = await freshPage();
    await admin.goto(`${server.url}/inventory`);
    await signIn(admin, ADMIN);
  }
  return admin;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}-1280x800.png`), fullPage: true });

describe('signing in', () => {
  it('asks for a key or token, and shows no data, when the app is opened without one', async () => {
    const page = await freshPage();
    await page.goto(`${server.url}/inventory`);
    await expect.poll(() => dialogOpen(page), TIMEOUT).toBe(true);
    expect(await page.locator('[data-testid="signin-reason"]').innerText()).toMatch(/signed-in people only/);
    // Focus starts in the field: a keyboard user types straight away.
    expect(await page.evaluate<string | null>(`document.activeElement?.getAttribute('data-testid') ?? null`)).toBe('signin-token');
    expect(await page.locator('[data-testid="stock-grid"]').count()).toBe(0);
    expect(await page.locator('[data-testid="signed-out"]').count()).toBe(1);
    expect(await navLinks(page)).toEqual([]);
    await shot(page, 'signin');

    // A wrong key is refused in the dialog, with the server's reason.
    await page.locator('[data-testid="signin-token"]').fill(`edk_${'0'.repeat(16)}_${'x'.repeat(43)}`);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('[data-testid="signin-error"]').innerText(), TIMEOUT).toMatch(/401.*API key is not valid/s);
    expect(await dialogOpen(page)).toBe(true);
  });

  it('shows live data once signed in with the admin key, and who is signed in', async () => {
    const admin = await adminPage();
    const w1 = admin.locator('[data-testid="stock-w1-mug"]');
    await expect.poll(() => w1.innerText(), TIMEOUT).toContain('5');
    expect(await admin.locator('[data-testid="whoami-label"]').innerText()).toBe('bootstrap admin key');
    expect(await admin.locator('[data-testid="whoami-roles"]').innerText()).toBe('admin');
    expect(await api<Me>('/api/me')).toEqual(expect.objectContaining({ kind: 'key', id: 'bootstrap', label: 'bootstrap admin key', roles: ['admin'] }));
    expect(await navLinks(admin)).toEqual(expect.arrayContaining(['Overview', 'Inventory', 'Dead letters', 'Keys', 'Audit']));
    // Live: new stock arrives without a reload.
    await publish(inventoryReceived({ warehouseId: 'w1', sku: 'mug', qty: 10 }, { time: new Date().toISOString() }));
    await expect.poll(() => w1.innerText(), TIMEOUT).toContain('15');
    // The credential is not in the URL.
    expect(admin.url()).not.toContain(ADMIN);
    await shot(admin, 'inventory-signed-in');
  });

  it('shows a viewer limited to w1 only w1 stock, and no Keys or Audit link, and asks again when its key is revoked', async () => {
    const viewer = await api<IssuedApiKeyInfo>('/api/keys', { label: 'w1 wall screen', roles: ['viewer'], warehouses: ['w1'] });
    const page = await freshPage();
    await page.goto(`${server.url}/inventory`);
    await signIn(page, viewer.key);
    await expect.poll(() => page.locator('[data-testid="stock-w1-mug"]').innerText(), TIMEOUT).toContain('15');
    expect(await page.locator('[data-testid="stock-w2-mug"]').count()).toBe(0);
    expect(await page.locator('[data-testid="filter-warehouse"]').inputValue()).toBe('w1');
    const links = await navLinks(page);
    expect(links).toEqual(expect.arrayContaining(['Orders', 'Inventory', 'Fulfilment', 'Catalog']));
    for (const hidden of ['Keys', 'Audit', 'Dead letters', 'Overview', 'Alerts', 'Pipeline']) expect(links).not.toContain(hidden);
    expect(await page.locator('[data-testid="whoami-label"]').innerText()).toBe('w1 wall screen');
    await shot(page, 'inventory-scoped-viewer');

    // The server closes its live connection; the reconnection is refused, and the dialog says why.
    await api(`/api/keys/${viewer.id}`, undefined, 'DELETE');
    await expect.poll(() => dialogOpen(page), TIMEOUT).toBe(true);
    expect(await page.locator('[data-testid="signin-reason"]').innerText()).toMatch(/revoked/);
    expect(await page.locator('[data-testid="stock-grid"]').count()).toBe(0);
  });

  it('signs out: the credential is forgotten and the data is gone', async () => {
    const page = await freshPage();
    await page.goto(`${server.url}/inventory`);
    await signIn(page, ADMIN);
    await expect.poll(() => page.locator('[data-testid="stock-grid"]').count(), TIMEOUT).toBe(1);
    await page.locator('[data-testid="sign-out"]').click();
    await expect.poll(() => dialogOpen(page), TIMEOUT).toBe(true);
    expect(await page.locator('[data-testid="signin-reason"]').innerText()).toBe('You signed out.');
    expect(await page.locator('[data-testid="stock-grid"]').count()).toBe(0);
    await page.reload();
    await expect.poll(() => dialogOpen(page), TIMEOUT).toBe(true);
  });
});

describe('the admin pages', () => {
  it('creates a key on the Keys page, shows its secret once, and the Audit page then lists it', async () => {
    const admin = await adminPage();
    await admin.goto(`${server.url}/keys`);
    await admin.locator('[data-testid="new-key-label"]').fill('e2e created key');
    await admin.locator('[data-testid="new-key-role-operator"]').check();
    await admin.locator('[data-testid="new-key-warehouses"]').fill('w1');
    await admin.locator('[data-testid="new-key-submit"]').click();
    const secret = admin.locator('[data-testid="key-secret-value"]');
    await expect.poll(() => secret.innerText(), TIMEOUT).toMatch(/^edk_[0-9a-f]{16}_/);
    const id = /^edk_([0-9a-f]{16})_/.exec(await secret.innerText())![1]!;
    expect(await admin.locator('[data-testid="key-secret"]').innerText()).toMatch(/only time it is shown/);
    const row = admin.locator(`[data-testid="key-row"][data-key-id="${id}"]`);
    await expect.poll(() => row.count(), TIMEOUT).toBe(1);
    expect(await row.locator('[data-testid="key-roles"]').innerText()).toBe('viewer, operator');
    expect(await row.locator('[data-testid="key-warehouses"]').innerText()).toBe('w1');
    await shot(admin, 'keys-secret-once');
    // Once stored, it is gone for good: the list never carries secrets.
    await admin.getByRole('button', { name: 'I have stored it' }).click();
    expect(await admin.locator('[data-testid="key-secret"]').count()).toBe(0);
    await admin.reload();
    await expect.poll(() => row.count(), TIMEOUT).toBe(1);
    expect(await admin.content()).not.toContain('key-secret-value');

    // Revoking asks first, then the row says so.
    await row.locator('[data-testid="key-revoke"]').click();
    await admin.locator('[data-testid="confirm-submit"]').click();
    await expect.poll(() => row.locator('[data-testid="key-status"]').innerText(), TIMEOUT).toMatch(/^revoked\b/);

    // The audit trail reaches the page through the history store: Refresh until it is there.
    await admin.locator('nav a', { hasText: 'Audit' }).click();
    const created = admin.locator(`[data-testid="audit-row"][data-action="key.create"]`, { hasText: id });
    await expect.poll(async () => {
      await admin.locator('[data-testid="audit-refresh"]').click();
      return created.count();
    }, { timeout: 20_000, interval: 500 }).toBe(1);
    expect(await created.innerText()).toMatch(/bootstrap.*key\.create.*ok.*e2e created key/s);
    // Filtered by action, kept in the URL: the revocation just made, and the viewer's before it.
    await admin.locator('[data-testid="audit-action"]').selectOption('key.revoke');
    const rows = admin.locator('[data-testid="audit-row"]');
    await expect.poll(() => rows.evaluateAll((list) => list.every((r) => r.getAttribute('data-action') === 'key.revoke')), TIMEOUT).toBe(true);
    expect(await rows.first().innerText()).toContain(id);
    expect(admin.url()).toContain('action=key.revoke');
    const page = await api<AuditPage>('/api/audit?action=key.revoke');
    expect(page.entries[0]!.target).toBe(id);
    await shot(admin, 'audit');
  });

  it('mints an embed token on the Keys page and shows its URL and the <eventdeck-view> snippet', async () => {
    const admin = await adminPage();
    await admin.goto(`${server.url}/keys`);
    await admin.locator('[data-testid="embed-filter"]').fill('warehouseId=w1');
    await admin.locator('[data-testid="embed-origins"]').fill('https://portal.example.com');
    await admin.locator('[data-testid="embed-submit"]').click();
    const url = admin.locator('[data-testid="embed-url"]');
    await expect.poll(() => url.innerText(), TIMEOUT).toMatch(new RegExp(`^${server.url}/embed/inventory\\?warehouseId=w1&token=ey`));
    const snippet = await admin.locator('[data-testid="embed-snippet"]').innerText();
    expect(snippet).toContain(`<script type="module" src="${server.url}/eventdeck-view.js"></script>`);
    expect(snippet).toMatch(/<eventdeck-view view="inventory" filter="warehouseId=w1" token="ey[^"]+"/);
  });
});

describe('embed links', () => {
  it('shows the stock of its one warehouse, live, without asking anyone to sign in', async () => {
    const { url, token, expiresAt } = await mint({ warehouseId: 'w1' });
    // Who the token is, as GET /api/me says (the page asks nothing of it: it opens its one view).
    const me = (await jsonOf(await fetch(`${server.url}/api/me?token=${token}`))) as Me;
    expect(me).toEqual(expect.objectContaining({ kind: 'embed', rights: ['views:read'], warehouses: ['w1'], expiresAt }));
    const page = await freshPage();
    await page.goto(`${server.url}${url}`);
    const w1 = page.locator('[data-testid="stock-w1-mug"]');
    await expect.poll(() => w1.innerText(), TIMEOUT).toContain('15');
    expect(await page.locator('[data-testid="stock-w2-mug"]').count()).toBe(0);
    await publish(inventoryReceived({ warehouseId: 'w1', sku: 'mug', qty: 1 }, { time: new Date().toISOString() }));
    await expect.poll(() => w1.innerText(), TIMEOUT).toContain('16');
    expect(await page.locator('[data-testid="signin-dialog"]').count()).toBe(0);
  });

  it('says a tampered link is not valid and an expired one has expired, and shows no data', async () => {
    const { url } = await mint({ warehouseId: 'w1' });
    const tampered = url.replace(/token=([^&]+)/, (_, token: string) => `token=${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`);
    const page = await freshPage();
    const message = page.locator('[data-testid="embed-refused"]');
    await page.goto(`${server.url}${tampered}`);
    await expect.poll(() => message.innerText(), TIMEOUT).toMatch(/^This widget's link is not valid\./);
    expect(await page.locator('[data-testid="stock-grid"]').count()).toBe(0);

    const expiring = await mint({ warehouseId: 'w1' }, { ttlSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await page.goto(`${server.url}${expiring.url}`);
    await expect.poll(() => message.innerText(), TIMEOUT).toMatch(/^This widget's link has expired; ask for a new one\./);
    expect(await page.locator('[data-testid="stock-grid"]').count()).toBe(0);
    expect(await page.locator('[data-testid="signin-dialog"]').count()).toBe(0);
    await shot(page, 'embed-expired');
  });

  it('shows the widget inside a portal page of another origin, through <eventdeck-view>, when the token lists that origin', async () => {
    let html = '';
    const portal: Server = createServer((_, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => portal.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(portal.address() as AddressInfo).port}`;
      const [allowed, w2, elsewhere] = await Promise.all([
        mint({ warehouseId: 'w1' }, { origins: [origin] }),
        mint({ warehouseId: 'w2' }, { origins: [origin] }),
        mint({ warehouseId: 'w1' }, { origins: ['https://portal.example.com'] }),
      ]);
      html = `<!doctype html><title>Portal</title><h1>Our portal</h1>
        <script type="module" src="${server.url}/eventdeck-view.js"></script>
        <eventdeck-view id="stock" view="inventory" filter-warehouse-id="w1" token="${allowed.token}" style="height:240px"></eventdeck-view>
        <eventdeck-view id="other" view="inventory" filter-warehouse-id="w1" token="${elsewhere.token}" style="height:120px"></eventdeck-view>`;
      const page = await freshPage();
      await page.goto(origin);
      const widget = page.frameLocator('#stock iframe');
      await expect.poll(() => widget.locator('[data-testid="stock-w1-mug"]').innerText(), TIMEOUT).toContain('16');
      // A token for other origins: the browser refuses to frame the widget (CSP frame-ancestors), so no data.
      expect(await page.frameLocator('#other iframe').locator('[data-testid="stock-grid"]').count()).toBe(0);
      await shot(page, 'portal-widget');

      // New attributes, new widget: the element renders again.
      await page.evaluate(`(() => {
        const element = document.getElementById('stock');
        element.setAttribute('token', ${JSON.stringify(w2.token)});
        element.setAttribute('filter-warehouse-id', 'w2');
      })()`);
      await expect.poll(() => widget.locator('[data-testid="stock-w2-mug"]').innerText(), TIMEOUT).toContain('7');
      expect(await widget.locator('[data-testid="stock-w1-mug"]').count()).toBe(0);
    } finally {
      await new Promise((resolve) => portal.close(resolve));
    }
  });
});
