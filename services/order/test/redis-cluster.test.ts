// The services on a real Redis Cluster (ElastiCache cluster mode, REDIS_CLUSTER=true): three
// redis-server masters on loopback. The cache and the rate limiter's Lua bucket work through the
// cluster client with their keys spread over every master (each command names one key, so each
// runs on the node owning that key's slot), a service is ready and serves, limits and caches on
// it, and a stopped cluster costs requests milliseconds, as a stopped single node does.
import { randomUUID } from 'node:crypto';
import Redis, { Cluster } from 'ioredis';
import { addProduct } from './fixtures';
import { orderRoutes } from '../routes';
import { productCacheKey } from '../use-cases/read-catalog';
import { buildApp } from '../../platform/app';
import { createRedisCache } from '../../platform/cache';
import type { RateLimitPolicy } from '../../platform/config';
import { createRedisRateLimiter } from '../../platform/rate-limit/redis-limiter';
import { connectRedis, createBreaker, createRedisClient, type RedisClient } from '../../platform/redis';
import { createTestContext, createTestDatabase, listenForTest, needsRealEngine, startRedisCluster, type RedisCluster } from '../../test-support/testing';

/** Keys matching `pattern` on each master, straight from the node (not through the cluster client). */
async function keysPerNode(cluster: RedisCluster, pattern: string): Promise<number[]> {
  return Promise.all(
    cluster.ports.map(async (port) => {
      const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await node.connect();
        return (await node.keys(pattern)).length;
      } finally {
        node.disconnect();
      }
    }),
  );
}

describe('createRedisClient({ cluster: true })', () => {
  // What cannot run here (no TLS or AUTH on the local cluster) is checked on the options it builds.
  it('seeds from the URL and passes TLS, the AUTH token, the timeouts and the key prefix to every node', () => {
    const client = createRedisClient('rediss://:s3cret%2Ftoken@clustercfg.surge.example:6390', { cluster: true, keyPrefix: 'p:' }) as Cluster;
    expect(client).toBeInstanceOf(Cluster);
    expect(client.status).toBe('wait');
    expect(client.options).toMatchObject({ lazyConnect: true, enableOfflineQueue: false, keyPrefix: 'p:' });
    expect(client.options.redisOptions).toMatchObject({ tls: {}, password: 's3cret/token', commandTimeout: 250, maxRetriesPerRequest: 1 });
    // ElastiCache's certificates name hosts: the node name must reach TLS unresolved.
    let resolved: string | undefined;
    client.options.dnsLookup!('clustercfg.surge.example', (_err, address) => (resolved = address));
    expect(resolved).toBe('clustercfg.surge.example');
    client.disconnect();
  });

  it('speaks plain TCP without credentials for redis://', () => {
    const client = createRedisClient('redis://127.0.0.1:7000', { cluster: true }) as Cluster;
    expect(client.options.redisOptions).toMatchObject({ tls: undefined, password: undefined });
    client.disconnect();
  });
});

needsRealEngine('redis-server', 'a Redis Cluster is three redis-server processes; the embedded stand-in has no cluster protocol')(
  'on a Redis Cluster',
  () => {
    let cluster: RedisCluster;
    let client: RedisClient;
    beforeAll(async () => {
      cluster = await startRedisCluster();
      // A fixed prefix: this cluster belongs to this file alone, and fixed keys land on fixed slots.
      client = createRedisClient(cluster.url, { cluster: true, keyPrefix: 'surge-test:' });
      client.on('error', () => undefined);
    }, 30000);
    afterAll(async () => {
      client?.disconnect();
      await cluster?.close();
    });

    it('connects through the seed node and learns every master', async () => {
      expect(client).toBeInstanceOf(Cluster);
      expect(await connectRedis(client)).toBe(true);
      expect((client as Cluster).nodes('master').map((node) => node.options.port).sort()).toEqual([...cluster.ports].sort());
    });

    it('product cache: entries spread over every master, read back as hits, deleted on their node', async () => {
      const cache = createRedisCache({ redis: client, breaker: createBreaker() });
      let loads = 0;
      const load = (i: number) => async () => {
        loads += 1;
        return { id: i, name: `product ${i}` };
      };
      for (let i = 0; i < 30; i++) expect(await cache.getOrLoad(`product:${i}`, 60, load(i))).toEqual({ value: { id: i, name: `product ${i}` }, hit: false });
      for (let i = 0; i < 30; i++) expect((await cache.getOrLoad(`product:${i}`, 60, load(i))).hit).toBe(true);
      expect(loads).toBe(30);

      const perNode = await keysPerNode(cluster, 'surge-test:product:*');
      expect(perNode.reduce((a, b) => a + b)).toBe(30);
      expect(perNode.every((count) => count > 0)).toBe(true);

      await cache.delete('product:7');
      expect((await cache.getOrLoad('product:7', 60, load(7))).hit).toBe(false);
      expect(loads).toBe(31);
    });

    it('rate limiter: the Lua token bucket runs on the node owning each key, per request and with leases', async () => {
      const limiter = createRedisRateLimiter({ redis: client, breaker: createBreaker(), leaseSize: (policy) => (policy.name === 'default' ? 5 : 1) });
      const orders: RateLimitPolicy = { name: 'orders', capacity: 3, refillPerSecond: 3 / 60 };
      for (let user = 0; user < 12; user++) {
        const allowed: boolean[] = [];
        for (let i = 0; i < 4; i++) allowed.push((await limiter.take(`rl:orders:user:${user}`, orders)).allowed);
        expect(allowed).toEqual([true, true, true, false]);
      }
      // Leased: 5 tokens per script call, spent locally; the bucket still admits exactly its capacity.
      const leased: RateLimitPolicy = { name: 'default', capacity: 20, refillPerSecond: 0.01 };
      let admitted = 0;
      for (let i = 0; i < 30; i++) if ((await limiter.take('rl:default:user:leased', leased)).allowed) admitted += 1;
      expect(admitted).toBe(20);

      const perNode = await keysPerNode(cluster, 'surge-test:rl:*');
      expect(perNode.reduce((a, b) => a + b)).toBe(13);
      expect(perNode.every((count) => count > 0)).toBe(true);
    });

    it('a service with REDIS_CLUSTER=true is ready, caches products in the cluster and limits orders', async () => {
      const database = await createTestDatabase();
      const ctx = await createTestContext({
        databaseUrl: database.url,
        redis: cluster.url,
        env: { REDIS_CLUSTER: 'true', RATE_LIMIT_ORDERS_PER_MINUTE: '2' },
      });
      const app = await buildApp(ctx, [orderRoutes]);
      try {
        expect(ctx.redis).toBeInstanceOf(Cluster);
        const http = await listenForTest(app);
        const ready = await http.request('/health/ready');
        expect(ready.statusCode).toBe(200);
        expect(ready.json()).toEqual({ status: 'ready', database: 'up', redis: 'up' });

        const products = await Promise.all(Array.from({ length: 12 }, () => addProduct(database.db.writer, { stock: 100 })));
        const holders = new Set<number>();
        for (const product of products) {
          const first = await http.request(`/api/products/${product.id}`);
          expect([first.statusCode, first.headers['x-cache'], first.json().id]).toEqual([200, 'MISS', product.id]);
          // Looked up at once: product entries live 1 s. The context's keys carry its own random prefix.
          const perNode = await keysPerNode(cluster, `*${productCacheKey(product.id)}`);
          expect(perNode.reduce((a, b) => a + b)).toBe(1);
          holders.add(perNode.findIndex((count) => count === 1));
          expect((await http.request(`/api/products/${product.id}`)).headers['x-cache']).toBe('HIT');
        }
        expect(holders.size).toBeGreaterThan(1);

        const auth = { authorization: `Bearer ${(await ctx.tokens.issue(randomUUID())).token}` };
        const order = () =>
          http.request({
            method: 'POST',
            url: '/api/orders',
            headers: { ...auth, 'idempotency-key': randomUUID() },
            payload: { items: [{ productId: products[0].id, quantity: 1 }] },
          });
        expect([(await order()).statusCode, (await order()).statusCode, (await order()).statusCode]).toEqual([202, 202, 429]);
      } finally {
        await app.close();
        await ctx.close();
        await database.drop();
      }
    }, 30000);

    // Last: it stops the cluster.
    it('a stopped cluster costs a request milliseconds: cache reads go to the loader, the limiter fails open', async () => {
      const breaker = createBreaker();
      const cache = createRedisCache({ redis: client, breaker });
      let failedOpen = 0;
      const limiter = createRedisRateLimiter({ redis: client, breaker, onFailOpen: () => (failedOpen += 1) });
      expect((await cache.getOrLoad('outage:probe', 60, async () => 'from redis')).hit).toBe(false);

      await cluster.close();
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        expect(await cache.getOrLoad('outage:probe', 60, async () => 'from the database')).toEqual({ value: 'from the database', hit: false });
        expect((await limiter.take('rl:orders:user:outage', { name: 'orders', capacity: 1, refillPerSecond: 1 })).allowed).toBe(true);
      }
      // Ten calls; with no offline queue and a 250 ms command timeout, well under a second each.
      expect(Date.now() - started).toBeLessThan(3000);
      expect(failedOpen).toBe(5);
      expect(breaker.isOpen).toBe(true);
    }, 15000);
  },
);
