// Token bucket limiter: exact under concurrency (Lua in Redis), refills over time, and fails open
// when Redis stops; with token leases, one process is still exact and several stay within the
// documented bound.
import type Redis from 'ioredis';
import type { RateLimitPolicy } from '../config';
import { policyHeader } from '../rate-limit/headers';
import { FIRST_LEASE_TOKENS, LEASE_MS, LEASE_RATE_WINDOW_MS, leaseSizeFor, MAX_LEASE_TOKENS } from '../rate-limit/leases';
import { type RateLimiter } from '../rate-limit/limiter';
import { createMemoryRateLimiter } from '../rate-limit/memory-limiter';
import { createRedisRateLimiter } from '../rate-limit/redis-limiter';
import { createBreaker, createRedisClient } from '../redis';
import { createTestRedis, startRedisServer } from '../../test-support/testing';

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
    const started = Date.now();
    const first = await Promise.all(Array.from({ length: 6 }, () => limiter.take('rl:default:ip:1', tenPerSecond)));
    expect(first.filter((r) => r.allowed)).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 250)); // 10/s -> 2 tokens, a third while the requests travel
    const after = await Promise.all(Array.from({ length: 5 }, () => limiter.take('rl:default:ip:1', tenPerSecond)));
    const elapsedMs = Date.now() - started;
    const allowed = after.filter((r) => r.allowed).length;
    expect(allowed).toBeGreaterThanOrEqual(2);
    // 3 at most when the pause lasted about what was asked; a busy machine's later timer refills one
    // more token per extra 100 ms, never more than the time between the first and last request.
    expect(allowed).toBeLessThanOrEqual(Math.max(3, Math.ceil(elapsedMs / 100)));
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

describe('Redis limiter leasing 10 tokens per call (every policy)', () => {
  behavesLikeATokenBucket(async () => {
    const redis = await createTestRedis();
    return {
      limiter: createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => 10 }),
      done: async () => void (await redis.quit()),
    };
  });
});

describe('token leases', () => {
  // A bucket that does not refill during the test, so "exact" can be checked exactly.
  const noRefill = (capacity: number): RateLimitPolicy => ({ name: 'default', capacity, refillPerSecond: 0.001 });
  let redis: Redis;
  let other: Redis;
  beforeAll(async () => {
    redis = await createTestRedis();
    other = redis.duplicate(); // a second process: its own connection, the same keys
    await other.ping();
  });
  afterAll(async () => {
    await redis.quit();
    await other.quit();
  });
  /** Counts token-bucket script calls (EVALSHA, or EVAL on a script cache miss) sent on `client`. */
  const scriptCalls = (client: Redis) => {
    const sent = jest.spyOn(client, 'sendCommand');
    return {
      count: () => sent.mock.calls.filter(([command]) => /^eval/i.test(command.name)).length,
      reset: () => sent.mockClear(),
      restore: () => sent.mockRestore(),
    };
  };

  it('takeLeased spends only a token this process holds, as take would, and never calls Redis', async () => {
    const calls = scriptCalls(redis);
    const limiter = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => 10 });
    expect(limiter.takeLeased('rl:default:ip:leased-1', noRefill(100))).toBeUndefined(); // no lease yet
    expect(calls.count()).toBe(0);
    expect(await limiter.take('rl:default:ip:leased-1', noRefill(100))).toMatchObject({ allowed: true, remaining: 99 });
    // The first lease (10 tokens here) less the one take spent: 9 more leased, the bucket's 90 behind them.
    const leased = Array.from({ length: 9 }, () => limiter.takeLeased('rl:default:ip:leased-1', noRefill(100)));
    expect(leased.map((d) => d?.remaining)).toEqual([98, 97, 96, 95, 94, 93, 92, 91, 90]);
    expect(leased.every((d) => d?.allowed === true)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the background top-up (at half spent) land
    calls.reset();
    const afterTopUp = limiter.takeLeased('rl:default:ip:leased-1', noRefill(100));
    expect(afterTopUp).toMatchObject({ allowed: true });
    expect(calls.count()).toBe(0);
    // A policy without leases (orders, login) is never decided here.
    const orders: RateLimitPolicy = { name: 'orders', capacity: 100, refillPerSecond: 0.001 };
    const exact = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: (policy) => (policy.name === 'orders' ? 1 : 10) });
    await exact.take('rl:orders:user:leased-2', orders);
    expect(exact.takeLeased('rl:orders:user:leased-2', orders)).toBeUndefined();
    expect(createMemoryRateLimiter().takeLeased('rl:default:ip:leased-3', noRefill(100))).toBeUndefined();
    calls.restore();
  });

  it('one process admits exactly the bucket, with one Redis call per lease, and decides locally in between', async () => {
    const calls = scriptCalls(redis);
    const limiter = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => 10 });
    const results = await Promise.all(Array.from({ length: 150 }, () => limiter.take('rl:default:ip:lease-1', noRefill(100))));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(calls.count()).toBeLessThan(150);
    calls.reset();
    const fresh = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => 10 });
    await fresh.take('rl:default:ip:lease-2', noRefill(100));
    const local = fresh.take('rl:default:ip:lease-2', noRefill(100));
    expect(local).not.toBeInstanceOf(Promise); // answered from the lease, no Redis round trip
    expect(local).toMatchObject({ allowed: true });
    expect(calls.count()).toBe(1);
    calls.restore();
  });

  it('two processes together admit exactly the bucket when it does not refill', async () => {
    const a = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => 10 });
    const b = createRedisRateLimiter({ redis: other, breaker: createBreaker(), leaseSize: () => 10 });
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).take('rl:default:ip:lease-3', noRefill(100))),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
  });

  it('two processes admit at most the bucket plus the tokens they held leased when a window starts', async () => {
    const policy: RateLimitPolicy = { name: 'default', capacity: 50, refillPerSecond: 100 };
    const a = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => 10 });
    const b = createRedisRateLimiter({ redis: other, breaker: createBreaker(), leaseSize: () => 10 });
    // Each takes a lease (keeping 9 tokens) and the bucket refills to full meanwhile.
    await a.take('rl:default:ip:lease-4', policy);
    await b.take('rl:default:ip:lease-4', policy);
    await new Promise((r) => setTimeout(r, 600));
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).take('rl:default:ip:lease-4', policy)),
    );
    const refilledDuring = Math.ceil(((Date.now() - started) * policy.refillPerSecond) / 1000);
    const allowed = results.filter((r) => r.allowed).length;
    expect(allowed).toBeGreaterThanOrEqual(50 + 18);
    expect(allowed).toBeLessThanOrEqual(50 + 2 * 9 + refilledDuring);
  });

  /** The token counts the script calls sent on `client` asked for (their last argument). */
  const askedSizes = (client: Redis) => {
    const sent = jest.spyOn(client, 'sendCommand');
    return {
      sizes: () => sent.mock.calls.filter(([command]) => /^eval/i.test(command.name)).map(([command]) => Number(command.args.at(-1))),
      restore: () => sent.mockRestore(),
    };
  };

  it("sizes a key's lease by its spend rate, up to the largest lease, and starts small again after a pause", async () => {
    let clock = Date.now();
    const largest = 1000;
    const limiter = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => largest, now: () => clock });
    const asked = askedSizes(redis);
    try {
      // 50 requests per ms (5000 per LEASE_RATE_WINDOW_MS) for 40 ms: 2000 requests.
      for (let ms = 0; ms < 40; ms++) {
        clock += 1;
        for (let i = 0; i < 50; i++) {
          const result = limiter.take('rl:default:ip:lease-rate', noRefill(1_000_000));
          expect(result instanceof Promise ? await result : result).toMatchObject({ allowed: true });
        }
        await new Promise((r) => setImmediate(r)); // lets a background top-up land
      }
      const sizes = asked.sizes();
      expect(sizes[0]).toBe(FIRST_LEASE_TOKENS);
      expect(Math.max(...sizes)).toBe(largest);
      expect(sizes.length).toBeLessThan(10); // a fixed lease of 100 tokens would take 40 calls
      clock += 10 * LEASE_RATE_WINDOW_MS + LEASE_MS; // idle: the old rate is forgotten
      await limiter.take('rl:default:ip:lease-rate', noRefill(1_000_000));
      expect(asked.sizes().at(-1)).toBe(FIRST_LEASE_TOKENS);
    } finally {
      asked.restore();
    }
  });

  it('two processes with grown leases still admit at most the bucket plus their largest leases in a window', async () => {
    const policy: RateLimitPolicy = { name: 'default', capacity: 2000, refillPerSecond: 4000 };
    const largest = 400; // a tenth of a second of refill, as leaseSizeFor allows
    const a = createRedisRateLimiter({ redis, breaker: createBreaker(), leaseSize: () => largest });
    const b = createRedisRateLimiter({ redis: other, breaker: createBreaker(), leaseSize: () => largest });
    const askedA = askedSizes(redis);
    const askedB = askedSizes(other);
    const key = 'rl:default:ip:lease-5';
    try {
      // Both spend fast, so their leases grow to the largest size; then the bucket refills to full
      // while they still hold leased tokens.
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).take(key, policy)));
      }
      expect(Math.max(...askedA.sizes())).toBe(largest);
      expect(Math.max(...askedB.sizes())).toBe(largest);
      await new Promise((r) => setTimeout(r, 600));
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 4000 }, (_, i) => (i % 2 ? a : b).take(key, policy)));
      const refilledDuring = Math.ceil(((Date.now() - started) * policy.refillPerSecond) / 1000);
      const allowed = results.filter((r) => r.allowed).length;
      expect(allowed).toBeGreaterThanOrEqual(policy.capacity);
      expect(allowed).toBeLessThanOrEqual(policy.capacity + Math.min(2 * largest, policy.refillPerSecond * (LEASE_MS / 1000)) + refilledDuring);
    } finally {
      askedA.restore();
      askedB.restore();
    }
  });

  it('drops unspent tokens when a lease expires, and fails open when Redis cannot renew it', async () => {
    const server = await startRedisServer();
    const client = createRedisClient(server.url);
    client.on('error', () => undefined);
    await client.connect();
    let clock = Date.now();
    const failOpen = jest.fn();
    const limiter = createRedisRateLimiter({ redis: client, breaker: createBreaker(), leaseSize: () => 10, onFailOpen: failOpen, now: () => clock });
    try {
      expect(await limiter.take('rl:default:ip:z', noRefill(100))).toMatchObject({ allowed: true, remaining: 99 });
      clock += LEASE_MS + 1; // the 9 leased tokens are gone, not carried over
      expect(await limiter.take('rl:default:ip:z', noRefill(100))).toMatchObject({ allowed: true, remaining: 89 });
      await server.stop();
      clock += LEASE_MS + 1;
      const results = await Promise.all(Array.from({ length: 5 }, () => limiter.take('rl:default:ip:z', noRefill(100))));
      expect(results.every((r) => r.allowed)).toBe(true);
      expect(failOpen).toHaveBeenCalled();
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('leases only the default policy, never orders or login, at most a tenth of a second of refill', () => {
    expect(leaseSizeFor({ name: 'orders', capacity: 1_000_000, refillPerSecond: 1_000_000 })).toBe(1);
    expect(leaseSizeFor({ name: 'login', capacity: 1_000_000, refillPerSecond: 1_000_000 })).toBe(1);
    expect(leaseSizeFor({ name: 'default', capacity: 100, refillPerSecond: 50 })).toBe(5);
    expect(leaseSizeFor({ name: 'default', capacity: 5000, refillPerSecond: 2000 })).toBe(200);
    expect(leaseSizeFor({ name: 'default', capacity: 1_000_000, refillPerSecond: 1_000_000 })).toBe(MAX_LEASE_TOKENS);
    expect(leaseSizeFor({ name: 'default', capacity: 5, refillPerSecond: 5 })).toBe(1);
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

describe('Redis limiter with the in-process fallback', () => {
  it('decides orders, login, loginAccount and register in process memory while Redis is away; default fails open', async () => {
    const server = await startRedisServer();
    const redis = createRedisClient(server.url);
    redis.on('error', () => undefined);
    await redis.connect();
    const failOpen = jest.fn();
    const fellBack = jest.fn();
    const limiter = createRedisRateLimiter({ redis, breaker: createBreaker(), onFailOpen: failOpen, fallback: createMemoryRateLimiter(), onFallback: fellBack });
    try {
      await server.stop();
      for (const name of ['orders', 'login', 'loginAccount', 'register'] as const) {
        const policy: RateLimitPolicy = { name, capacity: 2, refillPerSecond: 2 / 60 };
        const results = [];
        for (let i = 0; i < 4; i++) results.push((await limiter.take(`rl:${name}:k`, policy)).allowed);
        expect({ name, results }).toEqual({ name, results: [true, true, false, false] });
      }
      expect(fellBack).toHaveBeenCalledTimes(16);
      expect(failOpen).not.toHaveBeenCalled();
      const open = [];
      for (let i = 0; i < 4; i++) open.push((await limiter.take('rl:default:k', { name: 'default', capacity: 2, refillPerSecond: 1 })).allowed);
      expect(open).toEqual([true, true, true, true]);
      expect(failOpen).toHaveBeenCalledTimes(4);
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
