// HTTP tests of the order service through `inject`, on the real PostgreSQL and Redis: the public
// contract (status codes, headers, bodies, messages naming the problem) and its behaviour under
// concurrent requests.
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { LEASE_MS } from '../../platform/rate-limit/leases';
import { buildApp } from '../../platform/app';
import { createTestContext, listenForTest, needsRealEngine, countRows } from '../../test-support/testing';
import { orderRoutes } from '../routes';
import { addProduct, stockOf } from './fixtures';
import { startTestService, type TestService } from './harness';
import { placeOrder } from '../use-cases/place-order';

// The route's use case, watched (and run as it is): the sold-out hot path answers without it.
jest.mock('../use-cases/place-order', () => {
  const actual = jest.requireActual('../use-cases/place-order');
  return { ...actual, placeOrder: jest.fn(actual.placeOrder) };
});

let service: TestService;
beforeAll(async () => {
  // A high 'orders' limit: the concurrency tests send 50 requests from one user.
  service = await startTestService([orderRoutes], { redis: true, env: { RATE_LIMIT_ORDERS_PER_MINUTE: '100000' } });
});
afterAll(async () => {
  await service?.close();
});

const writer = () => service.database.db.writer;

async function postOrder(
  items: unknown,
  options: { key?: string | null; headers?: Record<string, string>; userId?: string } = {},
) {
  const auth = options.headers ?? (await service.authFor(options.userId));
  const key = options.key === undefined ? randomUUID() : options.key;
  return service.request({
    method: 'POST',
    url: '/api/orders',
    headers: { ...auth, ...(key === null ? {} : { 'idempotency-key': key }) },
    payload: items === undefined ? undefined : { items },
  });
}

describe('GET /api/products', () => {
  it('pages with a cursor and says how long CloudFront may cache the page', async () => {
    for (let i = 0; i < 3; i++) await addProduct(writer(), { name: `Paging probe ${i}` });
    const first = await service.request({ url: '/api/products?limit=2&q=paging%20probe' });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=1');
    const page = first.json();
    expect(page.items).toHaveLength(2);
    expect(page.items[0]).toEqual({
      id: expect.any(String),
      sku: expect.any(String),
      name: expect.stringMatching(/^Paging probe/),
      priceCents: 1000,
      currency: 'USD',
      stock: 10,
    });
    const second = await service.request({ url: `/api/products?limit=2&q=paging%20probe&cursor=${page.nextCursor}` });
    expect(second.json().items).toHaveLength(1);
    expect(second.json().nextCursor).toBeNull();
  });

  it.each([
    ['limit=101', /limit must be <= 100/],
    ['limit=0', /limit must be >= 1/],
    ['limit=ten', /limit must be integer/],
    ['color=red', /querystring\.color is not allowed/],
    ['cursor=bogus', /cursor is not a cursor returned by this API/],
  ])('answers 400 for ?%s, naming the problem', async (query, message) => {
    const response = await service.request({ url: `/api/products?${query}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'bad_request', message: expect.stringMatching(message) });
  });
});

describe('GET /api/products/:id', () => {
  it('answers MISS then HIT from the cache, with public max-age=1', async () => {
    const product = await addProduct(writer(), { priceCents: 4_200, stock: 7 });
    const miss = await service.request({ url: `/api/products/${product.id}` });
    const hit = await service.request({ url: `/api/products/${product.id}` });
    expect([miss.statusCode, hit.statusCode]).toEqual([200, 200]);
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(hit.headers['cache-control']).toBe('public, max-age=1');
    expect(hit.json()).toEqual(miss.json());
    expect(hit.json()).toMatchObject({ id: product.id, priceCents: 4_200, currency: 'USD', stock: 7 });
  });

  it('sends a cached product as exactly the bytes Fastify makes of it through the route schema', async () => {
    const product = await addProduct(writer(), { name: 'Kettle "Deluxe" \u00e9\u2713 </script>', priceCents: 1_999, stock: 3 });
    const url = `/api/products/${product.id}`;
    // The same routes without the product cache: the handler returns the product and Fastify serializes it.
    const uncachedCtx = await createTestContext({ databaseUrl: service.database.url, env: { PRODUCT_CACHE: 'off' } });
    const uncachedApp = await buildApp(uncachedCtx, [orderRoutes]);
    try {
      const serialized = await (await listenForTest(uncachedApp)).request({ url });
      await service.request({ url });
      const hit = await service.request({ url });
      expect([hit.headers['x-cache'], serialized.headers['x-cache']]).toEqual(['HIT', 'MISS']);
      expect(hit.body).toBe(serialized.body);
      expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(hit.headers['content-type']).toBe(serialized.headers['content-type']);
      expect(hit.headers['content-length']).toBe(serialized.headers['content-length']);
    } finally {
      await uncachedApp.close();
      await uncachedCtx.close();
    }
  });

  it('shows new stock within the cache TTL (1 s) after an order takes some', async () => {
    const product = await addProduct(writer(), { stock: 10 });
    await service.request({ url: `/api/products/${product.id}` }); // cached with stock 10
    expect((await postOrder([{ productId: product.id, quantity: 3 }])).statusCode).toBe(202);
    const ordered = Date.now();
    let stock = 10;
    while (stock !== 7 && Date.now() - ordered < 3_000) {
      stock = (await service.request({ url: `/api/products/${product.id}` })).json().stock;
      if (stock !== 7) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stock).toBe(7);
    // TTL 1 s, plus slack for the polling itself on a busy CI machine (well under the 2 s promise).
    expect(Date.now() - ordered).toBeLessThanOrEqual(1_400);
  });

  describe('the hot path (a cache hit answered before Fastify)', () => {
    /** Which way each request went: the route's limiter call (`take`) or the hot path's (`takeLeased`). */
    const watchLimiter = () => {
      const take = jest.spyOn(service.ctx.limiter, 'take');
      const takeLeased = jest.spyOn(service.ctx.limiter, 'takeLeased');
      return {
        route: () => take.mock.calls.length,
        hot: () => takeLeased.mock.results.filter((r) => r.value !== undefined).length,
        restore: () => {
          take.mockRestore();
          takeLeased.mockRestore();
        },
      };
    };
    /** The EMF line the next flush writes for `route`. */
    const flushedMetrics = (route: string) => {
      const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        service.ctx.metrics.flush();
        const lines = write.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
        return lines.find((line) => line.Route === route);
      } finally {
        write.mockRestore();
      }
    };

    it('answers with the route\'s status, body and headers, counted in the route\'s metrics', async () => {
      const product = await addProduct(writer(), { name: 'Hot kettle', priceCents: 2_500, stock: 9 });
      const url = `/api/products/${product.id}`;
      // A lease reports the bucket as it was when it was taken. Earlier tests of this file spent from
      // this client's bucket: let their lease expire, so the MISS takes a fresh one and the counts
      // below need allow only for what Redis refilled since.
      await sleep(LEASE_MS + 50);
      const before = Date.now();
      await service.request({ url }); // MISS: the route fills the L1 and leases rate-limit tokens
      flushedMetrics('GET /api/products/:id'); // start counting from here
      const ways = watchLimiter();
      try {
        // A query string sends the read to the route (as any URL but the exact path does).
        const viaRoute = await service.request({ url: `${url}?via=route` });
        expect([ways.route(), ways.hot()]).toEqual([1, 0]);
        const viaHotPath = await service.request({ url });
        const elapsedMs = Date.now() - before;
        const again = await service.request({ url, headers: { 'x-request-id': 'trace-7' } });
        expect([ways.route(), ways.hot()]).toEqual([1, 2]);

        expect([viaHotPath.statusCode, viaHotPath.headers['x-cache']]).toEqual([200, 'HIT']);
        expect(viaHotPath.body).toBe(viaRoute.body);
        expect(Object.keys(viaHotPath.headers).sort()).toEqual(Object.keys(viaRoute.headers).sort());
        for (const [name, value] of Object.entries(viaRoute.headers)) {
          if (['date', 'x-request-id', 'ratelimit'].includes(name)) continue;
          expect([name, viaHotPath.headers[name]]).toEqual([name, value]);
        }
        // One token each, from the same bucket: the hot path's count follows the route's.
        const remaining = (r: { headers: Record<string, string> }) => Number(/^"default";r=(\d+);t=\d+$/.exec(r.headers.ratelimit)![1]);
        // A lease renewed meanwhile reports the bucket as Redis refilled it (50 tokens/s): on a slow
        // machine the two answers may be that far apart, so the exact count holds only when they are close.
        const refilled = Math.ceil((elapsedMs / 1000) * 50);
        if (refilled <= 1) expect(remaining(viaHotPath)).toBe(remaining(viaRoute) - 1);
        else expect(remaining(viaHotPath)).toBeLessThanOrEqual(Math.min(100, remaining(viaRoute) - 1 + refilled));
        expect(viaHotPath.headers['x-request-id']).not.toBe(viaRoute.headers['x-request-id']);
        expect(again.headers['x-request-id']).toBe('trace-7'); // the client's id, as Fastify keeps it
      } finally {
        ways.restore();
      }
      const counted = flushedMetrics('GET /api/products/:id')!;
      expect(counted.Requests).toBe(3);
      expect(counted.Errors5xx).toBe(0);
      expect(counted.Latency).toHaveLength(3);
    });

    it('leaves to the route a Bearer token, HEAD, a missing product and a request with a body', async () => {
      const product = await addProduct(writer());
      const url = `/api/products/${product.id}`;
      await service.request({ url });
      const absent = randomUUID();
      await service.request({ url: `/api/products/${absent}` }); // 404, cached as "does not exist"
      const ways = watchLimiter();
      try {
        const withToken = await service.request({ url, headers: await service.authFor() });
        const head = await fetch(`${service.baseUrl}${url}`, { method: 'HEAD' });
        const missing = await service.request({ url: `/api/products/${absent}` });
        // fetch drops a GET's Content-Length; node:http sends it as given.
        const withBody = await new Promise<{ status: number }>((resolve, reject) => {
          const req = request(`${service.baseUrl}${url}`, { method: 'GET', headers: { 'content-length': '2' } }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode! }));
          });
          req.on('error', reject);
          req.end('{}');
        });
        expect([withToken.statusCode, withToken.headers['x-cache'], head.status, missing.statusCode, withBody.status]).toEqual([200, 'HIT', 200, 404, 200]);
        expect([ways.route(), ways.hot()]).toEqual([4, 0]);
      } finally {
        ways.restore();
      }
    });

    it('says connection: close while the service drains, as the route does', async () => {
      const ctx = await createTestContext({ databaseUrl: service.database.url, redis: true });
      const app = await buildApp(ctx, [orderRoutes]);
      try {
        const client = await listenForTest(app);
        const product = await addProduct(writer());
        const url = `/api/products/${product.id}`;
        await client.request({ url });
        app.markDraining();
        const takeLeased = jest.spyOn(ctx.limiter, 'takeLeased');
        const hot = await client.request({ url });
        expect(takeLeased.mock.results.filter((r) => r.value !== undefined)).toHaveLength(1);
        expect([hot.headers['x-cache'], hot.headers.connection]).toEqual(['HIT', 'close']);
      } finally {
        await app.close();
        await ctx.close();
      }
    });
  });

  it('answers 404 for an unknown product and 400 for an id that is not a UUID', async () => {
    const unknown = randomUUID();
    const missing = await service.request({ url: `/api/products/${unknown}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found', message: `product ${unknown} does not exist` });
    expect(missing.headers['cache-control']).toBe('public, max-age=1');
    const malformed = await service.request({ url: '/api/products/42' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toMatch(/params\.id must match format "uuid"/);
  });
});

describe('POST /api/orders', () => {
  it('answers 202 with the PENDING order and keeps stock, order and response consistent', async () => {
    const product = await addProduct(writer(), { priceCents: 1_250, stock: 4 });
    const response = await postOrder([{ productId: product.id, quantity: 3 }]);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      id: expect.any(String),
      status: 'PENDING',
      totalCents: 3_750,
      currency: 'USD',
      items: [{ productId: product.id, quantity: 3, unitPriceCents: 1_250 }],
      createdAt: expect.any(String),
    });
    expect(await stockOf(writer(), product.id)).toBe(1);
  });

  it('requires a valid Bearer token', async () => {
    const product = await addProduct(writer());
    const items = [{ productId: product.id, quantity: 1 }];
    const none = await postOrder(items, { headers: {} });
    const forged = await postOrder(items, { headers: { authorization: 'Bearer not.a.token' } });
    expect([none.statusCode, forged.statusCode]).toEqual([401, 401]);
    expect(none.json()).toEqual({ error: 'unauthorized', message: expect.stringMatching(/Bearer/) });
  });

  it.each([
    ['no Idempotency-Key', { key: null }, [{ quantity: 1 }], /headers\.idempotency-key is required/],
    ['a key over 255 characters', { key: 'k'.repeat(256) }, [{ quantity: 1 }], /idempotency-key must NOT have more than 255 characters/],
    ['empty items', {}, [], /body\.items must NOT have fewer than 1 items/],
    ['quantity 0', {}, [{ quantity: 0 }], /body\.items\[0\]\.quantity must be >= 1/],
    ['quantity 1.5', {}, [{ quantity: 1.5 }], /body\.items\[0\]\.quantity must be integer/],
    ['quantity as a string', {}, [{ quantity: '2' }], /body\.items\[0\]\.quantity must be integer/],
    ['an unknown item field', {}, [{ quantity: 1, giftWrap: true }], /body\.items\[0\]\.giftWrap is not allowed/],
    ['a productId that is not a UUID', {}, [{ productId: 'abc', quantity: 1 }], /body\.items\[0\]\.productId must match format "uuid"/],
  ])('answers 400 for %s, naming it', async (_case, options, rawItems, message) => {
    const product = await addProduct(writer());
    const items = (rawItems as Array<Record<string, unknown>>).map((item) => ({ productId: product.id, ...item }));
    const response = await postOrder(items, options);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'bad_request', message: expect.stringMatching(message) });
    expect(await stockOf(writer(), product.id)).toBe(10);
  });

  it('answers 400 for unknown top-level fields, a missing body, duplicate products and malformed JSON', async () => {
    const product = await addProduct(writer());
    const auth = await service.authFor();
    const send = (payload: string) =>
      service.request({
        method: 'POST',
        url: '/api/orders',
        headers: { ...auth, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
        payload,
      });
    const extra = await send(JSON.stringify({ items: [{ productId: product.id, quantity: 1 }], coupon: 'FREE' }));
    expect(extra.json()).toEqual({ error: 'bad_request', message: 'body.coupon is not allowed' });
    const missing = await send('{}');
    expect(missing.json()).toEqual({ error: 'bad_request', message: 'body.items is required' });
    const duplicate = await send(JSON.stringify({ items: [{ productId: product.id, quantity: 1 }, { productId: product.id, quantity: 2 }] }));
    expect(duplicate.statusCode).toBe(400);
    expect(duplicate.json().message).toMatch(`items lists product ${product.id} more than once`);
    const malformed = await send('{"items": [');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toMatch(/JSON/);
  });

  it('answers 409 naming the out-of-stock product', async () => {
    const product = await addProduct(writer(), { stock: 2, name: 'Last-two kettle' });
    const response = await postOrder([{ productId: product.id, quantity: 3 }]);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: 'conflict',
      message: `product ${product.id} (Last-two kettle) is out of stock: requested 3, available 2`,
    });
  });

  it('replays the first response for a repeated key and answers 422 when the body differs', async () => {
    const product = await addProduct(writer(), { stock: 10 });
    const userId = randomUUID();
    const first = await postOrder([{ productId: product.id, quantity: 1 }], { key: 'checkout-1', userId });
    const again = await postOrder([{ productId: product.id, quantity: 1 }], { key: 'checkout-1', userId });
    expect(again.statusCode).toBe(202);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const changed = await postOrder([{ productId: product.id, quantity: 2 }], { key: 'checkout-1', userId });
    expect(changed.statusCode).toBe(422);
    expect(changed.json()).toEqual({
      error: 'unprocessable',
      message: 'Idempotency-Key was already used with a different request body',
    });
    expect(await stockOf(writer(), product.id)).toBe(9);
  });

  it('turns 50 concurrent requests with one key into exactly one order and 50 identical responses', async () => {
    const product = await addProduct(writer(), { stock: 100 });
    const auth = await service.authFor();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        service.request({
          method: 'POST',
          url: '/api/orders',
          headers: { ...auth, 'idempotency-key': 'fifty-at-once' },
          payload: { items: [{ productId: product.id, quantity: 2 }] },
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(202));
    expect(new Set(responses.map((r) => r.body)).size).toBe(1);
    const orderId = responses[0].json().id;
    expect(await countRows(writer(), 'SELECT 1 FROM orders WHERE id = $1', [orderId])).toBe(1);
    expect(await countRows(writer(), `SELECT 1 FROM order_service.outbox WHERE payload->>'orderId' = $1`, [orderId])).toBe(1);
    expect(await stockOf(writer(), product.id)).toBe(98);
  });

  needsRealEngine('postgres', 'buyers must contend for the row lock (FOR UPDATE); embedded transactions never overlap')('contended stock', () => {
    it('sells exactly N units in a flash sale of 20xN concurrent buyers, never below zero', async () => {
      const units = 10;
      const product = await addProduct(writer(), { stock: units });
      const buyers = await Promise.all(Array.from({ length: 20 * units }, () => service.authFor()));
      const started = Date.now();
      const responses = await Promise.all(
        buyers.map((auth) =>
          service.request({
            method: 'POST',
            url: '/api/orders',
            headers: { ...auth, 'idempotency-key': randomUUID() },
            payload: { items: [{ productId: product.id, quantity: 1 }] },
          }),
        ),
      );
      const wallMs = Date.now() - started;
      const accepted = responses.filter((r) => r.statusCode === 202).length;
      const soldOut = responses.filter((r) => r.statusCode === 409).length;
      // Reported in the test output for the run log.
      console.info(`flash sale: ${accepted} accepted / ${responses.length} attempts, ${soldOut} sold out, ${wallMs} ms`);
      expect(accepted).toBe(units);
      expect(soldOut).toBe(20 * units - units);
      expect(await stockOf(writer(), product.id)).toBe(0);
      const { rows } = await writer().query('SELECT coalesce(sum(quantity), 0)::int AS sold FROM order_items WHERE product_id = $1', [product.id]);
      expect(rows[0].sold).toBe(units);
      // 200 requests contending for one row lock: ~3 s on a quiet 2-core box, twice that on a busy one.
    }, 30_000);
  });
});

describe('the sold-out hot path (a stock refusal answered before Fastify)', () => {
  /** Counts the route's handler from now on: the hot path answers without it. */
  const watchRoute = () => {
    const calls = jest.mocked(placeOrder).mock.calls.length;
    return { count: () => jest.mocked(placeOrder).mock.calls.length - calls };
  };
  /** Sells the product's one unit, then has the database refuse one attempt: the gate knows the shortage. */
  async function soldOut(target: TestService = service) {
    const product = await addProduct(target.database.db.writer, { name: 'Last kettle', stock: 1 });
    const items = [{ productId: product.id, quantity: 1 }];
    const buyer = await target.authFor();
    const bought = await target.request({ method: 'POST', url: '/api/orders', headers: { ...buyer, 'idempotency-key': 'bought' }, payload: { items } });
    expect(bought.statusCode).toBe(202);
    const refused = await target.request({ method: 'POST', url: '/api/orders', headers: { ...(await target.authFor()), 'idempotency-key': randomUUID() }, payload: { items } });
    expect(refused.statusCode).toBe(409);
    return { product, items, buyer, bought };
  }
  const attempt = (items: unknown, headers: Record<string, string>, contentType = 'application/json', target: TestService = service) =>
    target.request({ method: 'POST', url: '/api/orders', headers: { 'idempotency-key': randomUUID(), ...headers, 'content-type': contentType }, payload: JSON.stringify({ items }) });

  it("answers the route's 409 byte for byte, with the route's headers, without the route's handler", async () => {
    const { items } = await soldOut();
    const auth = await service.authFor();
    const route = watchRoute();
    // A content type with parameters goes to the route (the hot path takes only application/json).
    const viaRoute = await attempt(items, auth, 'application/json; charset=utf-8');
    expect(route.count()).toBe(1);
    const viaHotPath = await attempt(items, { ...auth, 'x-request-id': 'sold-out-1' });
    expect(route.count()).toBe(1);
    expect([viaHotPath.statusCode, viaRoute.statusCode]).toEqual([409, 409]);
    expect(viaHotPath.body).toBe(viaRoute.body);
    expect(viaHotPath.json()).toEqual({ error: 'conflict', message: expect.stringMatching(/\(Last kettle\) is out of stock: requested 1, available 0$/) });
    expect(Object.keys(viaHotPath.headers).sort()).toEqual(Object.keys(viaRoute.headers).sort());
    for (const [name, value] of Object.entries(viaRoute.headers)) {
      if (['date', 'x-request-id', 'ratelimit'].includes(name)) continue;
      expect([name, viaHotPath.headers[name]]).toEqual([name, value]);
    }
    expect(viaHotPath.headers.ratelimit).toMatch(/^"orders";r=\d+;t=\d+$/);
    expect(viaHotPath.headers['x-request-id']).toBe('sold-out-1');
  });

  it('hands the route what it does not refuse, body and all: a replayed key, another product, 400s and 401s', async () => {
    const { items, buyer, bought } = await soldOut();
    const inStock = await addProduct(writer(), { stock: 5 });
    const auth = await service.authFor();
    const route = watchRoute();
    // The buyer's retry of the accepted order gets its 202 back (the gate never refuses its key).
    const replay = await attempt(items, { ...buyer, 'idempotency-key': 'bought' });
    expect([replay.statusCode, replay.headers['idempotent-replayed'], replay.json().id]).toEqual([202, 'true', bought.json().id]);
    const other = await attempt([{ productId: inStock.id, quantity: 2 }], auth);
    expect([other.statusCode, other.json().items]).toEqual([202, [{ productId: inStock.id, quantity: 2, unitPriceCents: inStock.priceCents }]]);
    expect(route.count()).toBe(2);
    const invalid = await attempt([{ ...items[0], quantity: '1' }], auth);
    expect([invalid.statusCode, invalid.json().message]).toEqual([400, expect.stringMatching(/body\.items\[0\]\.quantity must be integer/)]);
    const forged = await attempt(items, { authorization: 'Bearer not.a.token' });
    expect([forged.statusCode, forged.json().error]).toEqual([401, 'unauthorized']);
    const keyless = await service.request({ method: 'POST', url: '/api/orders', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ items }) });
    expect([keyless.statusCode, keyless.json().message]).toEqual([400, expect.stringMatching(/idempotency-key is required/)]);
    expect(await stockOf(writer(), inStock.id)).toBe(3);
  });

  it("answers 429 once the buyer's 'orders' bucket is empty, as the route does", async () => {
    const limited = await startTestService([orderRoutes], { redis: true, env: { RATE_LIMIT_ORDERS_PER_MINUTE: '3' } });
    try {
      const { items } = await soldOut(limited);
      const auth = await limited.authFor();
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i++) {
        last = await attempt(items, auth, 'application/json', limited);
        statuses.push(last.statusCode);
      }
      expect(statuses).toEqual([409, 409, 409, 429]);
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('GET /api/orders and /api/orders/:id', () => {
  it('shows an order to its owner right after placing it, and as 404 to anyone else', async () => {
    const [low, high] = [await addProduct(writer()), await addProduct(writer())].sort((a, b) => (a.id < b.id ? -1 : 1));
    const owner = randomUUID();
    // Lines listed against id order: the order must read back in the order it was placed.
    const lines = [
      { productId: high.id, quantity: 2 },
      { productId: low.id, quantity: 1 },
    ];
    const placed = (await postOrder(lines, { userId: owner })).json();

    const mine = await service.request({ url: `/api/orders/${placed.id}`, headers: await service.authFor(owner) });
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toEqual({ ...placed, updatedAt: expect.any(String) });

    const theirs = await service.request({ url: `/api/orders/${placed.id}`, headers: await service.authFor() });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json()).toEqual({ error: 'not_found', message: `order ${placed.id} does not exist` });
    expect((await service.request({ url: `/api/orders/${placed.id}` })).statusCode).toBe(401);
  });

  it("lists only the caller's orders, newest first, one cursor page at a time", async () => {
    const product = await addProduct(writer(), { stock: 100 });
    const buyer = randomUUID();
    const placed: string[] = [];
    for (let i = 1; i <= 3; i++) placed.push((await postOrder([{ productId: product.id, quantity: i }], { userId: buyer })).json().id);
    await postOrder([{ productId: product.id, quantity: 1 }]); // someone else's

    const auth = await service.authFor(buyer);
    const first = (await service.request({ url: '/api/orders?limit=2', headers: auth })).json();
    expect(first.items.map((o: { id: string }) => o.id)).toEqual([placed[2], placed[1]]);
    const second = (await service.request({ url: `/api/orders?limit=2&cursor=${first.nextCursor}`, headers: auth })).json();
    expect(second.items.map((o: { id: string }) => o.id)).toEqual([placed[0]]);
    expect(second.nextCursor).toBeNull();
  });
});

describe("the 'orders' rate limit policy", () => {
  it('allows 20 orders a minute per user by default, then answers 429 with Retry-After', async () => {
    const limited = await startTestService([orderRoutes], { redis: true });
    try {
      const product = await addProduct(limited.database.db.writer, { stock: 100 });
      const auth = await limited.authFor();
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 21; i++) {
        last = await limited.request({
          method: 'POST',
          url: '/api/orders',
          headers: { ...auth, 'idempotency-key': `rl-${i}` },
          payload: { items: [{ productId: product.id, quantity: 1 }] },
        });
        statuses.push(last.statusCode);
      }
      expect(statuses).toEqual([...Array(20).fill(202), 429]);
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
      expect(last!.headers['ratelimit-policy']).toMatch(/"orders"/);
      // Another user has their own bucket.
      const other = await limited.request({
        method: 'POST',
        url: '/api/orders',
        headers: { ...(await limited.authFor()), 'idempotency-key': 'rl-other' },
        payload: { items: [{ productId: product.id, quantity: 1 }] },
      });
      expect(other.statusCode).toBe(202);
    } finally {
      await limited.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents every order route from its schema', async () => {
    const document = (await service.request({ url: '/openapi.json' })).json();
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/api/products', '/api/products/{id}', '/api/orders', '/api/orders/{id}']),
    );
    expect(document.paths['/api/orders'].post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true })]),
    );
  });
});
