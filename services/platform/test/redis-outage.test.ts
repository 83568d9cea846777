// A service whose Redis stops (or is missing at start) stays up: readiness stays 200 and reports
// Redis down, the default rate limit fails open while the orders limit holds in process memory,
// cached reads go to the loader, and all of it recovers when Redis returns.
import { buildApp, type ServicePlugin } from '../app';
import { createTestContext, createTestDatabase, listenForTest, startRedisServer, type RedisServer, type TestDatabase } from '../../test-support/testing';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let t: TestDatabase;
let redis: RedisServer;
beforeAll(async () => {
  t = await createTestDatabase();
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  await t?.drop();
});

const routes: ServicePlugin = async (app, ctx) => {
  app.post('/orders-like', { config: { rateLimit: { policy: 'orders' } } }, async () => ({ ok: true }));
  app.get('/cached', async (_request, reply) => {
    const { value, hit } = await ctx.cache.getOrLoad('thing:1', 60, async () => {
      const { rows } = await ctx.db.reader.query<{ now: string }>('SELECT now()::text AS now');
      return rows[0].now;
    });
    return reply.header('x-cache', hit ? 'HIT' : 'MISS').send({ value });
  });
};

it('keeps serving through a Redis outage and recovers', async () => {
  const ctx = await createTestContext({
    databaseUrl: t.url,
    redis: redis.url,
    env: { RATE_LIMIT_ORDERS_PER_MINUTE: '3', RATE_LIMIT_DEFAULT_BURST: '3', RATE_LIMIT_DEFAULT_PER_SECOND: '1' },
  });
  const app = await buildApp(ctx, [routes]);
  const http = await listenForTest(app);
  const placeOrder = () => http.request({ method: 'POST', url: '/orders-like' });
  try {
    expect((await http.request('/cached')).headers['x-cache']).toBe('MISS');
    expect((await http.request('/cached')).headers['x-cache']).toBe('HIT');
    expect((await http.request('/cached')).statusCode).toBe(200);
    expect((await http.request('/cached')).statusCode).toBe(429);
    expect([(await placeOrder()).statusCode, (await placeOrder()).statusCode, (await placeOrder()).statusCode, (await placeOrder()).statusCode]).toEqual([200, 200, 200, 429]);

    await redis.stop();
    // The in-process copy of Redis's entry (the L1) lives at most 1 s; after that reads go to the loader.
    await sleep(1100);
    const during = await Promise.all(Array.from({ length: 10 }, () => http.request('/cached')));
    expect(during.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect(during.every((r) => r.headers['x-cache'] === 'MISS')).toBe(true);
    // Orders are not let through unlimited: the same bucket, in this process, until Redis returns.
    const orders = [];
    for (let i = 0; i < 5; i++) orders.push((await placeOrder()).statusCode);
    expect(orders).toEqual([200, 200, 200, 429, 429]);
    const ready = await http.request('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', database: 'up', redis: 'down' });

    await redis.start();
    const deadline = Date.now() + 8000;
    let last = '';
    while (Date.now() < deadline) {
      last = (await http.request('/cached')).headers['x-cache'];
      if (last === 'HIT') break;
      await sleep(200);
    }
    expect(last).toBe('HIT');
    expect((await http.request('/health/ready')).json().redis).toBe('up');
  } finally {
    await app.close();
    await ctx.close();
  }
}, 20000);

it('starts without Redis and picks it up when it appears', async () => {
  await redis.stop();
  const ctx = await createTestContext({ databaseUrl: t.url, redis: redis.url });
  const app = await buildApp(ctx, [routes]);
  const http = await listenForTest(app);
  try {
    expect((await http.request('/cached')).statusCode).toBe(200);
    expect((await http.request('/health/ready')).json()).toMatchObject({ status: 'ready', redis: 'down' });
    await redis.start();
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && (await http.request('/health/ready')).json().redis !== 'up') await sleep(200);
    expect((await http.request('/health/ready')).json().redis).toBe('up');
  } finally {
    await app.close();
    await ctx.close();
  }
}, 20000);
