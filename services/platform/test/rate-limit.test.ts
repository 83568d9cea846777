// Token bucket limiter: exact under concurrency (Lua in Redis), refills over time, and fails open
// when Redis stops.
import type { RateLimitPolicy } from '../config';
import { createMemoryRateLimiter, createRedisRateLimiter, policyHeader, type RateLimiter } from '../rate-limit';
import { createBreaker, createRedisClient } from '../redis';
import { createTestRedis, startRedisServer } from '../testing';

const perMinute = (n: number): RateLimitPolicy => ({ name: 'orders', capacity: n, refillPerSecond: n / 60 });
const tenPerSecond: RateLimitPolicy = { name: 'default', capacity: 5, refillPerSecond: 10 };

function behavesLikeATokenBucket(make: () => Promise<{ limiter: RateLimiter; done: () => Promise<void> }>) {
  let limiter: RateLimiter;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ limiter, done } = await make());
  });
  afterAll(() => done());

  it('allows exactly the capacity among 50 concurrent requests', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => limiter.take('rl:orders:user:a', perMinute(20))));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    const refused = results.find((r) => !r.allowed)!;
    expect(refused.remaining).toBe(0);
    // One token per 3 s at 20/min.
    expect(refused.retryAfterSeconds).toBe(3);
  });

  it('keeps clients apart', async () => {
    expect((await limiter.take('rl:orders:user:b', perMinute(1))).allowed).toBe(true);
    expect((await limiter.take('rl:orders:user:b', perMinute(1))).allowed).toBe(false);
    expect((await limiter.take('rl:orders:user:c', perMinute(1))).allowed).toBe(true);
  });

  it('refills continuously', async () => {
    const first = await Promise.all(Array.from({ length: 6 }, () => limiter.take('rl:default:ip:1', tenPerSecond)));
    expect(first.filter((r) => r.allowed)).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 250)); // 10/s -> 2 tokens, a third while the requests travel
    const after = await Promise.all(Array.from({ length: 5 }, () => limiter.take('rl:default:ip:1', tenPerSecond)));
    const allowed = after.filter((r) => r.allowed).length;
    expect(allowed).toBeGreaterThanOrEqual(2);
    expect(allowed).toBeLessThanOrEqual(3);
  });
}

describe('in-memory limiter', () => {
  behavesLikeATokenBucket(async () => ({ limiter: createMemoryRateLimiter(), done: async () => undefined }));
});

describe('Redis limiter (Lua)', () => {
  behavesLikeATokenBucket(async () => {
    const redis = await createTestRedis();
    return { limiter: createRedisRateLimiter({ redis, breaker: createBreaker() }), done: async () => void (await redis.quit()) };
  });
});

describe('Redis limiter when Redis stops', () => {
  it('fails open and reports it', async () => {
    const server = await startRedisServer();
    const redis = createRedisClient(server.url);
    redis.on('error', () => undefined);
    await redis.connect();
    const failOpen = jest.fn();
    const limiter = createRedisRateLimiter({ redis, breaker: createBreaker(), onFailOpen: failOpen });
    try {
      expect((await limiter.take('rl:orders:user:z', perMinute(1))).allowed).toBe(true);
      expect((await limiter.take('rl:orders:user:z', perMinute(1))).allowed).toBe(false);
      await server.stop();
      const results = await Promise.all(Array.from({ length: 5 }, () => limiter.take('rl:orders:user:z', perMinute(1))));
      expect(results.every((r) => r.allowed)).toBe(true);
      expect(failOpen).toHaveBeenCalledTimes(5);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});

describe('policyHeader', () => {
  it('states quota and window', () => {
    expect(policyHeader(perMinute(20))).toBe('"orders";q=20;w=60');
    expect(policyHeader({ name: 'default', capacity: 100, refillPerSecond: 50 })).toBe('"default";q=100;w=2');
  });
});
