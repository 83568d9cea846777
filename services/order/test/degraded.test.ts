// The order service when parts of its world misbehave: a replica that lags (here: one that never
// receives anything) and a Redis that stops.
import { randomUUID } from 'node:crypto';
import { createTestDatabase, startRedisServer, type RedisServer, type TestDatabase } from '../../test-support/testing';
import { orderRoutes } from '../routes';
import { addProduct } from './fixtures';
import { startTestService, type TestService } from './harness';

describe('with a reader that lags the writer', () => {
  let replica: TestDatabase;
  let service: TestService;
  beforeAll(async () => {
    // A migrated but empty database as DATABASE_READER_URL: the most lagging replica there is.
    replica = await createTestDatabase();
    service = await startTestService([orderRoutes], { env: { DATABASE_READER_URL: replica.url } });
  });
  afterAll(async () => {
    await service?.close();
    await replica?.drop();
  });

  it('still shows the caller their order right after placing it (orders are read from the writer)', async () => {
    const product = await addProduct(service.database.db.writer);
    const auth = await service.authFor();
    const placed = await service.request({
      method: 'POST',
      url: '/api/orders',
      headers: { ...auth, 'idempotency-key': randomUUID() },
      payload: { items: [{ productId: product.id, quantity: 1 }] },
    });
    expect(placed.statusCode).toBe(202);

    const read = await service.request({ url: `/api/orders/${placed.json().id}`, headers: auth });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: placed.json().id, status: 'PENDING' });
    const list = await service.request({ url: '/api/orders', headers: auth });
    expect(list.json().items.map((o: { id: string }) => o.id)).toEqual([placed.json().id]);

    // The catalog, by contrast, is served from the reader: the lagging replica has no such product yet.
    expect((await service.request({ url: `/api/products/${product.id}` })).statusCode).toBe(404);
  });
});

describe('when Redis stops', () => {
  let redisServer: RedisServer;
  let service: TestService;
  beforeAll(async () => {
    redisServer = await startRedisServer(); // a throwaway server: the shared one is never stopped
    service = await startTestService([orderRoutes], { redis: redisServer.url });
  });
  afterAll(async () => {
    await service?.close();
    await redisServer?.stop();
  });

  it('keeps answering product reads from the database, and orders (their limit kept in process memory)', async () => {
    const product = await addProduct(service.database.db.writer, { stock: 5 });
    const url = `/api/products/${product.id}`;
    expect((await service.request({ url })).headers['x-cache']).toBe('MISS');
    expect((await service.request({ url })).headers['x-cache']).toBe('HIT');

    await redisServer.stop();
    // The in-process copy of Redis's entry (the L1) lives at most 1 s; after that reads go to the database.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const started = Date.now();
    const reads = [];
    for (let i = 0; i < 5; i++) reads.push(await service.request({ url }));
    expect(reads.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(reads.map((r) => r.headers['x-cache'])).toEqual(Array(5).fill('MISS'));
    expect(reads[4].json()).toMatchObject({ id: product.id, stock: 5 });
    expect((await service.request({ url: '/api/products?limit=5' })).statusCode).toBe(200);
    const order = await service.request({
      method: 'POST',
      url: '/api/orders',
      headers: { ...(await service.authFor()), 'idempotency-key': randomUUID() },
      payload: { items: [{ productId: product.id, quantity: 1 }] },
    });
    expect(order.statusCode).toBe(202);
    // Reads degrade to the database, not to timeouts.
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('when the reader cannot be reached', () => {
  let service: TestService;
  beforeAll(async () => {
    // Nothing listens on port 1: every reader connection is refused at once.
    service = await startTestService([orderRoutes], { env: { DATABASE_READER_URL: 'postgres://postgres@127.0.0.1:1/surge' } });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('answers catalog reads with 503 and a clear error (not 500), while orders still go to the writer', async () => {
    const product = await addProduct(service.database.db.writer);
    const read = await service.request({ url: `/api/products/${product.id}` });
    expect(read.statusCode).toBe(503);
    expect(read.json()).toEqual({ error: 'service_unavailable', message: expect.stringMatching(/database is unavailable/) });
    expect(read.headers['retry-after']).toBeDefined();

    const order = await service.request({
      method: 'POST',
      url: '/api/orders',
      headers: { ...(await service.authFor()), 'idempotency-key': randomUUID() },
      payload: { items: [{ productId: product.id, quantity: 1 }] },
    });
    expect(order.statusCode).toBe(202);
  });
});
