// The limiter of the fleets: buckets in Redis (token-bucket.ts), leased to this process for the
// high-rate `default` policy (leases.ts), and decided by the fallback (the memory limiter) or let
// through (`default`) while Redis cannot be asked (limiter.ts says why).
import type { RateLimitPolicy, RateLimitPolicyName } from '../config';
import type { Breaker, RedisClient } from '../redis';
import { LEASE_MS, newLease, nextLeaseSize, type Lease } from './leases';
import { decision, failsOpen, type RateLimiter } from './limiter';
import { tokenBucketCommand } from './token-bucket';

export interface RedisRateLimiterOptions {
  redis: RedisClient;
  breaker: Breaker;
  /** Called when a request is let through because Redis could not be asked. */
  onFailOpen?: (err: unknown) => void;
  /**
   * Decides for every policy but `default` when Redis cannot be asked (the in-process limiter), so
   * login, registration and order limits hold through a Redis outage. @default every policy fails open
   */
  fallback?: RateLimiter;
  /** Called when a request is decided by `fallback` because Redis could not be asked. */
  onFallback?: (policy: RateLimitPolicyName, err: unknown) => void;
  /** The largest lease (tokens per Redis call) for a policy; 1 = no lease. @default 1 for every policy */
  leaseSize?: (policy: RateLimitPolicy) => number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

export function createRedisRateLimiter({ redis, breaker, onFailOpen, fallback, onFallback, leaseSize = () => 1, now = Date.now }: RedisRateLimiterOptions): RateLimiter {
  const bucket = tokenBucketCommand(redis);
  const failOpen = (policy: RateLimitPolicy, err?: unknown) => {
    onFailOpen?.(err);
    return decision(true, policy.capacity, 0, 0);
  };

  /** Redis could not be asked: the in-process bucket decides, or the request passes (`default`). */
  const unasked = (key: string, policy: RateLimitPolicy, err?: unknown) => {
    if (!fallback || failsOpen(policy)) return failOpen(policy, err);
    onFallback?.(policy.name, err);
    return fallback.take(key, policy);
  };

  const takeOne = (key: string, policy: RateLimitPolicy) =>
    breaker.run(
      async () => {
        const [taken, remaining, waitMs, fullMs] = await bucket(key, policy.capacity, policy.refillPerSecond, 1);
        return decision(taken === 1, remaining, waitMs, fullMs);
      },
      (err) => unasked(key, policy, err),
    );

  const leases = new Map<string, Lease>();
  let nextSweep = now() + LEASE_MS;

  /** Adds tokens from Redis to the lease (one call per key at a time); false if Redis could not be asked. */
  const refill = (key: string, policy: RateLimitPolicy, largest: number, held: Lease): Promise<boolean> => {
    if (held.pending) return held.pending;
    const asked = now();
    const size = nextLeaseSize(held, largest, asked);
    held.size = size;
    held.countedSince = asked;
    held.spent = 0;
    held.pending = breaker
      .run(
        () => bucket(key, policy.capacity, policy.refillPerSecond, size),
        () => undefined,
      )
      .then((answer) => {
        if (!answer) return false;
        const [taken, remaining, , fullMs] = answer;
        const at = now();
        // Unspent tokens of an expired lease are dropped, never carried over.
        held.tokens = (held.expiresAt > at ? held.tokens : 0) + taken;
        held.expiresAt = at + LEASE_MS;
        held.bucketRemaining = remaining;
        held.fullMs = fullMs;
        return true;
      })
      .finally(() => {
        held.pending = undefined;
      });
    return held.pending;
  };

  const usable = (held: Lease) => held.tokens >= 1 && held.expiresAt > now();
  const spend = (held: Lease) => {
    held.tokens -= 1;
    held.spent += 1;
    return decision(true, held.bucketRemaining + held.tokens, 0, held.fullMs);
  };

  /** No local token: wait for a new lease, shared by every request of this key that is waiting. */
  const renewAndSpend = async (key: string, policy: RateLimitPolicy, largest: number, held: Lease) => {
    if (!(await refill(key, policy, largest, held))) return unasked(key, policy);
    if (usable(held)) return spend(held);
    // The lease came back short (the bucket is nearly empty) or other waiters took it: ask for this
    // request alone, so a refusal carries Redis's own wait and remaining figures.
    return takeOne(key, policy);
  };

  /** Spends a token of a usable lease, topping it up in the background once half of it is spent. */
  const spendLeased = (key: string, policy: RateLimitPolicy, largest: number, held: Lease) => {
    // So a busy client never waits on Redis.
    if (held.tokens <= held.size / 2 && !held.pending) void refill(key, policy, largest, held);
    return spend(held);
  };

  return {
    take(key, policy) {
      const largest = leaseSize(policy);
      if (largest <= 1) return takeOne(key, policy);
      const t = now();
      if (t >= nextSweep) {
        for (const [k, held] of leases) if (held.expiresAt <= t && !held.pending) leases.delete(k);
        nextSweep = t + LEASE_MS;
      }
      let held = leases.get(key);
      if (!held) {
        held = newLease(t);
        leases.set(key, held);
      }
      if (!usable(held)) return renewAndSpend(key, policy, largest, held);
      return spendLeased(key, policy, largest, held);
    },
    takeLeased(key, policy) {
      const largest = leaseSize(policy);
      const held = largest > 1 ? leases.get(key) : undefined;
      return held && usable(held) ? spendLeased(key, policy, largest, held) : undefined;
    },
  };
}
