// Cache-aside: hits and misses, one loader per key under a stampede, TTL jitter that only shortens,
// and reads that fall back to the loader when Redis stops.
import type Redis from 'ioredis';
import { createMemoryCache, createRedisCache, jitteredTtlMs, type Cache } from '../cache';
import { createBreaker, createRedisClient } from '../redis';
import { createTestRedis, startRedisServer } from '../../test-support/testing';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function countingLoader<T>(value: T, delayMs = 20) {
  const loader = jest.fn(async () => {
    await sleep(delayMs);
    return value;
  });
  return loader;
}

describe('jitteredTtlMs', () => {
  it('stays within 80-100% of the TTL', () => {
    expect(jitteredTtlMs(1, () => 0)).toBe(1000);
    expect(jitteredTtlMs(1, () => 0.999999)).toBe(800);
    for (let i = 0; i < 1000; i++) {
      const ttl = jitteredTtlMs(5);
      expect(ttl).toBeGreaterThanOrEqual(4000);
      expect(ttl).toBeLessThanOrEqual(5000);
    }
  });
});

function behavesLikeACache(makeCache: () => Promise<{ cache: Cache; done: () => Promise<void> }>) {
  let cache: Cache;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ cache, done } = await makeCache());
  });
  afterAll(() => done());

  it('misses, then hits, then misses again after delete', async () => {
    const load = countingLoader({ id: 'p1', name: 'Kettle' });
    expect(await cache.getOrLoad('product:p1', 60, load)).toEqual({ value: { id: 'p1', name: 'Kettle' }, hit: false });
    expect(await cache.getOrLoad('product:p1', 60, load)).toEqual({ value: { id: 'p1', name: 'Kettle' }, hit: true });
    await cache.delete('product:p1');
    expect((await cache.getOrLoad('product:p1', 60, load)).hit).toBe(false);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('runs one loader for 100 concurrent misses on a key', async () => {
    const load = countingLoader({ id: 'p2' }, 50);
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.getOrLoad('product:p2', 60, load)));
    expect(load).toHaveBeenCalledTimes(1);
    expect(results.every((r) => (r.value as { id: string }).id === 'p2')).toBe(true);
  });

  it('caches "not found" too', async () => {
    const load = countingLoader(null);
    await cache.getOrLoad('product:missing', 60, load);
    expect(await cache.getOrLoad('product:missing', 60, load)).toEqual({ value: null, hit: true });
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('expires entries within the TTL', async () => {
    const load = countingLoader(1, 0);
    await cache.getOrLoad('product:short', 0.2, load);
    await sleep(250);
    expect((await cache.getOrLoad('product:short', 0.2, load)).hit).toBe(false);
    expect(load).toHaveBeenCalledTimes(2);
  });
}

describe('in-memory cache', () => {
  it('never serves locally (no synchronous copy): callers go on to getOrLoad', async () => {
    const cache = createMemoryCache();
    await cache.getOrLoad('product:m', 60, async () => 'v');
    expect(cache.serveLocal('product:m', 60, async () => 'v', () => true)).toBe(false);
  });

  behavesLikeACache(async () => ({ cache: createMemoryCache(), done: async () => undefined }));

  it('evicts the oldest entry beyond maxEntries', async () => {
    const cache = createMemoryCache({ maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) await cache.getOrLoad(k, 60, async () => k);
    expect((await cache.getOrLoad('a', 60, async () => 'a')).hit).toBe(false);
    expect((await cache.getOrLoad('c', 60, async () => 'c')).hit).toBe(true);
  });
});

describe('Redis cache (shared Redis, own key prefix)', () => {
  behavesLikeACache(async () => {
    const redis: Redis = await createTestRedis();
    const cache = createRedisCache({ redis, breaker: createBreaker() });
    return { cache, done: async () => void (await redis.quit()) };
  });

  it('stores with a TTL no longer than asked', async () => {
    const redis = await createTestRedis();
    const cache = createRedisCache({ redis, breaker: createBreaker() });
    await cache.getOrLoad('product:ttl', 2, async () => 'x');
    const pttl = await redis.pttl('product:ttl');
    await redis.quit();
    expect(pttl).toBeGreaterThan(1500);
    expect(pttl).toBeLessThanOrEqual(2000);
  });
});

describe('Redis cache with an in-process L1', () => {
  behavesLikeACache(async () => {
    const redis: Redis = await createTestRedis();
    const cache = createRedisCache({ redis, breaker: createBreaker(), localEntries: 100 });
    return { cache, done: async () => void (await redis.quit()) };
  });

  it('encodes a value once per fill and hands every L1 hit the same answer', async () => {
    const redis = await createTestRedis();
    const cache = createRedisCache({ redis, breaker: createBreaker(), localEntries: 100 });
    const encode = jest.fn((value: { id: string }) => JSON.stringify(value));
    const load = async () => ({ id: 'p9' });
    try {
      const miss = await cache.getOrLoad('product:enc', 60, load, encode);
      expect(miss).toEqual({ value: { id: 'p9' }, hit: false, encoded: '{"id":"p9"}' });
      const fills = encode.mock.calls.length; // the miss's answer and the L1 fill
      const first = cache.getOrLoad('product:enc', 60, load, encode);
      const second = cache.getOrLoad('product:enc', 60, load, encode);
      expect(first).toEqual({ value: { id: 'p9' }, hit: true, encoded: '{"id":"p9"}' });
      expect(second).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(encode).toHaveBeenCalledTimes(fills);
      // A missing value has nothing to encode; a caller without an encoder gets no encoding.
      expect(await cache.getOrLoad('product:enc-none', 60, async () => null, encode)).toEqual({ value: null, hit: false });
      expect(cache.getOrLoad('product:enc-none', 60, async () => null, encode)).toEqual({ value: null, hit: true });
      expect(cache.getOrLoad('product:enc', 60, load)).toMatchObject({ value: { id: 'p9' }, hit: true });
    } finally {
      await redis.quit();
    }
  });

  it('offers only a fresh L1 copy to serveLocal, counts a hit only when it is served, and reloads with the fill\'s encoder', async () => {
    const redis = await createTestRedis();
    const observed: boolean[] = [];
    let clock = 1_000_000;
    const cache = createRedisCache({ redis, breaker: createBreaker(), localEntries: 100, observe: (_ns, hit) => observed.push(hit), now: () => clock });
    const encode = jest.fn((value: { v: number }) => `v${value.v}`);
    let version = 0;
    const load = jest.fn(async () => ({ v: ++version }));
    const offered: Array<string | undefined> = [];
    const serve = (accept: boolean) => (read: { encoded?: string }) => {
      offered.push(read.encoded);
      return accept;
    };
    try {
      expect(cache.serveLocal('product:served', 1, load, serve(true))).toBe(false); // nothing in the L1: no I/O, no load
      expect(load).not.toHaveBeenCalled();
      await cache.getOrLoad('product:served', 1, load, encode); // the miss fills the L1 with its encoding
      observed.length = 0;
      expect(cache.serveLocal('product:served', 1, load, serve(false))).toBe(false); // declined: no hit counted
      expect(cache.serveLocal('product:served', 1, load, serve(true))).toBe(true);
      expect(offered).toEqual(['v1', 'v1']);
      expect(observed).toEqual([true]);
      // In the last quarter of its life the copy is still served while a reload replaces it, encoded
      // as the fill was, so the next offer carries the new encoding.
      clock += 800;
      expect(cache.serveLocal('product:served', 1, load, serve(true))).toBe(true);
      await sleep(50);
      expect(load).toHaveBeenCalledTimes(2);
      expect(cache.serveLocal('product:served', 1, load, serve(true))).toBe(true);
      expect(offered.at(-1)).toBe('v2');
      clock += 5_000; // past the TTL: nothing to offer
      expect(cache.serveLocal('product:served', 1, load, serve(true))).toBe(false);
    } finally {
      await redis.quit();
    }
  });

  it('answers hot reads from memory, never serving a value older than the TTL since its database read', async () => {
    const redis = await createTestRedis();
    const gets = jest.spyOn(redis, 'get');
    const cache = createRedisCache({ redis, breaker: createBreaker(), localEntries: 100 });
    let version = 0;
    // The loader stamps each version with the time the "database" was read.
    const load = async () => ({ version: ++version, readAt: Date.now() });
    // A second: background reloads start about 0.77 s after a read, so a hot key survives the worker
    // being descheduled for up to about 0.2 s (four test files at once on two cores do that).
    const ttlSeconds = 1;
    let reads = 0;
    let oldest = 0;
    let answeredAtOnce = 0;
    const until = Date.now() + 3000;
    try {
      while (Date.now() < until) {
        const read = cache.getOrLoad('product:hot', ttlSeconds, load);
        // From the L1: no promise, no Redis call, and its age is taken at once, with no await before it.
        if (!(read instanceof Promise)) answeredAtOnce += 1;
        const { value, hit } = read instanceof Promise ? await read : read;
        oldest = Math.max(oldest, Date.now() - value!.readAt);
        if (reads > 0) expect(hit).toBe(true); // background reloads keep a hot key from ever missing
        reads += 1;
        await sleep(5);
      }
    } finally {
      await redis.quit();
    }
    expect(oldest).toBeLessThanOrEqual(ttlSeconds * 1000 + 20); // 20 ms: timer and await slack
    expect(version).toBeGreaterThanOrEqual(4); // reloaded about every 0.77 s
    expect(gets.mock.calls.length).toBeLessThan(reads / 5);
    expect(answeredAtOnce).toBeGreaterThan(reads * 0.8);
  });

  it('carries the database read time through Redis, so a copy from another instance is not kept longer', async () => {
    const redis = await createTestRedis();
    const writer = createRedisCache({ redis, breaker: createBreaker(), localEntries: 100 });
    const reader = createRedisCache({ redis, breaker: createBreaker(), localEntries: 100 });
    try {
      await writer.getOrLoad('product:shared', 0.5, async () => 'v1');
      await sleep(300);
      const load = jest.fn(async () => 'v2');
      expect(await reader.getOrLoad('product:shared', 0.5, load)).toEqual({ value: 'v1', hit: true }); // from Redis
      await sleep(250); // 550 ms after the database read: the reader's L1 copy must be gone with Redis's
      expect(await reader.getOrLoad('product:shared', 0.5, load)).toEqual({ value: 'v2', hit: false });
    } finally {
      await redis.quit();
    }
  });
});

describe('Redis cache when Redis stops', () => {
  it('falls back to the loader quickly and recovers when Redis returns', async () => {
    const server = await startRedisServer();
    const redis = createRedisClient(server.url);
    redis.on('error', () => undefined);
    await redis.connect();
    const states: string[] = [];
    const cache = createRedisCache({ redis, breaker: createBreaker({ openMs: 300, onStateChange: (s) => states.push(s) }) });
    try {
      await cache.getOrLoad('product:x', 60, async () => 'v1');
      expect((await cache.getOrLoad('product:x', 60, async () => 'v1')).hit).toBe(true);

      await server.stop();
      const started = Date.now();
      for (let i = 0; i < 20; i++) {
        expect(await cache.getOrLoad('product:x', 60, async () => 'from-db')).toEqual({ value: 'from-db', hit: false });
      }
      // 20 reads with Redis gone: each at most a short command timeout, most skipped by the breaker.
      expect(Date.now() - started).toBeLessThan(2000);
      expect(states).toEqual(['open']);

      await server.start();
      const deadline = Date.now() + 5000;
      while (!(await cache.getOrLoad('product:y', 60, async () => 'y')).hit && Date.now() < deadline) await sleep(100);
      expect(states).toEqual(['open', 'closed']);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
