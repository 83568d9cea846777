// The queue store's promises, checked on real Redis (Lua scripts under concurrency) and on the
// in-memory store `npm start` uses without Redis: the same scenarios must pass on both.
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { connectRedis, createRedisClient, type RedisClient } from '../../../platform/redis';
import { createTestRedis, needsRealEngine, startRedisCluster, type RedisCluster } from '../../../test-support/testing';
import { createMemoryQueueStore, createRedisQueueStore, type InletSettings, type QueueStore } from '../queue-store';

let redis: Redis;
beforeAll(async () => {
  redis = await createTestRedis();
});
afterAll(async () => {
  await redis?.quit();
});

const EXPIRE = Date.now() + 3600_000;
const settings = (over: Partial<InletSettings> = {}): InletSettings => ({
  ceilingPerSecond: 100,
  floorPerSecond: 5,
  stepUpPerSecond: 10,
  adjustMs: 1000,
  ...over,
});

// The memory store reads the clock for overload reports; the tests move it by hand.
let clock = 0;
const stores: Array<[string, () => QueueStore]> = [
  ['Redis', () => createRedisQueueStore(redis)],
  ['memory', () => createMemoryQueueStore(() => clock)],
];

describe.each(stores)('%s queue store', (_name, makeStore) => {
  let store: QueueStore;
  let eventId: string;
  beforeEach(() => {
    store = makeStore();
    eventId = `e-${randomUUID()}`;
    clock = 1_000_000;
  });

  it('gives 500 shoppers joining at once the positions 1..500, each exactly once', async () => {
    const shoppers = Array.from({ length: 500 }, () => randomUUID());
    const joined = await Promise.all(shoppers.map((s) => store.join(eventId, s, EXPIRE)));
    expect(joined.every((j) => j.created)).toBe(true);
    expect(joined.map((j) => j.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it('keeps one place per shopper however many joins race (a refresh keeps your place)', async () => {
    const first = await store.join(eventId, 'early', EXPIRE);
    const racing = await Promise.all(Array.from({ length: 50 }, () => store.join(eventId, 'racer', EXPIRE)));
    expect(racing.filter((j) => j.created)).toHaveLength(1);
    expect(new Set(racing.map((j) => j.position))).toEqual(new Set([2]));
    expect(await store.join(eventId, 'early', EXPIRE)).toEqual({ position: first.position, created: false });
    expect(await store.join(eventId, 'late', EXPIRE)).toEqual({ position: 3, created: true });
  });

  it('admits in arrival order at rate x elapsed, never past the last arrival', async () => {
    for (let i = 0; i < 30; i++) await store.join(eventId, `s${i}`, EXPIRE);
    const t0 = 5_000_000;
    expect(await store.advance(eventId, t0, settings(), EXPIRE)).toEqual({ admittedThrough: 0, queueLength: 30, inletPerSecond: 100 });
    // 100/s: 50 ms admits 5, 125 ms more admits 12.5 more (the half carries over).
    expect((await store.advance(eventId, t0 + 50, settings(), EXPIRE)).admittedThrough).toBe(5);
    expect((await store.advance(eventId, t0 + 175, settings(), EXPIRE)).admittedThrough).toBe(17);
    expect((await store.advance(eventId, t0 + 180, settings(), EXPIRE)).admittedThrough).toBe(18);
    // An earlier clock (another process's, a little behind) moves nothing back.
    expect((await store.advance(eventId, t0 + 100, settings(), EXPIRE)).admittedThrough).toBe(18);
    // A long pause admits everyone who has arrived, not the positions of people yet to come ...
    expect((await store.advance(eventId, t0 + 900, settings(), EXPIRE)).admittedThrough).toBe(30);
    // ... who then wait their turn at the inlet rate rather than walking in as a burst.
    for (let i = 30; i < 60; i++) await store.join(eventId, `s${i}`, EXPIRE);
    expect((await store.advance(eventId, t0 + 950, settings(), EXPIRE)).admittedThrough).toBe(35);
  });

  it('admits at the rate however many processes advance it (the rate is shared, not per process)', async () => {
    for (let i = 0; i < 1000; i++) await store.join(eventId, `s${i}`, EXPIRE);
    const t0 = 7_000_000;
    await store.advance(eventId, t0, settings(), EXPIRE);
    // Five processes, each ticking every 20 ms at its own phase, for one second, concurrently.
    const ticks: Array<Promise<unknown>> = [];
    for (let p = 0; p < 5; p++) for (let t = p * 3; t <= 1000; t += 20) ticks.push(store.advance(eventId, t0 + t, settings(), EXPIRE));
    await Promise.all(ticks);
    const after = await store.advance(eventId, t0 + 1000, settings(), EXPIRE);
    expect(after.admittedThrough).toBe(100);
  });

  describe('the inlet controller (multiplicative decrease, additive increase)', () => {
    it('halves the rate at the next step after an overload report, once per step, down to the floor', async () => {
      const t0 = 9_000_000;
      await store.advance(eventId, t0, settings(), EXPIRE);
      // Reports from three processes within one step count once.
      for (let i = 0; i < 3; i++) await store.reportOverload(eventId, 5000);
      expect((await store.advance(eventId, t0 + 500, settings(), EXPIRE)).inletPerSecond).toBe(100);
      expect((await store.advance(eventId, t0 + 1000, settings(), EXPIRE)).inletPerSecond).toBe(50);
      await store.reportOverload(eventId, 5000);
      expect((await store.advance(eventId, t0 + 1500, settings(), EXPIRE)).inletPerSecond).toBe(50);
      expect((await store.advance(eventId, t0 + 2000, settings(), EXPIRE)).inletPerSecond).toBe(25);
      for (let step = 3; step <= 6; step++) {
        await store.reportOverload(eventId, 5000);
        await store.advance(eventId, t0 + step * 1000, settings(), EXPIRE);
      }
      expect((await store.advance(eventId, t0 + 6000, settings(), EXPIRE)).inletPerSecond).toBe(5);
    });

    it('raises the rate by the step each interval once nobody reports overload, up to the configured rate', async () => {
      const t0 = 11_000_000;
      await store.advance(eventId, t0, settings(), EXPIRE);
      await store.reportOverload(eventId, 5000);
      expect((await store.advance(eventId, t0 + 1000, settings(), EXPIRE)).inletPerSecond).toBe(50);
      expect((await store.advance(eventId, t0 + 2000, settings(), EXPIRE)).inletPerSecond).toBe(60);
      expect((await store.advance(eventId, t0 + 3000, settings(), EXPIRE)).inletPerSecond).toBe(70);
      for (let step = 4; step <= 9; step++) await store.advance(eventId, t0 + step * 1000, settings(), EXPIRE);
      expect((await store.advance(eventId, t0 + 9000, settings(), EXPIRE)).inletPerSecond).toBe(100);
    });

    it('admits at the lowered rate while lowered', async () => {
      for (let i = 0; i < 500; i++) await store.join(eventId, `s${i}`, EXPIRE);
      const t0 = 13_000_000;
      await store.advance(eventId, t0, settings({ adjustMs: 1000 }), EXPIRE);
      await store.reportOverload(eventId, 5000);
      const halved = await store.advance(eventId, t0 + 1000, settings(), EXPIRE);
      expect(halved).toEqual({ admittedThrough: 100, queueLength: 500, inletPerSecond: 50 });
      expect((await store.advance(eventId, t0 + 1500, settings(), EXPIRE)).admittedThrough).toBe(125);
    });
  });
});

// ElastiCache cluster mode: each event's keys share a hash tag, so its Lua scripts run on one shard.
needsRealEngine('redis-server', 'needs a real Redis Cluster (the embedded stand-in speaks no cluster protocol)')('on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: RedisClient;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = createRedisClient(cluster.url, { cluster: true, commandTimeoutMs: 2000 });
    await connectRedis(client, 10_000);
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.close();
  });

  it('joins and advances events whose keys land on different shards', async () => {
    const store = createRedisQueueStore(client);
    for (const eventId of ['alpha', 'beta', 'gamma', 'delta']) {
      const joined = await Promise.all(Array.from({ length: 20 }, (_, i) => store.join(eventId, `s${i}`, EXPIRE)));
      expect(joined.map((j) => j.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      await store.advance(eventId, 1_000_000, settings(), EXPIRE);
      expect((await store.advance(eventId, 1_000_100, settings(), EXPIRE)).admittedThrough).toBe(10);
    }
  });
});
