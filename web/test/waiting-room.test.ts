// The waiting room in real browsers: three shoppers join a sale's queue one after another behind four
// who came earlier; each page shows its position (in arrival order) and an estimated wait, and they are
// admitted in that order at the inlet (1 shopper/s); an admitted shopper buys the sale's product
// (checkout sends Surge-Admission) and one who skipped the queue is told to join it.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { needsRealEngine } from '../../services/test-support/engines';
import { launchChromium, startLocalStack, type LocalStack } from './local-stack';

const SCREENSHOTS = join(__dirname, 'screenshots');
const EVENT_ID = 'browser-sale';
const SALE_SKU = 'SKU-000012';
/** Shoppers queued through the API before the browsers, so the browsers really wait. */
const EARLIER_SHOPPERS = 4;

jest.setTimeout(180_000);

needsRealEngine('chromium', 'a real browser drives the storefront; nothing stands in for it')('waiting room in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;
  let saleProduct: { id: string; name: string };

  beforeAll(async () => {
    browser = await launchChromium();
    stack = await startLocalStack({
      products: 30,
      env: async (database) => {
        const { rows } = await database.db.writer.query<{ id: string; name: string }>('SELECT id, name FROM products WHERE sku = $1', [SALE_SKU]);
        saleProduct = rows[0];
        const now = Date.now();
        const event = {
          eventId: EVENT_ID,
          name: 'Browser sale',
          startsAt: new Date(now - 60_000).toISOString(),
          endsAt: new Date(now + 3600_000).toISOString(),
          productIds: [saleProduct.id],
          inletPerSecond: 1,
        };
        // Eight sign-ups from one address: above the production per-address registration limit (5/min).
        return { WAITING_ROOM_EVENTS: JSON.stringify([event]), RATE_LIMIT_REGISTER_PER_MINUTE: '100', RATE_LIMIT_LOGIN_PER_MINUTE: '100' };
      },
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function signedUpShopper(name: string): Promise<Page> {
    const context = await browser.newContext({ baseURL: stack.baseUrl, viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    page.on('pageerror', (err) => {
      throw new Error(`the storefront threw in the browser: ${err.message}`);
    });
    await page.goto('/#/signup');
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Email').fill(`${name}-${Date.now()}@example.com`);
    await page.getByLabel(/^Password/).fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Products', exact: true }).waitFor();
    return page;
  }

  /** A shopper who joins through the API (sign up, log in, take a ticket); returns the position. */
  async function apiShopper(i: number): Promise<number> {
    const email = `earlier-${i}-${Date.now()}@example.com`;
    const json = { 'content-type': 'application/json' };
    await fetch(`${stack.baseUrl}/api/users`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'correct horse battery', name: `Earlier ${i}` }) });
    const login = await fetch(`${stack.baseUrl}/api/users/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'correct horse battery' }) });
    const { token } = (await login.json()) as { token: string };
    const ticket = await fetch(`${stack.baseUrl}/api/waiting-room/${EVENT_ID}/tickets`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(ticket.status).toBe(201);
    return ((await ticket.json()) as { position: number }).position;
  }

  test('three shoppers are admitted in arrival order, and only the admitted buy the sale product', async () => {
    const shoppers = [await signedUpShopper('first'), await signedUpShopper('second'), await signedUpShopper('third')];
    const latecomer = await signedUpShopper('skipper');

    // The product page points to the waiting room.
    await shoppers[0].goto(`/#/products/${saleProduct.id}`);
    await shoppers[0].getByRole('link', { name: 'Join the waiting room' }).waitFor();

    const earlier: number[] = [];
    for (let i = 0; i < EARLIER_SHOPPERS; i++) earlier.push(await apiShopper(i));
    expect(earlier).toEqual([1, 2, 3, 4]);

    // Join one after another; each page shows its place before the next one joins.
    const positions: number[] = [];
    const admittedAt: number[] = [];
    for (const [i, page] of shoppers.entries()) {
      // When the page got its admission token (it asks only once the room says it is its turn).
      page.on('response', (response) => {
        if (response.url().endsWith(`/api/waiting-room/${EVENT_ID}/admission`) && response.status() === 200) admittedAt[i] ??= Date.now();
      });
      await page.goto(`/#/wait/${EVENT_ID}`);
      const position = page.locator('.position');
      await position.waitFor();
      positions.push(Number(await position.getAttribute('data-position')));
    }
    expect(positions).toEqual([5, 6, 7]);
    await expect(shoppers[2].getByRole('status').textContent()).resolves.toMatch(
      /You are number 7 in the queue\. \d+ shoppers? (is|are) ahead of you; estimated wait about \d+ s\./,
    );
    await shoppers[2].screenshot({ path: join(SCREENSHOTS, 'waiting-room.png') });

    // A reload keeps the place.
    await shoppers[2].reload();
    await shoppers[2].locator('.position[data-position="7"]').waitFor();

    for (const page of shoppers) await page.getByText('It is your turn!').waitFor({ timeout: 60_000 });
    expect(admittedAt.filter((t) => t !== undefined)).toHaveLength(3);
    // The inlet admits one a second; each page looks once a second, so neighbours may be seen up to a
    // poll apart, but never the last before the first.
    expect(admittedAt[0]).toBeLessThan(admittedAt[2]);
    expect(admittedAt[1]).toBeLessThanOrEqual(admittedAt[2] + 1500);
    expect(admittedAt[0]).toBeLessThanOrEqual(admittedAt[1] + 1500);

    // Admitted: the sale product can be bought (checkout sends the admission token).
    const buyer = shoppers[0];
    await buyer.goto(`/#/products/${saleProduct.id}`);
    await buyer.getByRole('button', { name: 'Add to cart' }).click();
    await buyer.goto('/#/cart');
    await buyer.getByRole('button', { name: 'Place order' }).click();
    await buyer.waitForURL(/#\/orders\/[0-9a-f-]{36}$/);
    await buyer.locator('[data-status="PAID"]').waitFor({ timeout: 60_000 });

    // Not in the queue: the order is refused with the way to the waiting room.
    await latecomer.goto(`/#/products/${saleProduct.id}`);
    await latecomer.getByRole('button', { name: 'Add to cart' }).click();
    await latecomer.goto('/#/cart');
    await latecomer.getByRole('button', { name: 'Place order' }).click();
    await latecomer.getByRole('alert').getByText('This product is in a sale event. Join the waiting room to buy it.').waitFor();
    await latecomer.getByRole('alert').getByRole('link', { name: 'Join the waiting room' }).waitFor();
  });
});
