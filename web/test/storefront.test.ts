// The storefront in a real browser (Debian's Chromium driven by playwright-core) against `npm start`
// on real engines: browse -> sign up -> add to cart -> checkout -> PAID; PAYMENT_FAILED; cancel; a
// sold-out product, on its page and at checkout; a double click on "Place order", and a retry after
// a lost answer, each make one order; rate-limited and signed-out answers in words. Screenshots of
// the main pages go to web/test/screenshots/ (git-ignored).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { needsRealEngine } from '../../services/test-support/engines';
import { launchChromium, startLocalStack, type LocalStack } from './local-stack';

const SCREENSHOTS = join(__dirname, 'screenshots');
/** Demo catalog: SKUs ending in 3 cost N.13 USD, which the sandbox provider declines; the others pay. */
const PAID_SKU = 'SKU-000002';
const SOLD_OUT_SKU = 'SKU-000005';
const DOUBLE_CLICK_SKU = 'SKU-000004';
const LATE_SOLD_OUT_SKU = 'SKU-000006';
const DECLINED_SKU = 'SKU-000003';
const CANCELLED_SKU = 'SKU-000007';

jest.setTimeout(180_000);

needsRealEngine('chromium', 'a real browser drives the storefront; nothing stands in for it')('storefront in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;
  const products: Record<string, { id: string; name: string }> = {};

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // The browser first: without Chromium this fails at once, naming the missing executable.
    browser = await launchChromium();
    // A slower sandbox charge (half before, half after it is recorded) keeps orders PENDING for about
    // 1.5 s, long enough for a shopper to cancel one.
    stack = await startLocalStack({ products: 30, env: async () => ({ PAYMENT_SANDBOX_LATENCY_MS: '1500' }) });
    const { rows } = await stack.database.db.writer.query<{ id: string; sku: string; name: string }>('SELECT id, sku, name FROM products WHERE sku = ANY($1)', [
      [PAID_SKU, SOLD_OUT_SKU, DOUBLE_CLICK_SKU, LATE_SOLD_OUT_SKU, DECLINED_SKU, CANCELLED_SKU],
    ]);
    for (const row of rows) products[row.sku] = row;
    await stack.database.db.writer.query('UPDATE products SET stock = 0 WHERE sku = $1', [SOLD_OUT_SKU]);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** A fresh browser profile (its own cart and session) on the storefront. */
  async function newShopper(): Promise<Page> {
    const context = await browser.newContext({ baseURL: stack.baseUrl, viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    page.on('pageerror', (err) => {
      throw new Error(`the storefront threw in the browser: ${err.message}`);
    });
    return page;
  }

  async function signUp(page: Page, email: string): Promise<void> {
    await page.getByLabel('Name').fill('Test Shopper');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
  }

  async function ordersOf(email: string): Promise<Array<{ id: string; status: string }>> {
    const { rows } = await stack.database.db.writer.query<{ id: string; status: string }>(
      'SELECT o.id, o.status FROM orders o JOIN users u ON u.id = o.user_id WHERE lower(u.email) = lower($1) ORDER BY o.created_at',
      [email],
    );
    return rows;
  }

  async function addToCart(page: Page, sku: string): Promise<void> {
    await page.goto(`/#/products/${products[sku].id}`);
    await page.getByRole('heading', { level: 1, name: products[sku].name, exact: true }).waitFor();
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByRole('status').getByText(`Added 1 × ${products[sku].name}`).waitFor();
  }

  test('browse, sign up, add to cart, check out: the order page follows PENDING to PAID', async () => {
    const page = await newShopper();
    const email = `browser-paid-${Date.now()}@example.com`;
    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: 'Products', exact: true }).waitFor();
    await page.locator('.products li').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'catalog.png') });
    // 30 products, 20 a page: the next page (the API's cursor) holds the other 10.
    await expect(page.locator('.products li').count()).resolves.toBe(20);
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.getByRole('link', { name: 'First page' }).waitFor();
    await expect(page.locator('.products li').count()).resolves.toBe(10);
    await expect(page.getByRole('link', { name: 'Next page' }).count()).resolves.toBe(0);

    await page.getByLabel('Search products').fill(products[PAID_SKU].name);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { level: 1, name: `Products matching “${products[PAID_SKU].name}”`, exact: true }).waitFor();
    await page.getByRole('link', { name: products[PAID_SKU].name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: products[PAID_SKU].name, exact: true }).waitFor();
    await expectFocusOnHeading(page);
    await page.screenshot({ path: join(SCREENSHOTS, 'product.png') });
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByRole('link', { name: /Cart/ }).first().click();

    await page.getByRole('heading', { level: 1, name: 'Your cart', exact: true }).waitFor();
    await page.getByRole('link', { name: 'create an account' }).click();
    await signUp(page, email);
    await page.getByRole('heading', { level: 1, name: 'Your cart', exact: true }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'cart.png') });
    await page.getByRole('button', { name: 'Place order' }).click();

    await page.waitForURL(/#\/orders\/[0-9a-f-]{36}$/);
    await page.locator('[data-status="PAID"]').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'order-paid.png') });
    const orders = await ordersOf(email);
    expect(orders).toEqual([{ id: page.url().split('/').pop(), status: 'PAID' }]);

    await page.getByRole('link', { name: 'Orders' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your orders', exact: true }).waitFor();
    await page.locator('.orders li').first().waitFor();
    await expect(page.locator('.orders li').count()).resolves.toBe(1);
    await expect(page.locator('.orders [data-status="PAID"]').count()).resolves.toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'orders.png') });
  });

  test('a declined payment shows PAYMENT_FAILED; a pending order can be cancelled', async () => {
    const page = await newShopper();
    const email = `browser-failed-${Date.now()}@example.com`;
    await page.goto('/#/signup');
    await signUp(page, email);
    await page.getByRole('heading', { level: 1, name: 'Products', exact: true }).waitFor();
    await addToCart(page, DECLINED_SKU);
    await page.goto('/#/cart');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/#\/orders\/[0-9a-f-]{36}$/);
    await page.locator('[data-status="PAYMENT_FAILED"]').waitFor({ timeout: 60_000 });

    await addToCart(page, CANCELLED_SKU);
    await page.goto('/#/cart');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/#\/orders\/[0-9a-f-]{36}$/);
    await page.locator('[data-status="PENDING"]').waitFor();
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.locator('[data-status="CANCELLED"]').waitFor();
    expect((await ordersOf(email)).map((order) => order.status)).toEqual(['PAYMENT_FAILED', 'CANCELLED']);
  });

  test('a sold-out product says so and cannot be added; one that sells out before checkout is refused in words', async () => {
    const page = await newShopper();
    await page.goto(`/#/products/${products[SOLD_OUT_SKU].id}`);
    await page.getByRole('heading', { level: 1, name: products[SOLD_OUT_SKU].name, exact: true }).waitFor();
    await expect(page.locator('.details .sold-out').textContent()).resolves.toBe('Sold out');
    await expect(page.getByRole('button', { name: 'Sold out' }).isDisabled()).resolves.toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'sold-out.png') });

    await page.goto('/#/signup');
    await signUp(page, `browser-soldout-${Date.now()}@example.com`);
    await page.getByRole('heading', { level: 1, name: 'Products', exact: true }).waitFor();
    await addToCart(page, LATE_SOLD_OUT_SKU);
    await stack.database.db.writer.query('UPDATE products SET stock = 0 WHERE sku = $1', [LATE_SOLD_OUT_SKU]);
    await page.goto('/#/cart');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByRole('alert').getByText(`Sold out: ${products[LATE_SOLD_OUT_SKU].name} is no longer available.`).waitFor();
    await expect(page.getByRole('button', { name: 'Place order' }).isEnabled()).resolves.toBe(true);
  });

  test('a double click on "Place order" makes one order', async () => {
    const page = await newShopper();
    const email = `browser-double-${Date.now()}@example.com`;
    await page.goto('/#/signup');
    await signUp(page, email);
    await page.getByRole('heading', { level: 1, name: 'Products', exact: true }).waitFor();
    await addToCart(page, DOUBLE_CLICK_SKU);
    await page.goto('/#/cart');
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/api/orders')) posts.push(request.headers()['idempotency-key']);
    });
    await page.getByRole('button', { name: 'Place order' }).dblclick();
    await page.waitForURL(/#\/orders\/[0-9a-f-]{36}$/);
    await page.locator('[data-status="PAID"]').waitFor({ timeout: 60_000 });
    expect(await ordersOf(email)).toHaveLength(1);
    expect(posts.length).toBeGreaterThanOrEqual(1);
    expect(new Set(posts).size).toBe(1);
  });

  test('a retry after the answer was lost replays the same order (same Idempotency-Key)', async () => {
    const page = await newShopper();
    const email = `browser-retry-${Date.now()}@example.com`;
    await page.goto('/#/signup');
    await signUp(page, email);
    await page.getByRole('heading', { level: 1, name: 'Products', exact: true }).waitFor();
    await addToCart(page, DOUBLE_CLICK_SKU);
    await page.goto('/#/cart');
    const keys: string[] = [];
    let lose = true;
    // The first order reaches the API (and is placed) but its answer never reaches the page.
    await page.route('**/api/orders', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      keys.push(route.request().headers()['idempotency-key']);
      if (!lose) return route.continue();
      lose = false;
      await route.fetch();
      await route.abort('connectionreset');
    });
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByRole('alert').getByText('The shop cannot be reached').waitFor();
    expect(await ordersOf(email)).toHaveLength(1);

    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/#\/orders\/[0-9a-f-]{36}$/);
    const orders = await ordersOf(email);
    expect(orders).toHaveLength(1);
    expect(page.url().split('/').pop()).toBe(orders[0].id);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });

  test('a rate-limited order shows the wait the API asks for; a refused token signs the shopper out', async () => {
    const page = await newShopper();
    await page.goto('/#/signup');
    await signUp(page, `browser-errors-${Date.now()}@example.com`);
    await page.getByRole('heading', { level: 1, name: 'Products', exact: true }).waitFor();
    await addToCart(page, PAID_SKU);
    await page.goto('/#/cart');
    // The API's own answers, as services/platform/rate-limit.ts and auth.ts send them.
    let answer = 429;
    await page.route('**/api/orders', (route) =>
      answer === 429
        ? route.fulfill({
            status: 429,
            headers: { 'retry-after': '7', ratelimit: '"orders";r=0;t=7', 'content-type': 'application/json' },
            body: JSON.stringify({ error: 'too_many_requests', message: 'Rate limit "orders" exceeded; retry in 7 s' }),
          })
        : route.fulfill({
            status: 401,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ error: 'unauthorized', message: 'The access token is invalid or expired' }),
          }),
    );
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByRole('alert').getByText('Too many requests right now. Please wait 7 seconds and try again.').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'rate-limited.png') });

    answer = 401;
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByRole('alert').getByText('You are signed out. Log in to continue.').waitFor();
    await page.getByRole('banner').getByRole('link', { name: 'Log in' }).waitFor();
  });
});

async function expectFocusOnHeading(page: Page): Promise<void> {
  await expect(page.evaluate('document.activeElement?.tagName')).resolves.toBe('H1');
}
